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

/// A record of `case` whose process took `wall` seconds, with an XML report of tests
/// that took `tests` seconds together.
fn record_with_xml(dir: &Path, case: &str, key: &str, wall: f64, tests: f64, verdict: Verdict) {
    let folder = dir.join(case.replace("::", ".")).join("attempt-1");
    let xml = folder.join("test-reports/python-pytest/report.xml");
    std::fs::create_dir_all(xml.parent().unwrap()).unwrap();
    let half = tests / 2.0;
    std::fs::write(
        &xml,
        format!(
            "<testsuites><testsuite name=\"pytest\">\
             <testcase classname=\"T\" name=\"test_one\" time=\"{half}\"/>\
             <testcase classname=\"T\" name=\"test_two\" time=\"{half}\"/>\
             </testsuite></testsuites>"
        ),
    )
    .unwrap();
    Record {
        times_key: key.into(),
        wall_seconds: wall,
        cwd: dir.to_path_buf(),
        log: folder.join("output.log"),
        reports: vec![xml],
        ..Record::new(case, verdict)
    }
    .write(&folder)
    .unwrap();
}

#[test]
fn the_start_up_is_measured_and_a_split_file_pays_it_once() {
    let target = tempfile::tempdir().unwrap();
    let run = target.path().join("run-1");
    // Outside their tests these processes took 3, 3, 4, 3 and 3 s: the median is 3.
    record_with_xml(&run, "test_a", "test_a", 13.0, 10.0, Verdict::Passed);
    record_with_xml(&run, "test_b", "test_b", 4.0, 1.0, Verdict::Passed);
    record_with_xml(&run, "test_c", "test_c", 8.0, 4.0, Verdict::Passed);
    let piece = |i: u32, wall: f64| {
        let case = format!("test_ops::shard_{i}_of_2");
        record_with_xml(&run, &case, "test_ops", wall, wall - 3.0, Verdict::Passed);
    };
    piece(1, 40.0);
    piece(2, 60.0);
    // Not start-ups: a C++ binary, a distributed file, a failed run.
    record_with_xml(
        &run,
        "test_api::TensorTest",
        "cpp/test_api",
        90.0,
        1.0,
        Verdict::Passed,
    );
    let dist = "distributed::test_c10d::gloo::init_env";
    record_with_xml(
        &run,
        dist,
        "distributed/test_c10d",
        90.0,
        1.0,
        Verdict::Passed,
    );
    let failed = Verdict::Failed { exit_code: 1 };
    record_with_xml(&run, "test_d", "test_d", 90.0, 1.0, failed);

    let out = common::clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .args(["times", "update"])
        .arg(&run)
        .env("CARGO_TARGET_DIR", target.path())
        .output()
        .unwrap();
    let stdout = common::ok(out);
    assert!(
        stdout.contains(
            "start-up: 3.0 s per process outside its tests (median of 5 cases); \
             the planner assumes 15.0 s"
        ),
        "{stdout}"
    );
    let times = torch_harness::plan::times::load(
        &store_of(&stdout),
        &torch_harness::plan::times::JobKey::default(),
    )
    .unwrap();
    // 40 + 60 s in two pieces is one start-up more than the file takes whole.
    assert_eq!(times["test_ops"], 97.0);
    assert_eq!(times["test_a"], 13.0);
    assert_eq!(times["cpp/test_api"], 90.0);
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
    let run = common::run_test_only(a.path());
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
