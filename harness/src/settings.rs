//! Where the harness reads its inputs from. nextest starts the test binaries itself,
//! so everything comes from the environment (set on the `cargo nextest` process, by
//! xtask or by the user) with defaults that point at the embedded demo.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The variables the harness reads, by name, so docs and code agree.
pub mod var {
    pub const PYTORCH_ROOT: &str = "PYTORCH_ROOT";
    pub const PYTHON: &str = "PYTHON";
    pub const MANIFESTS: &str = "TORCH_HARNESS_MANIFESTS";
    pub const OUT: &str = "TORCH_HARNESS_OUT";
    pub const PYTEST: &str = "TORCH_HARNESS_PYTEST";
    pub const PLAN: &str = "TORCH_HARNESS_PLAN";
    /// `i/n`: which shard of the plan file this machine runs.
    pub const SHARD: &str = "TORCH_HARNESS_SHARD";
    pub const PYTEST_K: &str = "TORCH_HARNESS_PYTEST_K";
    /// What the doctests case runs (run_test.py's `--xdoctest-command`).
    pub const XDOCTEST_COMMAND: &str = "TORCH_HARNESS_XDOCTEST_COMMAND";
    /// A JSON file with the interpreter probe's answer, instead of starting Python.
    pub const PROBE: &str = "TORCH_HARNESS_PROBE";
    /// run_test.py's slow-gradcheck mode (common_utils' TEST_WITH_SLOW_GRADCHECK: `1`).
    pub const SLOW_GRADCHECK: &str = "PYTORCH_TEST_WITH_SLOW_GRADCHECK";
}

/// The variables that name a path. A relative one is a path from the folder the
/// command was started in: `cargo xtask` resolves each there once ([`resolve_from`],
/// with its working folder) and passes it on absolute; the harness, which nextest starts
/// in the workspace instead, resolves one it still gets relative from the shell's `PWD`
/// (which nextest passes on), the same folder.
pub const PATH_VARS: [&str; 6] = [
    var::PYTORCH_ROOT,
    var::PYTHON,
    var::MANIFESTS,
    var::OUT,
    var::PLAN,
    "CPP_TESTS_DIR",
];

/// `value` of the path variable `name` as an absolute path: unchanged when absolute,
/// else from `dir`. An interpreter named without a folder (`PYTHON=python3`) is left to
/// be looked up on PATH.
pub fn resolve_from(name: &str, value: &std::ffi::OsStr, dir: &Path) -> OsString {
    let path = Path::new(value);
    let bare_command = name == var::PYTHON && path.components().count() == 1;
    if path.is_absolute() || bare_command {
        value.to_owned()
    } else {
        // Lexically only (`.` dropped, `..` and links kept): the folder may not exist yet.
        let joined = dir.join(path);
        std::path::absolute(&joined)
            .unwrap_or(joined)
            .into_os_string()
    }
}

/// The demo's Python environment, created by `cargo xtask setup`, relative to the
/// target directory.
pub const DEMO_VENV: &str = "torch-harness/demo-venv";

#[derive(Debug, Clone)]
pub struct Settings {
    /// The cargo workspace (for defaults and `target/`).
    pub workspace: PathBuf,
    pub target_dir: PathBuf,
    /// The checkout whose `test/` is run.
    pub root: PathBuf,
    pub python: PathBuf,
    pub manifests: PathBuf,
    /// Logs and reports of this run.
    pub out_dir: PathBuf,
}

impl Settings {
    pub fn from_env() -> Settings {
        // Plain `cargo nextest run` does not pass cargo's target directory on (a
        // `build.target-dir` in .cargo/config.toml, say), but the binary lives in it.
        Self::from_lookup(|name| {
            let value = std::env::var_os(name).filter(|v| !v.is_empty());
            match name {
                "CARGO_TARGET_DIR" => value.or_else(|| {
                    let exe = std::env::current_exe().ok()?;
                    target_dir_of(&exe).map(OsString::from)
                }),
                _ => value,
            }
        })
    }

    /// Builds settings from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<OsString>) -> Settings {
        // nextest names the workspace in both phases (0.9.130+); the compile-time path
        // covers `cargo test` and direct runs of the binary.
        let workspace = get("NEXTEST_WORKSPACE_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(compiled_workspace);
        let target_dir = get("CARGO_TARGET_DIR")
            .map(|t| workspace.join(t))
            .unwrap_or_else(|| workspace.join("target"));
        let demo = workspace.join("demo");
        // Where the command was started: the shell's PWD (nextest runs the harness in
        // the workspace, but passes PWD on), else this process's folder.
        let started_in = get("PWD")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| workspace.clone());
        let path =
            |name: &str| get(name).map(|v| PathBuf::from(resolve_from(name, &v, &started_in)));
        let root = path(var::PYTORCH_ROOT).unwrap_or_else(|| demo.clone());
        let demo_python = target_dir.join(DEMO_VENV).join("bin/python");
        let python = match path(var::PYTHON) {
            Some(p) => p,
            None if root == demo && demo_python.exists() => demo_python,
            None => PathBuf::from("python3"),
        };
        let manifests = path(var::MANIFESTS).unwrap_or_else(|| workspace.join("test-manifests"));
        let out_dir = path(var::OUT).unwrap_or_else(|| {
            let run = get("NEXTEST_RUN_ID")
                .map(|id| id.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("local-{}", std::process::id()));
            runs_dir(&target_dir, &root).join(run)
        });
        Settings {
            workspace,
            target_dir,
            root,
            python,
            manifests,
            out_dir,
        }
    }

    /// Shared caches (probes, listings) that outlive a run.
    pub fn cache_dir(&self) -> PathBuf {
        self.target_dir.join("torch-harness/cache")
    }

    /// This checkout's runs (`<run id>/` each): another checkout's runs are elsewhere.
    pub fn runs_dir(&self) -> PathBuf {
        runs_dir(&self.target_dir, &self.root)
    }

    /// The times this checkout's runs measured (`cargo xtask times update`), which its
    /// planner reads; another checkout's times do not move its plan.
    pub fn times_store(&self) -> PathBuf {
        self.target_dir
            .join("torch-harness/test-times")
            .join(format!("{}.json", checkout_key(&self.root)))
    }
}

fn runs_dir(target_dir: &Path, root: &Path) -> PathBuf {
    target_dir
        .join("torch-harness/runs")
        .join(checkout_key(root))
}

/// `<folder name>-<hash of the full path>`: readable, and distinct for two checkouts
/// with the same folder name.
pub fn checkout_key(root: &Path) -> String {
    let path = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into());
    let hash = crate::util::hash::stable_hash(&path.to_string_lossy());
    format!("{name}-{:08x}", hash & 0xffff_ffff)
}

/// The cargo target directory holding `binary`: the nearest folder above it with the
/// `CACHEDIR.TAG` cargo writes there. None for a binary outside one (an unpacked
/// archive, a copy).
fn target_dir_of(binary: &Path) -> Option<PathBuf> {
    binary
        .ancestors()
        .skip(1)
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
}

fn compiled_workspace() -> PathBuf {
    let harness = Path::new(env!("CARGO_MANIFEST_DIR"));
    harness.parent().unwrap_or(harness).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_point_at_the_demo() {
        let s = settings(&[("NEXTEST_WORKSPACE_ROOT", "/ws"), ("NEXTEST_RUN_ID", "abc")]);
        assert_eq!(s.root, Path::new("/ws/demo"));
        assert_eq!(s.manifests, Path::new("/ws/test-manifests"));
        assert_eq!(
            s.out_dir,
            Path::new("/ws/target/torch-harness/runs")
                .join(checkout_key(Path::new("/ws/demo")))
                .join("abc")
        );
        // No demo venv under /ws, so the system interpreter.
        assert_eq!(s.python, Path::new("python3"));
    }

    #[test]
    fn variables_override_defaults() {
        let s = settings(&[
            ("NEXTEST_WORKSPACE_ROOT", "/ws"),
            ("PYTORCH_ROOT", "/src/pytorch"),
            ("PYTHON", "/opt/py/bin/python"),
            ("TORCH_HARNESS_OUT", "/tmp/out"),
            ("CARGO_TARGET_DIR", "/cache/target"),
        ]);
        assert_eq!(s.root, Path::new("/src/pytorch"));
        assert_eq!(s.python, Path::new("/opt/py/bin/python"));
        assert_eq!(s.out_dir, Path::new("/tmp/out"));
        assert_eq!(
            s.cache_dir(),
            Path::new("/cache/target/torch-harness/cache")
        );
    }

    #[test]
    fn relative_paths_are_from_the_folder_the_command_was_started_in() {
        // nextest runs the harness in the workspace; the shell's PWD says where the
        // command was typed, and a relative path is from there.
        let s = settings(&[
            ("NEXTEST_WORKSPACE_ROOT", "/ws"),
            ("PWD", "/ws/demo"),
            ("PYTORCH_ROOT", "."),
            ("PYTHON", "venv/bin/python"),
            ("TORCH_HARNESS_MANIFESTS", "../test-manifests"),
            ("TORCH_HARNESS_OUT", "out"),
        ]);
        assert_eq!(s.root, Path::new("/ws/demo"));
        assert_eq!(s.root.to_str(), Some("/ws/demo"), "no `.` left in the path");
        assert_eq!(s.python, Path::new("/ws/demo/venv/bin/python"));
        assert_eq!(s.manifests, Path::new("/ws/demo/../test-manifests"));
        assert_eq!(s.out_dir, Path::new("/ws/demo/out"));
        // An interpreter without a folder is found on PATH, as before.
        let s = settings(&[("PWD", "/ws/demo"), ("PYTHON", "python3.12")]);
        assert_eq!(s.python, Path::new("python3.12"));
        // xtask's resolution is the same function, from its own folder.
        assert_eq!(
            resolve_from(var::PYTORCH_ROOT, "pytorch".as_ref(), Path::new("/home/me")),
            OsString::from("/home/me/pytorch")
        );
        assert_eq!(
            resolve_from(var::PLAN, "/abs/plan.json".as_ref(), Path::new("/home/me")),
            OsString::from("/abs/plan.json")
        );
    }

    #[test]
    fn a_binary_names_the_target_directory_it_was_built_in() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere/target");
        let deps = target.join("x86_64-unknown-linux-gnu/debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        let binary = deps.join("python-0123abcd");
        std::fs::write(&binary, "").unwrap();
        // Not inside a target directory (no tag): unknown.
        assert_eq!(target_dir_of(&binary), None);
        std::fs::write(
            target.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        )
        .unwrap();
        assert_eq!(target_dir_of(&binary), Some(target));
    }

    #[test]
    fn runs_and_times_are_kept_per_checkout() {
        let a = settings(&[
            ("NEXTEST_WORKSPACE_ROOT", "/ws"),
            ("PYTORCH_ROOT", "/a/pytorch"),
        ]);
        let b = settings(&[
            ("NEXTEST_WORKSPACE_ROOT", "/ws"),
            ("PYTORCH_ROOT", "/b/pytorch"),
        ]);
        assert_ne!(a.runs_dir(), b.runs_dir());
        assert_ne!(a.times_store(), b.times_store());
        assert!(a.out_dir.starts_with(a.runs_dir()));
        let key = checkout_key(Path::new("/a/pytorch"));
        assert!(key.starts_with("pytorch-"), "{key}");
        assert_eq!(key.len(), "pytorch-".len() + 8);
    }
}
