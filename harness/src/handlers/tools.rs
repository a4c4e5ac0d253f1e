//! What the machine must offer a set-up handler: packages of the interpreter (torch,
//! xdoctest, pip, setuptools, found once and cached like the environment probe), and
//! tools looked up on every call because installing them changes no `sys.path` folder
//! (a C++ compiler, Python's headers, ninja).

use super::SetUp;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROBE: &str = r#"
import importlib.util as u, json, os, sys, sysconfig
paths = sysconfig.get_paths()
def can_wheel():
    # setuptools builds wheels itself from 70.1 on; older ones need the wheel package.
    if u.find_spec("wheel") is not None:
        return True
    try:
        from importlib.metadata import version
        return tuple(int(x) for x in version("setuptools").split(".")[:2]) >= (70, 1)
    except Exception:
        return False
print(json.dumps({
    "torch": u.find_spec("torch") is not None,
    "xdoctest": u.find_spec("xdoctest") is not None,
    "pip": u.find_spec("pip") is not None,
    "setuptools": u.find_spec("setuptools") is not None and can_wheel(),
    "include": paths["include"],
    "platlib": paths["platlib"],
    "purelib": paths["purelib"],
    "bindir": os.path.dirname(sys.executable),
    "paths": sorted({p for p in sys.path if p and os.path.isdir(p)}),
}))
"#;

/// The interpreter's side of a handler's needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interpreter {
    pub torch: bool,
    pub xdoctest: bool,
    pub pip: bool,
    /// setuptools, able to build a wheel (70.1 or later, or the wheel package).
    pub setuptools: bool,
    /// sysconfig's `include`: where Python.h must be for an extension to build.
    pub include: PathBuf,
    /// sysconfig's install folders; `pip install --root R` puts packages under R + these.
    pub platlib: PathBuf,
    pub purelib: PathBuf,
    /// The interpreter's own folder, searched first for tools (an environment's ninja).
    pub bindir: PathBuf,
    paths: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CacheEntry {
    python: PathBuf,
    found: Interpreter,
    stamps: Vec<(String, u128)>,
}

/// What `python` offers, from the cache while its `sys.path` folders are unchanged.
pub fn interpreter(python: &Path, cache_dir: &Path) -> Result<Interpreter, String> {
    // PYTHONPATH changes what imports without touching the interpreter's folders.
    let key = format!(
        "{}\n{}",
        python.display(),
        std::env::var("PYTHONPATH").unwrap_or_default()
    );
    let cache_file = cache_dir.join(format!(
        "handler-tools-{:016x}.json",
        crate::util::hash::stable_hash(&key)
    ));
    if let Some(entry) = std::fs::read(&cache_file)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<CacheEntry>(&bytes).ok())
        .filter(|e| e.python == python && e.stamps == crate::util::fs::stamps(&e.found.paths))
    {
        return Ok(entry.found);
    }
    let output =
        crate::launch::process::output(Command::new(python).args(["-c", PROBE])).map_err(|e| {
            format!(
                "cannot start `{}`: {e}; set PYTHON to a Python 3 interpreter",
                python.display()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "`{}` failed its probe ({}): {}",
            python.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let found: Interpreter = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "`{}` printed an unreadable probe result: {e}",
            python.display()
        )
    })?;
    let entry = CacheEntry {
        python: python.to_path_buf(),
        stamps: crate::util::fs::stamps(&found.paths),
        found: found.clone(),
    };
    crate::util::fs::write_cache(&cache_file, &entry);
    Ok(found)
}

impl Interpreter {
    /// `PATH` as a handler's processes see it: the interpreter's folder first, as in an
    /// activated environment, so torch finds that environment's ninja.
    pub fn search_path(&self, path: Option<OsString>) -> OsString {
        let mut dirs = vec![self.bindir.clone()];
        if let Some(path) = path {
            dirs.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(dirs).unwrap_or_default()
    }

    /// `pip install --root <root>` puts packages here (the platlib and purelib
    /// folders, once each): the folders to put on PYTHONPATH.
    pub fn installed_under(&self, root: &Path) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        for lib in [&self.platlib, &self.purelib] {
            let rel = lib.strip_prefix("/").unwrap_or(lib);
            let dir = root.join(rel);
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        dirs
    }
}

/// Why `setup` cannot run with `python` on this machine, if it cannot. `var` reads the
/// environment (`PATH`, `CXX`).
pub fn missing(
    setup: SetUp,
    python: &Path,
    found: &Interpreter,
    var: impl Fn(&str) -> Option<OsString>,
) -> Option<String> {
    let py = python.display();
    if !found.torch {
        return Some(format!("needs torch importable by {py}"));
    }
    if setup == SetUp::Doctests {
        return (!found.xdoctest)
            .then(|| format!("needs xdoctest importable by {py} (pip install xdoctest)"));
    }
    if !found.pip || !found.setuptools {
        return Some(format!(
            "needs pip and setuptools (70.1 or later, or the wheel package) in {py} to build its extension (pip install setuptools wheel)"
        ));
    }
    let search = found.search_path(var("PATH"));
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    // torch.utils.cpp_extension compiles with $CXX, else `c++`.
    let cxx = var("CXX")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "c++".into());
    if which::which_in(&cxx, Some(&search), &cwd).is_err() {
        return Some(format!(
            "needs a C++ compiler: `{}` is not on PATH (install g++, or set CXX)",
            cxx.to_string_lossy()
        ));
    }
    let header = found.include.join("Python.h");
    if !header.is_file() {
        return Some(format!(
            "needs Python's headers: {} is missing (install python3-dev)",
            header.display()
        ));
    }
    if let SetUp::CppExtensionsAot { ninja: true } = setup
        && which::which_in("ninja", Some(&search), &cwd).is_err()
    {
        return Some(format!(
            "needs ninja, on PATH or beside {py}, as run_test.py's ninja check does (pip install ninja)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn everything(dir: &Path) -> Interpreter {
        std::fs::create_dir_all(dir.join("include")).unwrap();
        std::fs::write(dir.join("include/Python.h"), "").unwrap();
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        for tool in ["c++", "ninja"] {
            let path = dir.join("bin").join(tool);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Interpreter {
            torch: true,
            xdoctest: true,
            pip: true,
            setuptools: true,
            include: dir.join("include"),
            platlib: "/venv/lib/python3.11/site-packages".into(),
            purelib: "/venv/lib/python3.11/site-packages".into(),
            bindir: dir.join("bin"),
            paths: Vec::new(),
        }
    }

    fn no_vars(_: &str) -> Option<OsString> {
        None
    }

    #[test]
    fn a_complete_machine_misses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let found = everything(dir.path());
        for setup in [
            SetUp::Doctests,
            SetUp::Openreg,
            SetUp::Autoload { enable: true },
            SetUp::CppExtensionsAot { ninja: true },
        ] {
            assert_eq!(missing(setup, Path::new("py"), &found, no_vars), None);
        }
    }

    #[test]
    fn each_missing_tool_is_named_with_what_to_install() {
        let dir = tempfile::tempdir().unwrap();
        let base = everything(dir.path());
        let aot = SetUp::CppExtensionsAot { ninja: true };
        let reason = |found: &Interpreter, setup, var: &dyn Fn(&str) -> Option<OsString>| {
            missing(setup, Path::new("/env/python"), found, var).unwrap_or_default()
        };
        let no_xdoctest = Interpreter {
            xdoctest: false,
            ..base.clone()
        };
        assert!(reason(&no_xdoctest, SetUp::Doctests, &no_vars).contains("pip install xdoctest"));
        // Doctests need no compiler, the builds no xdoctest.
        assert_eq!(missing(aot, Path::new("py"), &no_xdoctest, no_vars), None);
        let no_torch = Interpreter {
            torch: false,
            ..base.clone()
        };
        assert_eq!(
            reason(&no_torch, SetUp::Openreg, &no_vars),
            "needs torch importable by /env/python"
        );
        let other_cxx = |name: &str| (name == "CXX").then(|| OsString::from("clang-99"));
        assert!(reason(&base, aot, &other_cxx).contains("`clang-99` is not on PATH"));
        std::fs::remove_file(dir.path().join("include/Python.h")).unwrap();
        assert!(reason(&base, aot, &no_vars).contains("install python3-dev"));
        std::fs::write(dir.path().join("include/Python.h"), "").unwrap();
        std::fs::remove_file(dir.path().join("bin/ninja")).unwrap();
        assert!(reason(&base, aot, &no_vars).contains("needs ninja"));
        // Only the ninja variant needs ninja.
        let plain = SetUp::CppExtensionsAot { ninja: false };
        assert_eq!(missing(plain, Path::new("py"), &base, no_vars), None);
    }

    #[test]
    fn installs_under_a_root_land_in_the_interpreters_folders() {
        let dir = tempfile::tempdir().unwrap();
        let found = Interpreter {
            purelib: "/venv/lib/python3.11/pure".into(),
            ..everything(dir.path())
        };
        assert_eq!(
            found.installed_under(Path::new("/case/install")),
            [
                PathBuf::from("/case/install/venv/lib/python3.11/site-packages"),
                PathBuf::from("/case/install/venv/lib/python3.11/pure"),
            ]
        );
        let path = found.search_path(Some("/usr/bin:/bin".into()));
        let first = std::env::split_paths(&path).next().unwrap();
        assert_eq!(first, dir.path().join("bin"));
    }
}
