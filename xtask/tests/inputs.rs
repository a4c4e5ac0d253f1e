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

#[test]
fn an_empty_shard_passes_under_plain_nextest_as_the_guide_says() {
    // A plan wider than the demo: some shard has no case.
    let (text, shards, empty) = common::plan_with_an_empty_shard();
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, &text).unwrap();
    let shard = format!("{empty}/{shards}");
    let nextest = |extra: &[&str], out: &std::path::Path| {
        let mut cmd = clean(Command::new(env!("CARGO")));
        cmd.args(["nextest", "run", "--package", "torch-suite"])
            .args(extra)
            .env("TORCH_HARNESS_PLAN", &plan_file)
            .env("TORCH_HARNESS_SHARD", &shard)
            .env("TORCH_HARNESS_OUT", out);
        cmd.output().unwrap()
    };
    // The command the guide gives (docs/sharding.md): passes, runs nothing.
    let out = tempfile::tempdir().unwrap();
    let passed = nextest(&["--no-tests=pass"], out.path());
    check(&passed);
    assert!(recorded(out.path()).is_empty());
    // Without the flag nextest fails it ("no tests to run"), which the guide says.
    let out = tempfile::tempdir().unwrap();
    assert_eq!(nextest(&[], out.path()).status.code(), Some(4));
    let guide = std::fs::read_to_string(workspace().join("docs/sharding.md")).unwrap();
    assert!(
        guide.contains("TORCH_HARNESS_SHARD=i/N\ncargo nextest run --no-tests=pass"),
        "docs/sharding.md gives the command"
    );
}

#[test]
fn coverage_on_the_demo_ends_in_a_total_over_what_the_demo_imports() {
    // The demo has no torch, so `--source=torch` had no data ("No data to report");
    // its overlay names the stand-in its tests import.
    let out = tempfile::tempdir().unwrap();
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(["test", "--coverage", "--", "-E", "test(=nn::test_pooling)"])
        .env("TORCH_HARNESS_OUT", out.path());
    let output = cmd.output().unwrap();
    check(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("coverage: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("TOTAL"), "{line}");
    let report = std::fs::read_to_string(out.path().join("coverage/report.txt")).unwrap();
    let row = report
        .lines()
        .find(|l| l.contains("demo_testing/__init__.py"))
        .unwrap_or_else(|| panic!("{report}"));
    // Name, statements, missed, cover: the module ran (some statements, not all missed).
    let cols: Vec<&str> = row.split_whitespace().collect();
    let statements: u32 = cols[1].parse().unwrap();
    let missed: u32 = cols[2].parse().unwrap();
    assert!(statements > 0 && missed < statements, "{row}");
    let total = report.lines().find(|l| l.starts_with("TOTAL")).unwrap();
    assert_eq!(line.split("; ").nth(1), Some(total), "{line}");
}
