//! `test_ci_sanity_check_fail` through run_test.py's `run_ci_sanity_check` handler: it
//! passes only when the file fails with exit code 1, and then its XML is gone.

mod common;

use common::{Checkout, harness, stderr};

fn sanity_file(body: &str) -> String {
    format!(
        "import sys, unittest\nclass T(unittest.TestCase):\n    def test_it(self):\n        {body}\nif __name__ == \"__main__\":\n    unittest.main(argv=[a for a in sys.argv if not a.startswith(\"--save-xml\")])\n"
    )
}

fn run(body: &str) -> (std::process::Output, serde_json::Value) {
    let checkout = Checkout::new(&[("test/test_ci_sanity_check_fail.py", &sanity_file(body))]);
    let out = tempfile::tempdir().unwrap();
    let name = "test_ci_sanity_check_fail";
    let output = harness(checkout.root(), out.path(), &[name, "--exact"]);
    let record = out.path().join(name).join("attempt-1/record.json");
    let record = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    (output, record)
}

#[test]
fn the_sanity_check_passes_when_its_file_fails_as_intended() {
    let (output, record) = run("self.fail('this file fails on purpose')");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(record["verdict"], "passed", "{record}");
    assert!(
        record["note"]
            .as_str()
            .unwrap()
            .contains("failed as it must"),
        "{record}"
    );
    // Its failing test is reported nowhere.
    assert_eq!(record["failed_tests"], serde_json::json!([]), "{record}");
    assert_eq!(record["reports"], serde_json::json!([]), "{record}");
}

#[test]
fn the_sanity_check_fails_when_its_file_passes_or_fails_otherwise() {
    let (output, record) = run("pass");
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("must fail with exit code 1"),
        "{}",
        stderr(&output)
    );
    assert_eq!(record["verdict"], "failed", "{record}");
    // Exit code 3 is a failure, but not the one run_test.py's handler wants.
    let (output, _) = run("__import__('os')._exit(3)");
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("exited with code 3"),
        "{}",
        stderr(&output)
    );
}
