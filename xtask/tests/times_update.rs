//! `cargo xtask times update`: a run's measured times go into the store in PyTorch's
//! shape, pieces add up, stale expectations are listed, and the planner reads it back.

mod common;

use std::path::Path;
use std::process::Command;
use torch_harness::report::record::Record;
use torch_harness::report::verdict::Verdict;

fn record(dir: &Path, case: &str, key: &str, seconds: f64) {
    let folder = dir.join(case.replace("::", ".")).join("attempt-1");
    std::fs::create_dir_all(&folder).unwrap();
    Record {
        times_key: key.into(),
        wall_seconds: seconds,
        cwd: dir.to_path_buf(),
        log: folder.join("output.log"),
        ..Record::new(case, Verdict::Passed)
    }
    .write(&folder)
    .unwrap();
}

#[test]
fn measured_times_reach_the_store_and_stale_ones_are_listed() {
    let target = tempfile::tempdir().unwrap();
    let run = target.path().join("run-1");
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
        .args(["times", "update"])
        .arg(&run)
        .arg("--times")
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

    let store = store_of(&stdout);
    assert!(store.starts_with(target.path()), "{}", store.display());
    let times =
        torch_harness::plan::times::load(&store, &torch_harness::plan::times::JobKey::default())
            .unwrap();
    assert_eq!(times["test_ops"], 100.0, "the pieces add up");
    assert_eq!(times["nn/test_pooling"], 2.0);
    assert_eq!(times["cpp/test_api"], 1.5);
}

/// The store `times update` said it wrote: `… into <store> (<job> / <config>)`.
fn store_of(stdout: &str) -> std::path::PathBuf {
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(" into ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no store in:\n{stdout}"));
    let (path, _) = line.rsplit_once(" (").unwrap();
    std::path::PathBuf::from(path)
}

const PASSING: &str = "import unittest\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\nif __name__ == '__main__':\n    unittest.main(argv=['x'])\n";

/// A checkout with one passing test file.
fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("test")).unwrap();
    std::fs::write(dir.path().join("test/test_only.py"), PASSING).unwrap();
    dir
}

fn xtask(root: &Path, args: &[&str]) -> std::process::Output {
    common::clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .args(args)
        .env("PYTORCH_ROOT", root)
        .env("PYTHON", "python3")
        .output()
        .unwrap()
}

#[test]
fn runs_and_times_of_one_checkout_leave_another_alone() {
    let (a, b) = (checkout(), checkout());
    // A real run of checkout a, into the default run folder.
    let run = common::clean(Command::new(env!("CARGO")))
        .args([
            "nextest",
            "run",
            "--package",
            "torch-suite",
            "-E",
            "test(=test_only)",
        ])
        .env("PYTORCH_ROOT", a.path())
        .env("PYTHON", "python3")
        .env("TORCH_HARNESS_PYTEST", "0")
        .output()
        .unwrap();
    common::check(&run);

    // `report` with no argument shows the newest run of its own checkout only.
    let of_a = xtask(a.path(), &["report"]);
    let printed = String::from_utf8_lossy(&of_a.stdout);
    assert!(
        of_a.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&of_a.stderr)
    );
    assert!(printed.contains("(1 cases)"), "{printed}");
    let of_b = xtask(b.path(), &["report"]);
    assert!(
        !of_b.status.success(),
        "b never ran: {}",
        String::from_utf8_lossy(&of_b.stdout)
    );
    assert!(
        String::from_utf8_lossy(&of_b.stderr).contains("no runs of"),
        "{}",
        String::from_utf8_lossy(&of_b.stderr)
    );

    // Folding a's times in changes a's plan, not b's.
    let update = xtask(a.path(), &["times", "update"]);
    let store = store_of(&common::ok(update));
    let plan = |root: &Path| {
        let out = xtask(root, &["plan", "--shards", "1"]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        stderr
    };
    let planned_a = plan(a.path());
    assert!(
        planned_a.contains(&format!("test times: {} (1 files)", store.display())),
        "{planned_a}"
    );
    let planned_b = plan(b.path());
    assert!(planned_b.contains("no test times found"), "{planned_b}");
    // What this test left under the workspace's target/: a's run and a's times.
    let json = a.path().join("report.json");
    common::ok(xtask(
        a.path(),
        &["report", "--json", json.to_str().unwrap()],
    ));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let run_dir = Path::new(report["run_dir"].as_str().unwrap());
    std::fs::remove_dir_all(run_dir.parent().unwrap()).unwrap();
    std::fs::remove_file(&store).unwrap();
}
