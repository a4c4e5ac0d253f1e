//! The demo's Python environment: a venv under `target/` with the test-runner
//! packages of `demo/requirements.txt`, created once and rebuilt when the
//! requirements change.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use torch_harness::settings::DEMO_VENV;
use xshell::cmd;

/// `cargo xtask setup`: the system packages, then everything the demo needs.
pub fn run() -> Result<()> {
    let root = crate::plumbing::workspace::root();
    crate::plumbing::system::ensure(&root, crate::plumbing::system::FOR_CHECK)?;
    demo(&root).map(|_| ())
}

/// Everything the demo needs: its Python environment and its C++ tests. Returns the
/// interpreter.
pub fn demo(root: &Path) -> Result<PathBuf> {
    let python = demo_python(root)?;
    demo_cpp_noted(root)?;
    Ok(python)
}

/// The demo's C++ tests, or a note saying why they are listed as ignored.
pub fn demo_cpp_noted(root: &Path) -> Result<()> {
    if let Some(why) = demo_cpp(root)? {
        eprintln!("note: the demo's C++ cases are listed as ignored: {why}");
    }
    Ok(())
}

pub fn demo_python(root: &Path) -> Result<PathBuf> {
    venv(
        root,
        DEMO_VENV,
        &root.join("demo/requirements.txt"),
        "the demo's Python environment",
    )
}

/// A venv under `target/` with `requirements` installed, made once and updated in place
/// when the requirements change. Returns its interpreter.
pub fn venv(root: &Path, under_target: &str, requirements: &Path, what: &str) -> Result<PathBuf> {
    let venv = crate::plumbing::workspace::target_dir(root)?.join(under_target);
    let python = venv.join("bin/python");
    let wanted = std::fs::read_to_string(requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let stamp = venv.join("requirements.installed");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return Ok(python);
    }
    let log = venv.with_extension("log");
    std::fs::create_dir_all(venv.parent().unwrap_or(root))?;
    let sh = crate::plumbing::workspace::shell(root)?;
    // A changed requirements file updates the environment in place: pip adds what is
    // new, and a several-GB wheel already there is not fetched again.
    if !python.exists() {
        step(
            &format!("creating {what}"),
            &log,
            cmd!(sh, "python3 -m venv --clear {venv}").into(),
        )?;
    }
    step(
        &format!("installing {}", requirements.display()),
        &log,
        cmd!(
            sh,
            "{python} -m pip install --disable-pip-version-check -r {requirements}"
        )
        .into(),
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

/// What to run on Debian or Ubuntu for the demo's C++ tests.
const GTEST_INSTALL: &str = "sudo apt-get install -y libgtest-dev pkg-config g++";

/// Builds the demo's gtest binaries (`demo/csrc/*.cpp` → `demo/build/bin/`) against the
/// system's GoogleTest. Returns why not, when a tool is missing: the C++ cases are then
/// listed as ignored.
pub fn demo_cpp(root: &Path) -> Result<Option<String>> {
    let sh = crate::plumbing::workspace::shell(root)?;
    let missing = |what: &str| {
        Ok(Some(format!(
            "{what}; to build the demo's C++ tests run `{GTEST_INSTALL}` (Debian/Ubuntu), then `cargo xtask setup`"
        )))
    };
    let found = |tool: &str| {
        cmd!(sh, "{tool} --version")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run()
            .is_ok()
    };
    if !found("pkg-config") {
        return missing("pkg-config is not installed");
    }
    let Ok(flags) = cmd!(sh, "pkg-config --cflags --libs gtest_main")
        .quiet()
        .ignore_stderr()
        .read()
    else {
        return missing("GoogleTest was not found (`pkg-config gtest_main`)");
    };
    if !found("g++") {
        return missing("g++ is not installed");
    }
    let sources = root.join("demo/csrc");
    let bin = root.join("demo/build/bin");
    std::fs::create_dir_all(&bin)?;
    let log = crate::plumbing::workspace::target_dir(root)?.join("torch-harness/demo-cpp.log");
    std::fs::create_dir_all(log.parent().unwrap_or(root))?;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&sources)
        .with_context(|| format!("reading {}", sources.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
        .collect();
    entries.sort();
    for source in entries {
        let stem = source
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let out = bin.join(&stem);
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if modified(&out).is_some_and(|built| modified(&source).is_some_and(|src| built >= src)) {
            continue;
        }
        step(
            &format!("building the demo's C++ test {stem}"),
            &log,
            cmd!(sh, "g++ -std=c++17 -O1 -pthread -o {out} {source}")
                .args(flags.split_whitespace())
                .into(),
        )?;
    }
    Ok(None)
}

/// Runs one set-up command under a spinner, its output appended to `log`.
pub fn step(what: &str, log: &Path, mut command: Command) -> Result<()> {
    // std's Command for the redirection: the log fills while the step runs (a
    // several-GB pip install can be followed with `tail -f`), where xshell would hand
    // the output over only at the end.
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")?);
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let status = command
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .with_context(|| format!("{what}: cannot start {:?}", command.get_program()))?;
    bar.finish_and_clear();
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{what} failed ({status}); the last lines of {}:\n{}",
            log.display(),
            tail.join("\n")
        );
    }
    eprintln!("done: {what}");
    Ok(())
}
