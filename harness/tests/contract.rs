//! nextest's harness contract and the verdicts of finished processes, through the
//! harness binary, against fixture checkouts run by the system Python.

mod common;

use common::{Checkout, harness, harness_with, stderr, stdout};
use serde_json::Value;
use std::path::Path;

/// A file that, like every PyTorch test file (through common_utils.run_tests),
/// accepts the runner's --save-xml.
const PASSING: &str = r#"import sys, unittest
class T(unittest.TestCase):
    def test_ok(self):
        self.assertEqual(1 + 1, 2)
if __name__ == "__main__":
    unittest.main(argv=[a for a in sys.argv if not a.startswith("--save-xml")])
"#;

fn fixture() -> Checkout {
    Checkout::new(&[
        ("test/test_pass.py", PASSING),
        ("test/nn/test_nested.py", PASSING),
        (
            "test/test_exit5.py",
            "import sys\nprint('nothing to collect')\nsys.exit(5)\n",
        ),
        (
            "test/test_segv.py",
            "import os, signal\nprint('about to crash', flush=True)\nos.kill(os.getpid(), signal.SIGSEGV)\n",
        ),
        (
            "test/test_fail.py",
            "import sys\nprint('AssertionError: 2 != 3', file=sys.stderr)\nsys.exit(1)\n",
        ),
        // Blocklisted on ROCm: listed as ignored there.
        ("test/test_jit_legacy.py", PASSING),
    ])
}

const ROCM: &[(&str, &str)] = &[("PYTORCH_TEST_WITH_ROCM", "1")];

/// The record the harness kept for the first attempt of `case`.
fn record(out: &Path, case: &str) -> Value {
    let dir = out.join(case.replace("::", ".")).join("attempt-1");
    serde_json::from_slice(&std::fs::read(dir.join("record.json")).unwrap()).unwrap()
}

fn log(out: &Path, case: &str) -> String {
    let dir = out.join(case.replace("::", ".")).join("attempt-1");
    std::fs::read_to_string(dir.join("output.log")).unwrap()
}

#[test]
fn list_prints_only_terse_lines() {
    let checkout = fixture();
    let out = tempfile::tempdir().unwrap();
    let list = ["--list", "--format", "terse"];
    let all = harness_with(checkout.root(), out.path(), &list, ROCM);
    assert!(all.status.success(), "{}", stderr(&all));
    assert_eq!(
        stdout(&all).lines().collect::<Vec<_>>(),
        [
            "nn::test_nested: test",
            "test_exit5: test",
            "test_fail: test",
            "test_jit_legacy: test",
            "test_pass: test",
            "test_segv: test",
        ]
    );
    let ignored = harness_with(
        checkout.root(),
        out.path(),
        &[&list[..], &["--ignored"]].concat(),
        ROCM,
    );
    assert_eq!(stdout(&ignored), "test_jit_legacy: test\n");
    // Listing starts no test.
    assert!(!out.path().join("test_pass").exists());
}

#[test]
fn exact_runs_one_file_and_keeps_its_log_and_record() {
    let checkout = fixture();
    let out = tempfile::tempdir().unwrap();
    let run = harness(
        checkout.root(),
        out.path(),
        &["nn::test_nested", "--exact", "--nocapture"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stdout(&run).contains("1 passed"), "{}", stdout(&run));
    let rec = record(out.path(), "nn::test_nested");
    assert_eq!(rec["verdict"], "passed");
    assert_eq!(rec["case"], "nn::test_nested");
    assert!(
        rec["command"]
            .as_str()
            .unwrap()
            .contains("-bb nn/test_nested.py")
    );
    assert!(log(out.path(), "nn::test_nested").contains("Ran 1 test"));
}

#[test]
fn exit_code_5_is_a_pass() {
    let checkout = fixture();
    let out = tempfile::tempdir().unwrap();
    let run = harness(checkout.root(), out.path(), &["test_exit5", "--exact"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(
        record(out.path(), "test_exit5")["verdict"],
        "no_tests_collected"
    );
    assert!(log(out.path(), "test_exit5").contains("nothing to collect"));
}

#[test]
fn a_segfault_is_a_crash_named_by_its_signal() {
    let checkout = fixture();
    let out = tempfile::tempdir().unwrap();
    let run = harness(checkout.root(), out.path(), &["test_segv", "--exact"]);
    assert!(!run.status.success());
    let err = stderr(&run);
    assert!(
        err.contains("Error: test_segv crashed with SIGSEGV (signal 11)"),
        "{err}"
    );
    let rec = record(out.path(), "test_segv");
    assert_eq!(rec["verdict"], "crashed");
    assert_eq!(rec["signal"], "SIGSEGV");
    // What the test printed before it died is in the log.
    assert!(log(out.path(), "test_segv").contains("about to crash"));
}

#[test]
fn a_failure_reports_its_exit_code_and_keeps_the_output() {
    let checkout = fixture();
    let out = tempfile::tempdir().unwrap();
    let run = harness(checkout.root(), out.path(), &["test_fail", "--exact"]);
    assert!(!run.status.success());
    let err = stderr(&run);
    assert!(err.contains("Error: test_fail exited with code 1"), "{err}");
    assert!(
        err.contains("AssertionError: 2 != 3"),
        "streams through: {err}"
    );
    assert_eq!(record(out.path(), "test_fail")["exit_code"], 1);
    assert!(log(out.path(), "test_fail").contains("AssertionError: 2 != 3"));
}

#[test]
fn exact_on_a_missing_name_is_a_clear_error() {
    let checkout = fixture();
    let out = tempfile::tempdir().unwrap();
    for (name, says) in [
        ("test_nothing", "test/test_nothing.py does not exist"),
        ("nn::", "empty"),
        ("test_pass::shard_3_of_2", "shard_<k>_of_<n>"),
    ] {
        let run = harness(checkout.root(), out.path(), &[name, "--exact"]);
        assert_eq!(run.status.code(), Some(2), "{name}");
        let err = stderr(&run);
        assert!(err.contains(says), "{name}: {err}");
        assert!(err.contains(name.trim_end_matches(':')), "{name}: {err}");
    }
}

#[test]
fn an_ignored_case_says_why_when_run() {
    let checkout = fixture();
    let out = tempfile::tempdir().unwrap();
    let name = "test_jit_legacy";
    let skipped = harness_with(checkout.root(), out.path(), &[name, "--exact"], ROCM);
    assert!(
        stdout(&skipped).contains("1 ignored"),
        "{}",
        stdout(&skipped)
    );
    let forced = harness_with(
        checkout.root(),
        out.path(),
        &[name, "--exact", "--ignored"],
        ROCM,
    );
    assert!(!forced.status.success());
    assert!(
        stdout(&forced).contains("blocklisted on ROCm"),
        "{}",
        stdout(&forced)
    );
}

#[test]
fn a_missing_interpreter_fails_the_case_with_a_reason() {
    let checkout = fixture();
    let out = tempfile::tempdir().unwrap();
    let run = common::harness_command()
        .args(["python", "test_pass", "--exact"])
        .env("PYTORCH_ROOT", checkout.root())
        .env("TORCH_HARNESS_OUT", out.path())
        .env("TORCH_HARNESS_MANIFESTS", common::manifests())
        .env("PYTHON", "/nonexistent/python")
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = stderr(&run);
    assert!(err.contains("Error: test_pass"), "{err}");
    assert!(err.contains("/nonexistent/python"), "{err}");
}

#[test]
fn a_malformed_manifest_stops_listing_with_file_and_line() {
    let checkout = fixture();
    let manifests = tempfile::tempdir().unwrap();
    std::fs::write(
        manifests.path().join("scheduling.toml"),
        "CI_SERIAL_LIST = [\"test_nn\"]\nRUN_PARALLEL_BLOCKLIST = 3\n",
    )
    .unwrap();
    let run = common::harness_command()
        .args(["python", "--list", "--format", "terse"])
        .env("PYTORCH_ROOT", checkout.root())
        .env("TORCH_HARNESS_MANIFESTS", manifests.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(stdout(&run).is_empty(), "nothing half-listed");
    let err = stderr(&run);
    assert!(err.contains("scheduling.toml:2:"), "{err}");
    assert!(err.contains("RUN_PARALLEL_BLOCKLIST"), "{err}");
}

/// Cases for nextest's retries: a real failure, a crash, a hang the harness times out,
/// a pass, and a distributed file that crashes.
fn retry_fixture() -> Checkout {
    Checkout::new(&[
        ("test/test_pass.py", PASSING),
        (
            "test/test_fail.py",
            "import sys\nprint('AssertionError: 2 != 3', file=sys.stderr)\nsys.exit(1)\n",
        ),
        (
            "test/test_segv.py",
            "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
        ),
        ("test/test_hang.py", "import time\ntime.sleep(600)\n"),
        (
            "test/distributed/test_crashy.py",
            "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
        ),
        (
            "torch-harness.toml",
            "[timeouts]\nfloor_seconds = 0.0\ngrace_seconds = 0.5\n[expected_seconds]\ntest_hang = 0.5\n",
        ),
    ])
}

#[test]
fn a_forced_retry_reruns_only_an_attempt_that_left_no_record() {
    let checkout = retry_fixture();
    let out = tempfile::tempdir().unwrap();
    let attempt = |case: &str, n: &str| {
        harness_with(
            checkout.root(),
            out.path(),
            &[case, "--exact"],
            &[("NEXTEST_ATTEMPT", n)],
        )
    };
    // What the first attempt recorded stands, a crash and a timeout included: a rerun
    // must never turn a real failure green.
    for (case, first) in [
        ("test_fail", "exited with code 1"),
        ("test_segv", "crashed with SIGSEGV"),
        ("test_hang", "timed out after"),
    ] {
        assert!(!attempt(case, "1").status.success(), "{case}");
        let retry = attempt(case, "2");
        assert!(!retry.status.success(), "{case}");
        let err = stderr(&retry);
        assert!(
            err.contains(&format!(
                "Error: {case} attempt 2 not run: attempt 1 {first}"
            )),
            "{err}"
        );
        assert!(
            !out.path().join(case).join("attempt-2/output.log").exists(),
            "{case} ran again"
        );
    }
    // An attempt that left no record (the harness or the machine died) runs again.
    let again = attempt("test_pass", "2");
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(out.path().join("test_pass/attempt-2/output.log").exists());
}

#[test]
fn a_distributed_file_run_as_a_python_case_is_never_retried() {
    let checkout = retry_fixture();
    let out = tempfile::tempdir().unwrap();
    let attempt = |n: &str| {
        harness_with(
            checkout.root(),
            out.path(),
            &["distributed::test_crashy", "--exact"],
            &[("NEXTEST_ATTEMPT", n)],
        )
    };
    let first = attempt("1");
    assert!(
        stderr(&first).contains("crashed with SIGSEGV"),
        "{}",
        stderr(&first)
    );
    for n in ["2", "3"] {
        let retry = attempt(n);
        assert!(!retry.status.success());
        let err = stderr(&retry);
        assert!(err.contains("is never retried"), "{err}");
    }
    assert!(
        !out.path()
            .join("distributed.test_crashy/attempt-2/output.log")
            .exists()
    );
}

#[test]
fn a_piece_in_unittest_mode_says_what_forces_that_mode() {
    let checkout = fixture();
    let out = tempfile::tempdir().unwrap();
    for (vars, cause) in [
        (
            &[("TORCH_HARNESS_PYTEST", "0")][..],
            "TORCH_HARNESS_PYTEST=0",
        ),
        (
            &[
                ("TORCH_HARNESS_PYTEST", "1"),
                ("PYTORCH_TEST_DO_NOT_USE_PYTEST", "1"),
            ][..],
            "PYTORCH_TEST_DO_NOT_USE_PYTEST=1",
        ),
    ] {
        let run = harness_with(
            checkout.root(),
            out.path(),
            &["test_pass::shard_1_of_2", "--exact"],
            vars,
        );
        assert!(!run.status.success());
        let err = stderr(&run);
        let line = err
            .lines()
            .find(|l| l.starts_with("Error: "))
            .unwrap_or_else(|| panic!("no Error: line in {err}"));
        assert_eq!(line.matches("test_pass::shard_1_of_2").count(), 1, "{line}");
        assert!(line.contains("needs pytest mode"), "{line}");
        assert!(line.contains(cause), "{line}");
        assert!(!line.contains("install pytest"), "{line}");
    }
}
