//! `cargo xtask archive FILE`.

use crate::plumbing::{nextest, workspace};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;

/// `cargo xtask archive FILE`: the test binaries, built once, to run on other machines
/// with `cargo xtask test --archive-file FILE` against a checkout there.
pub fn run(file: &Path) -> Result<ExitCode> {
    let root = workspace::root();
    nextest::ensure(&root)?;
    let status = nextest::nextest_command(&root, &workspace::target_dir(&root)?)
        .args(["archive", "--package", "torch-suite", "--archive-file"])
        .arg(std::path::absolute(file)?)
        .status()
        .context("cannot start `cargo nextest archive`")?;
    Ok(nextest::exit_code(status))
}
