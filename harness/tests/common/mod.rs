//! Fixture checkouts and a runner for the harness binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Checkout {
    pub dir: tempfile::TempDir,
}

impl Checkout {
    /// A checkout with the given files (path relative to the checkout, contents).
    pub fn new(files: &[(&str, &str)]) -> Checkout {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Checkout { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The demo's Python environment (pytest mode); `cargo xtask setup` creates it.
pub fn demo_python() -> PathBuf {
    let python = target::target_dir().join("torch-harness/demo-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `cargo xtask setup` (or `cargo xtask check`) first",
        python.display()
    );
    python
}

pub fn manifests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-manifests")
}

pub mod scrub;

pub mod target;

/// The harness binary, with none of the outer run's configuration ([`scrub`]). Each
/// test sets what it needs after this.
pub fn harness_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_torch-harness"));
    scrub::scrub(&mut cmd);
    cmd
}

/// Runs `torch-harness python <args>` against `root` as nextest would, in unittest
/// mode with the system interpreter, writing run outputs to `out`.
pub fn harness(root: &Path, out: &Path, args: &[&str]) -> Output {
    harness_with(root, out, args, &[])
}

/// [`harness`] with extra variables.
pub fn harness_with(root: &Path, out: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    harness_command()
        .arg("python")
        .args(args)
        .env("PYTORCH_ROOT", root)
        .env("TORCH_HARNESS_OUT", out)
        .env("TORCH_HARNESS_MANIFESTS", manifests())
        .env("TORCH_HARNESS_PYTEST", "0")
        .env("PYTHON", "python3")
        .env("NEXTEST", "1")
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
pub mod loopback;
pub mod survivors;
