//! What a user passes to `cargo xtask test` through the environment is honoured, the
//! same way the harness reads it under plain nextest: a relative `PYTORCH_ROOT`, the
//! user's `PYTHON`.

mod common;

use common::{check, clean, recorded, workspace};
use std::process::Command;
use torch_harness::report::record::Record;

fn record(out: &std::path::Path, case_folder: &str) -> Record {
    Record::read(&out.join(case_folder).join("attempt-1/record.json")).unwrap()
}

#[test]
fn a_relative_pytorch_root_is_the_folder_xtask_was_started_in() {
    // `PYTORCH_ROOT=. cargo xtask test` from demo/: the harness, which nextest starts in
    // the workspace, must run demo/ too (it used to take `.` as the workspace, list
    // nothing there, and nextest ran no tests).
    let out = tempfile::tempdir().unwrap();
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.current_dir(workspace().join("demo"))
        .args(["test", "--", "-E", "test(=nn::test_pooling)"])
        .env("PYTORCH_ROOT", ".")
        .env("TORCH_HARNESS_OUT", out.path());
    let output = cmd.output().unwrap();
    check(&output);
    assert_eq!(recorded(out.path()), ["nn.test_pooling"]);
    let demo = std::fs::canonicalize(workspace().join("demo")).unwrap();
    let ran_in = std::fs::canonicalize(record(out.path(), "nn.test_pooling").cwd).unwrap();
    assert_eq!(ran_in, demo.join("test"));
}

#[test]
fn the_demo_runs_under_the_users_python() {
    // An interpreter of the user's (here a wrapper around the system's python3, which
    // has no pytest): xtask used to replace it with the demo's venv.
    let dir = tempfile::tempdir().unwrap();
    let python = dir.path().join("python");
    std::fs::write(&python, "#!/bin/sh\nexec python3 \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(["test", "--", "-E", "test(=nn::test_pooling)"])
        .env("PYTHON", &python)
        .env("TORCH_HARNESS_OUT", out.path());
    let output = cmd.output().unwrap();
    check(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("with PYTHON={}", python.display())),
        "{stderr}"
    );
    let record = record(out.path(), "nn.test_pooling");
    assert!(
        record.command.contains(&python.display().to_string()),
        "{}",
        record.command
    );
    assert!(!record.command.contains("demo-venv"), "{}", record.command);
}
