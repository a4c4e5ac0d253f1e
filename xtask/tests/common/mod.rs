//! What the end-to-end tests of xtask share: the workspace, commands free of the outer
//! run's configuration, and the cases a run left records for.

#![allow(dead_code)]

use nextest_metadata::{ListCommand, TestListSummary};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `cmd` in the workspace, without the outer nextest run's variables or any selection
/// the environment carries, so the inner run is configured only by what the test sets.
pub fn clean(mut cmd: Command) -> Command {
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        let selection = [
            "PYTORCH_ROOT",
            "TEST_CONFIG",
            "BUILD_ENVIRONMENT",
            "JOB_NAME",
            "TORCH_HARNESS_PLAN",
            "TORCH_HARNESS_SHARD",
            // CI mode and its lists and run modes only where a test asks for them.
            "CI",
            "TORCH_HARNESS_DISABLED_TESTS",
            "TORCH_HARNESS_SLOW_TESTS",
            "REENABLED_ISSUES",
            "PYTORCH_TEST_RERUN_DISABLED_TESTS",
            "PYTORCH_COLLECT_COVERAGE",
            "PYTORCH_TEST_CUDA_MEM_LEAK_CHECK",
        ];
        if name.starts_with("NEXTEST") || selection.contains(&name.as_ref()) {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(workspace());
    cmd
}

/// Asserts the command succeeded; its stdout.
pub fn ok(output: Output) -> String {
    check(&output);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn check(output: &Output) {
    assert!(
        output.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The cases that left a first-attempt record under `out` (folder names).
pub fn recorded(out: &Path) -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(out)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().join("attempt-1/record.json").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    cases
}

/// `cargo nextest list --message-format json --package torch-suite <args>`, read with
/// nextest-metadata.
pub fn nextest_list(args: &[&str]) -> TestListSummary {
    nextest_list_with(args, &[])
}

/// The same, with these variables set for the harness's list phase.
pub fn nextest_list_with(args: &[&str], vars: &[(&str, &OsStr)]) -> TestListSummary {
    let mut list = ListCommand::new();
    list.cargo_path(env!("CARGO"))
        .add_args(["--package", "torch-suite"])
        .add_args(args.iter().copied());
    let mut cmd = clean(list.cargo_command());
    cmd.envs(vars.iter().copied());
    TestListSummary::parse_json(ok(cmd.output().unwrap())).unwrap()
}

/// The cases a listing's filters keep, with the binary each is in (`torch-suite::cpp`).
pub fn kept(list: &TestListSummary) -> Vec<(String, String)> {
    list.rust_suites
        .iter()
        .flat_map(|(binary, suite)| {
            suite
                .test_cases
                .iter()
                .filter(|(_, case)| case.filter_match.is_match())
                .map(move |(name, _)| (binary.to_string(), name.to_string()))
        })
        .collect()
}

/// Every case of a listing, kept by its filters or not.
pub fn listed(list: &TestListSummary) -> Vec<(String, String)> {
    list.rust_suites
        .iter()
        .flat_map(|(binary, suite)| {
            suite
                .test_cases
                .keys()
                .map(move |name| (binary.to_string(), name.to_string()))
        })
        .collect()
}

/// The harness tests' survivor check, which does not use the harness's /proc reader.
#[path = "../../../harness/tests/common/survivors.rs"]
pub mod survivors;
