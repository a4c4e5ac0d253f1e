//! The outer run's configuration, taken off a command a test starts: nextest's variables
//! (an outer retry's `NEXTEST_ATTEMPT=2` would make the inner run write `attempt-2/` and
//! refuse distributed cases), the harness's settings, PyTorch's switches and what turns
//! CI behaviour on, so the inner run is configured only by what the test sets. Shared by
//! the harness's and xtask's tests.

use std::process::Command;

const PREFIXES: [&str; 4] = ["NEXTEST", "TORCH_HARNESS_", "PYTORCH_", "GTEST_"];

const NAMES: [&str; 13] = [
    "CI",
    "CONTINUE_THROUGH_ERROR",
    "TEST_CONFIG",
    "BUILD_ENVIRONMENT",
    "JOB_NAME",
    "REENABLED_ISSUES",
    "PYTHON",
    "CPP_TESTS_DIR",
    "DEMO_INJECT_FAILURE",
    // What turns --enable-td on by default in a pull request's CI job.
    "PR_NUMBER",
    "GITHUB_REF",
    "GITHUB_WORKFLOW",
    "NO_TD",
];

pub fn scrub(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name.as_ref()) {
            cmd.env_remove(key);
        }
    }
    cmd
}
