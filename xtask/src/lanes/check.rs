//! `cargo xtask check`: this project's own tests.

use crate::plumbing::{nextest, system, workspace};
use crate::suite::setup;
use anyhow::{Context, Result};
use std::process::ExitCode;

/// Set-up, then the project's own tests (what CI runs), under the `check` profile: no
/// retries, so a flaky test of this project fails. `nextest_args` go to nextest.
pub fn run(nextest_args: &[String]) -> Result<ExitCode> {
    let root = workspace::root();
    // The packages first: stopping for them is quicker than compiling nextest first.
    system::ensure(&root, system::FOR_CHECK)?;
    nextest::ensure(&root)?;
    setup::demo(&root)?;
    let status = nextest::nextest_command(&root, &workspace::target_dir(&root)?)
        .args(["run", "--workspace", "--profile", "check"])
        .args(nextest_args)
        .status()
        .context("cannot start `cargo nextest`")?;
    if let Some(why) = nextest::nextest_failure(status) {
        eprintln!("nextest: {why}");
    }
    Ok(nextest::exit_code(status))
}
