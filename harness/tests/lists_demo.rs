//! The lists end to end on a checkout written here, through the harness binary as
//! nextest runs it, with the demo's stand-in for common_utils (demo_testing) and a list
//! served from a loopback server: what is skipped, what runs, and the rerun mode.

mod common;

use common::loopback::Served;
use common::{Checkout, demo_python, workspace};
use std::path::Path;
use std::process::Output;
use torch_harness::report::junit::{self, Outcome, TestCase};

const TEST_FILE: &str = r#"
from demo_testing import TestCase, run_tests

_calls = {"flaky": 0}


class TestLists(TestCase):
    def test_here(self):
        pass

    def test_flaky_here(self):
        _calls["flaky"] += 1
        self.assertEqual(_calls["flaky"] % 2, 1, "fails every second run")

    def test_elsewhere(self):
        pass

    def test_back(self):
        pass

    def test_slow_listed(self):
        pass

    def test_plain(self):
        pass


if __name__ == "__main__":
    run_tests()
"#;

const CONDENSED: &str = r#"{
  "test_here (__main__.TestLists)": ["301", "https://github.com/pytorch/pytorch/issues/301", ["linux"]],
  "test_flaky_here (__main__.TestLists)": ["302", "https://github.com/pytorch/pytorch/issues/302", []],
  "test_elsewhere (__main__.TestLists)": ["303", "https://github.com/pytorch/pytorch/issues/303", ["win", "rocm"]],
  "test_back (__main__.TestLists)": ["304", "https://github.com/pytorch/pytorch/issues/304", []]
}"#;

fn checkout() -> Checkout {
    let ini = std::fs::read_to_string(workspace().join("demo/pytest.ini")).unwrap();
    Checkout::new(&[
        ("pytest.ini", &ini),
        (
            "test/conftest.py",
            "from demo_testing.pytest_plugins import *  # noqa: F401,F403\n",
        ),
        ("test/test_lists.py", TEST_FILE),
        (
            "test/slow_tests.json",
            r#"{"test_slow_listed (__main__.TestLists)": 75.0}"#,
        ),
    ])
}

fn run(root: &Path, out: &Path, vars: &[(&str, &str)]) -> Output {
    common::harness_command()
        .args(["python", "test_lists", "--exact", "--nocapture"])
        .env("PYTORCH_ROOT", root)
        .env("PYTHON", demo_python())
        .env("PYTHONPATH", workspace().join("demo/python"))
        .env("TORCH_HARNESS_OUT", out)
        .env("TORCH_HARNESS_MANIFESTS", common::manifests())
        .env("NEXTEST", "1")
        .env("CI", "1")
        .env("REENABLED_ISSUES", "304")
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

fn tests(out: &Path) -> Vec<TestCase> {
    let reports = torch_harness::report::record::xml_reports(&out.join("test_lists/attempt-1"));
    assert!(!reports.is_empty(), "no report under {}", out.display());
    reports
        .iter()
        .flat_map(|r| junit::read(r).unwrap())
        .collect()
}

fn only<'a>(tests: &'a [TestCase], name: &str) -> &'a TestCase {
    let found: Vec<&TestCase> = tests.iter().filter(|t| t.name == name).collect();
    assert_eq!(found.len(), 1, "{name}: {found:?}");
    found[0]
}

#[test]
fn ci_mode_skips_what_is_disabled_here_and_runs_the_rest() {
    let served = Served::new(CONDENSED);
    let root = checkout();
    let out = tempfile::tempdir().unwrap();
    let o = run(
        root.root(),
        out.path(),
        &[("TORCH_HARNESS_DISABLED_TESTS", &served.url)],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let t = tests(out.path());
    let here = only(&t, "test_here");
    assert_eq!(here.outcome, Outcome::Skipped);
    let message = here.message.as_deref().unwrap_or("");
    assert!(
        message.contains(
            "Test is disabled because an issue exists disabling it: https://github.com/pytorch/pytorch/issues/301 for platform(s) linux."
        ),
        "{message}"
    );
    assert_eq!(only(&t, "test_flaky_here").outcome, Outcome::Skipped);
    assert_eq!(
        only(&t, "test_elsewhere").outcome,
        Outcome::Passed,
        "disabled on win and rocm only"
    );
    assert_eq!(
        only(&t, "test_back").outcome,
        Outcome::Passed,
        "re-enabled by REENABLED_ISSUES"
    );
    let slow = only(&t, "test_slow_listed");
    assert_eq!(slow.outcome, Outcome::Skipped);
    assert!(
        slow.message
            .as_deref()
            .unwrap_or("")
            .contains("PYTORCH_TEST_WITH_SLOW")
    );
    assert_eq!(only(&t, "test_plain").outcome, Outcome::Passed);
    assert_eq!(served.hits(), 1);
    // The command named the run's resolved file.
    let stderr = common::stderr(&o);
    assert!(
        stderr.contains(&format!(
            "--import-disabled-tests={}",
            out.path().join("lists/disabled-tests.json").display()
        )),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_list_warns_and_every_test_runs() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/gone.json");
    let root = checkout();
    let out = tempfile::tempdir().unwrap();
    let o = run(
        root.root(),
        out.path(),
        &[("TORCH_HARNESS_DISABLED_TESTS", &url)],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let stderr = common::stderr(&o);
    assert!(
        stderr.contains("torch-harness: warning: cannot fetch") && stderr.contains(&url),
        "{stderr}"
    );
    let t = tests(out.path());
    assert_eq!(only(&t, "test_here").outcome, Outcome::Passed);
}

#[test]
fn rerun_mode_runs_only_the_disabled_tests_fifty_times_each() {
    let served = Served::new(CONDENSED);
    let root = checkout();
    let out = tempfile::tempdir().unwrap();
    let o = run(
        root.root(),
        out.path(),
        &[
            ("TORCH_HARNESS_DISABLED_TESTS", &served.url),
            ("PYTORCH_TEST_RERUN_DISABLED_TESTS", "1"),
        ],
    );
    // A disabled test that still fails does not fail the rerun (run_test.py's rule).
    assert!(o.status.success(), "{}", common::stderr(&o));
    let t = tests(out.path());
    let runs = |name: &str, outcome: Outcome| {
        t.iter()
            .filter(|c| c.name == name && c.outcome == outcome)
            .count()
    };
    assert_eq!(runs("test_here", Outcome::Passed), 50);
    assert_eq!(runs("test_flaky_here", Outcome::Passed), 25);
    assert_eq!(runs("test_flaky_here", Outcome::Failed), 25);
    for enabled in ["test_elsewhere", "test_back", "test_plain"] {
        assert_eq!(
            runs(enabled, Outcome::Passed),
            0,
            "{enabled} is not disabled here"
        );
        assert!(runs(enabled, Outcome::Skipped) > 0, "{enabled}");
    }
    let record = torch_harness::report::record::Record::read(
        &out.path().join("test_lists/attempt-1/record.json"),
    )
    .unwrap();
    assert!(record.rerun_disabled);
}
