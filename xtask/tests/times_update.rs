//! `cargo xtask times update`: a run's measured times go into the store in PyTorch's
//! shape, pieces add up, stale expectations are listed, and the planner reads it back.

mod common;

use std::path::Path;
use std::process::Command;
use torch_harness::report::record::{FailedTest, Record};
use torch_harness::report::verdict::Verdict;

fn record(dir: &Path, case: &str, key: &str, seconds: f64) {
    let folder = dir.join(case.replace("::", ".")).join("attempt-1");
    std::fs::create_dir_all(&folder).unwrap();
    let failed: Vec<FailedTest> = Vec::new();
    Record {
        case: case.into(),
        times_key: key.into(),
        attempt: 1,
        verdict: Verdict::Passed,
        wall_seconds: seconds,
        runs: 1,
        waited_seconds: 0.0,
        command: String::new(),
        cwd: dir.to_path_buf(),
        devices: Vec::new(),
        log: folder.join("output.log"),
        reports: Vec::new(),
        flaky_tests: Vec::new(),
        failed_tests: failed,
        note: None,
        repro: String::new(),
        plan: None,
        span: None,
        rerun_disabled: false,
    }
    .write(&folder)
    .unwrap();
}

#[test]
fn measured_times_reach_the_store_and_stale_ones_are_listed() {
    let target = tempfile::tempdir().unwrap();
    let run = target.path().join("torch-harness/runs/run-1");
    record(&run, "test_ops::shard_1_of_2", "test_ops", 40.0);
    record(&run, "test_ops::shard_2_of_2", "test_ops", 60.0);
    record(&run, "nn::test_pooling", "nn/test_pooling", 2.0);
    record(&run, "test_api::TensorTest", "cpp/test_api", 1.5);
    let planned = target.path().join("planned.json");
    std::fs::write(
        &planned,
        r#"{"default": {"default": {"nn/test_pooling": 100.0, "test_ops": 90.0}}}"#,
    )
    .unwrap();

    let out = common::clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .args(["times", "update", "run-1", "--times"])
        .arg(&planned)
        .env("CARGO_TARGET_DIR", target.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("stale: nn/test_pooling: measured 2.0 s, expected 100.0 s"),
        "{stdout}"
    );
    assert!(!stdout.contains("stale: test_ops"), "{stdout}");

    let store = target.path().join("torch-harness/test-times.json");
    let times =
        torch_harness::plan::times::load(&store, &torch_harness::plan::times::JobKey::default())
            .unwrap();
    assert_eq!(times["test_ops"], 100.0, "the pieces add up");
    assert_eq!(times["nn/test_pooling"], 2.0);
    assert_eq!(times["cpp/test_api"], 1.5);
}
