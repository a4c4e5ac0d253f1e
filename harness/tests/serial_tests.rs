//! `@serialTest` files: the marked tests run first, alone, under `-m serial`, the rest
//! after them under `-m "not serial"`; a failing marked test stops the file (unless the
//! run keeps going); in unittest mode the file runs whole, alone. Uses the demo's
//! Python environment and runner plugins.

mod common;

use common::{Checkout, demo_python, workspace};
use std::path::Path;
use std::process::Output;

const MARKED: &str = r#"import os
from demo_testing import TestCase, run_tests, serialTest


class TestMarked(TestCase):
    @serialTest()
    def test_big(self):
        self.assertNotEqual(os.environ.get("FAIL_BIG"), "1")

    def test_small(self):
        self.assertEqual(1 + 1, 2)


if __name__ == "__main__":
    run_tests()
"#;

fn checkout() -> Checkout {
    let demo = workspace().join("demo");
    let read = |p: &str| std::fs::read_to_string(demo.join(p)).unwrap();
    let overlay = format!(
        "[environment]\nPYTHONPATH = {:?}\n",
        demo.join("python").display().to_string()
    );
    Checkout::new(&[
        ("pytest.ini", &read("pytest.ini")),
        ("test/conftest.py", &read("test/conftest.py")),
        ("test/test_marked.py", MARKED),
        (
            "test/test_plain.py",
            "from demo_testing import TestCase, run_tests\n\n\nclass TestPlain(TestCase):\n    def test_one(self):\n        self.assertTrue(True)\n\n\nif __name__ == \"__main__\":\n    run_tests()\n",
        ),
        ("torch-harness.toml", &overlay),
    ])
}

fn run(root: &Path, out: &Path, vars: &[(&str, &str)]) -> Output {
    run_case("test_marked", root, out, vars)
}

fn run_case(case: &str, root: &Path, out: &Path, vars: &[(&str, &str)]) -> Output {
    common::harness_command()
        .args(["python", case, "--exact", "--nocapture"])
        .env("PYTORCH_ROOT", root)
        .env("PYTHON", demo_python())
        .env("TORCH_HARNESS_OUT", out)
        .env("TORCH_HARNESS_MANIFESTS", common::manifests())
        .env("NEXTEST", "1")
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

fn record(out: &Path) -> serde_json::Value {
    let path = out.join("test_marked/attempt-1/record.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// Test names in the attempt's XML reports, each as often as it ran.
fn tests_run(out: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in walkdir::WalkDir::new(out.join("test_marked/attempt-1/test-reports")) {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "xml") {
            let xml = std::fs::read_to_string(entry.path()).unwrap();
            for (at, _) in xml.match_indices("<testcase ") {
                let name = xml[at..].split(" name=\"").nth(1).unwrap();
                names.push(name.split('"').next().unwrap().to_string());
            }
        }
    }
    names.sort();
    names
}

#[test]
fn marked_tests_run_alone_first_then_the_rest_beside_others() {
    let checkout = checkout();
    let out = tempfile::tempdir().unwrap();
    let output = run(checkout.root(), out.path(), &[]);
    let stderr = common::stderr(&output);
    assert!(output.status.success(), "{stderr}");
    let serial = stderr
        .find("-m serial")
        .unwrap_or_else(|| panic!("{stderr}"));
    let rest = stderr
        .find("-m 'not serial'")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(serial < rest, "{stderr}");
    assert!(stderr.contains("(alone)") && stderr.contains("(beside other cases)"));
    let rec = record(out.path());
    assert_eq!(rec["runs"], 2);
    assert_eq!(tests_run(out.path()), ["test_big", "test_small"]);
}

#[test]
fn a_failing_marked_test_stops_the_file_and_says_so() {
    let checkout = checkout();
    let out = tempfile::tempdir().unwrap();
    let output = run(checkout.root(), out.path(), &[("FAIL_BIG", "1")]);
    let stderr = common::stderr(&output);
    assert!(!output.status.success(), "{stderr}");
    assert!(!stderr.contains("not serial"), "{stderr}");
    let rec = record(out.path());
    assert_eq!(rec["verdict"], "failed", "{rec}");
    assert!(
        rec["note"]
            .as_str()
            .is_some_and(|n| n.contains("the tests not marked @serialTest did not run")),
        "{rec}"
    );
    // Only the failing marked test ran (once per try), none of the rest.
    let ran = tests_run(out.path());
    assert!(
        !ran.is_empty() && ran.iter().all(|t| t == "test_big"),
        "{ran:?}"
    );
}

#[test]
fn with_keep_going_the_rest_still_runs_and_the_case_still_fails() {
    let checkout = checkout();
    let out = tempfile::tempdir().unwrap();
    let output = run(
        checkout.root(),
        out.path(),
        &[("FAIL_BIG", "1"), ("CONTINUE_THROUGH_ERROR", "1")],
    );
    let stderr = common::stderr(&output);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("-m 'not serial'"), "{stderr}");
    assert!(tests_run(out.path()).contains(&"test_small".to_string()));
    assert_eq!(record(out.path())["verdict"], "failed");
}

#[test]
fn in_unittest_mode_a_marked_file_runs_whole_and_alone() {
    let checkout = checkout();
    let out = tempfile::tempdir().unwrap();
    let output = run(
        checkout.root(),
        out.path(),
        &[("TORCH_HARNESS_PYTEST", "0")],
    );
    let stderr = common::stderr(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("-m "), "{stderr}");
    assert!(stderr.contains("(alone)"), "{stderr}");
    assert_eq!(record(out.path())["runs"], 1);
}

#[test]
fn a_plain_file_runs_once_beside_others_unless_everything_runs_alone() {
    let checkout = checkout();
    let out = tempfile::tempdir().unwrap();
    let output = run_case("test_plain", checkout.root(), out.path(), &[]);
    let stderr = common::stderr(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("(beside other cases)") && !stderr.contains("-m "),
        "{stderr}"
    );
    for var in [
        ("PYTORCH_TEST_RUN_EVERYTHING_IN_SERIAL", "1"),
        ("TEST_CONFIG", "distributed"),
    ] {
        let out = tempfile::tempdir().unwrap();
        let output = run_case("test_plain", checkout.root(), out.path(), &[var]);
        let stderr = common::stderr(&output);
        assert!(output.status.success(), "{var:?}: {stderr}");
        assert!(stderr.contains("(alone)"), "{var:?}: {stderr}");
    }
}
