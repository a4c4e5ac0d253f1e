//! The stepcurrent loop against the demo's conftest in pytest mode: flaky tests pass
//! after a rerun in a new process, consistent failures stop the file (or not, with
//! --continue-through-error), and a crash is pinned on the test that was running.

mod common;

use common::{demo_python, workspace};

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Output;

/// A file of 30 tests; `test_15` does what `behaviour` says, with a counter kept in
/// COUNTER_FILE across processes.
fn file(behaviour: &str) -> String {
    format!(
        r#"import os, signal
from demo_testing import TestCase, run_tests

def bump():
    path = os.environ["COUNTER_FILE"]
    n = int(open(path).read()) if os.path.exists(path) else 0
    open(path, "w").write(str(n + 1))
    return n + 1

class TestMany(TestCase):
    pass

def make(i):
    def test(self):
        if i == 15:
            n = bump()
            {behaviour}
        self.assertEqual(i, i)
    return test

for i in range(30):
    setattr(TestMany, "test_%02d" % i, make(i))

if __name__ == "__main__":
    run_tests()
"#
    )
}

fn checkout(behaviour: &str) -> common::Checkout {
    let demo = workspace().join("demo");
    let read = |p: &str| std::fs::read_to_string(demo.join(p)).unwrap();
    let c = common::Checkout::new(&[
        ("test/conftest.py", &read("test/conftest.py")),
        ("pytest.ini", &read("pytest.ini")),
        (
            "torch-harness.toml",
            "[environment]\nPYTHONPATH = \"{root}/python\"\n",
        ),
        ("test/test_many.py", &file(behaviour)),
    ]);
    std::os::unix::fs::symlink(demo.join("python"), c.root().join("python")).unwrap();
    c
}

fn run(c: &common::Checkout, vars: &[(&str, &str)]) -> Output {
    common::harness_command()
        .args(["python", "test_many", "--exact"])
        .env("PYTORCH_ROOT", c.root())
        .env("PYTHON", demo_python())
        .env("TORCH_HARNESS_OUT", c.root().join("out"))
        .env("TORCH_HARNESS_MANIFESTS", common::manifests())
        .env("TORCH_HARNESS_DEVICES", "none")
        .env("COUNTER_FILE", c.root().join("counter"))
        .env("NEXTEST", "1")
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

fn record(c: &common::Checkout) -> Value {
    let path = c.root().join("out/test_many/attempt-1/record.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// How many times each test ran to the end (passed or failed), over all the reports.
fn ran(c: &common::Checkout) -> BTreeMap<String, usize> {
    let mut count = BTreeMap::new();
    for report in torch_harness::report::record::xml_reports(
        &c.root().join("out/test_many/attempt-1/test-reports"),
    ) {
        for case in torch_harness::report::junit::read(&report).unwrap() {
            *count.entry(case.name).or_default() += 1;
        }
    }
    count
}

fn counter(c: &common::Checkout) -> u32 {
    std::fs::read_to_string(c.root().join("counter"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_test_that_fails_once_is_a_flaky_pass_and_the_others_run_once() {
    let c = checkout("self.assertGreater(n, 1, 'fails the first time')");
    let out = run(&c, &[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let rec = record(&c);
    assert_eq!(rec["verdict"], "flaky", "{rec:#}");
    assert_eq!(rec["tests"], serde_json::json!(["TestMany.test_15"]));
    let ran = ran(&c);
    assert_eq!(ran.len(), 30);
    assert!(ran.values().all(|n| *n == 1), "{ran:?}");
    assert!(common::stderr(&out).contains("flaky tests: TestMany.test_15"));
}

#[test]
fn a_test_that_fails_in_three_processes_is_flaky_when_the_fourth_passes() {
    // Three in-process attempts per process (--reruns=2): fails in the first process,
    // passes when rerun alone in a new one.
    let c = checkout("self.assertGreater(n, 3, 'fails three times')");
    let out = run(&c, &[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let rec = record(&c);
    assert_eq!(rec["verdict"], "flaky", "{rec:#}");
    assert_eq!(rec["runs"], 3, "first run, --rs, --scs: {rec:#}");
    let ran = ran(&c);
    assert_eq!(ran.len(), 30);
    for (test, n) in &ran {
        let expected = if test == "test_15" { 2 } else { 1 };
        assert_eq!(*n, expected, "{test}: {ran:?}");
    }
}

#[test]
fn a_consistent_failure_fails_after_three_processes_and_stops_the_file() {
    let c = checkout("self.fail('always fails')");
    let out = run(&c, &[]);
    assert!(!out.status.success());
    let err = common::stderr(&out);
    assert!(
        err.contains("Error: test_many exited with code 1: TestMany.test_15"),
        "{err}"
    );
    let rec = record(&c);
    assert_eq!(rec["verdict"], "failed", "{rec:#}");
    assert_eq!(rec["runs"], 3);
    assert_eq!(rec["failed_tests"][0]["test"], "TestMany.test_15");
    assert_eq!(
        counter(&c),
        9,
        "three processes of three in-process attempts"
    );
    assert!(
        !ran(&c).contains_key("test_16"),
        "without --continue-through-error the file stops"
    );
}

#[test]
fn with_continue_through_error_the_rest_of_the_file_runs_and_the_case_still_fails() {
    let c = checkout("self.fail('always fails')");
    let out = run(&c, &[("CONTINUE_THROUGH_ERROR", "1")]);
    assert!(!out.status.success());
    let rec = record(&c);
    assert_eq!(rec["verdict"], "failed", "{rec:#}");
    let ran = ran(&c);
    assert_eq!(ran.len(), 30, "{ran:?}");
    assert_eq!(ran["test_29"], 1);
}

#[test]
fn a_segfault_mid_file_is_pinned_on_its_test_and_the_rest_runs() {
    let c = checkout("os.kill(os.getpid(), signal.SIGSEGV)");
    let out = run(&c, &[("CONTINUE_THROUGH_ERROR", "1")]);
    assert!(!out.status.success());
    let err = common::stderr(&out);
    assert!(err.contains("crashed with SIGSEGV"), "{err}");
    let rec = record(&c);
    assert_eq!(rec["verdict"], "crashed");
    assert_eq!(
        rec["failed_tests"][0]["test"], "TestMany.test_15",
        "{rec:#}"
    );
    let ran = ran(&c);
    assert_eq!(
        ran.len(),
        29,
        "every test but the crashing one finished: {ran:?}"
    );
    assert!(ran.values().all(|n| *n == 1), "{ran:?}");
}
