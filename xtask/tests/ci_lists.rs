//! `cargo xtask test` in CI mode and its run modes, end to end on a checkout written
//! here (demo_testing stands in for common_utils): the disabled list resolved before
//! nextest from a loopback server, a rerun of the disabled tests and the report's
//! re-enable candidates, and coverage combined at the end of the run.

mod common;

use common::loopback::Served;
use common::{check, clean, workspace};
use std::path::Path;
use std::process::{Command, Output};

const TEST_FILE: &str = r#"
import torch
from demo_testing import TestCase, run_tests

_calls = {"flaky": 0}


class TestLists(TestCase):
    def test_here(self):
        self.assertEqual(torch.double(2), 4)

    def test_flaky_here(self):
        _calls["flaky"] += 1
        self.assertEqual(_calls["flaky"] % 2, 1, "fails every second run")

    def test_elsewhere(self):
        pass

    def test_back(self):
        pass


if __name__ == "__main__":
    run_tests()
"#;

/// A stand-in package named `torch`, since coverage measures `--source=torch`.
const FAKE_TORCH: &str = "def double(x):\n    return 2 * x\n\n\ndef unused():\n    return 0\n";

const CONDENSED: &str = r#"{
  "test_here (__main__.TestLists)": ["401", "https://github.com/pytorch/pytorch/issues/401", ["linux"]],
  "test_flaky_here (__main__.TestLists)": ["402", "https://github.com/pytorch/pytorch/issues/402", []],
  "test_elsewhere (__main__.TestLists)": ["403", "https://github.com/pytorch/pytorch/issues/403", ["win"]],
  "test_back (__main__.TestLists)": ["404", "https://github.com/pytorch/pytorch/issues/404", []]
}"#;

fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ini = std::fs::read_to_string(workspace().join("demo/pytest.ini")).unwrap();
    for (path, text) in [
        ("pytest.ini", ini.as_str()),
        (
            "test/conftest.py",
            "from demo_testing.pytest_plugins import *  # noqa: F401,F403\n",
        ),
        ("test/test_lists.py", TEST_FILE),
        ("python/torch/__init__.py", FAKE_TORCH),
    ] {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn xtask(root: &Path, out: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let python = common::demo_python();
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(args)
        .env("PYTORCH_ROOT", root)
        .env("PYTHON", python)
        .env(
            "PYTHONPATH",
            format!(
                "{}:{}",
                root.join("python").display(),
                workspace().join("demo/python").display()
            ),
        )
        .env("TORCH_HARNESS_OUT", out)
        .envs(vars.iter().copied());
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_rerun_of_the_disabled_tests_reports_the_ones_to_re_enable() {
    let served = Served::new(CONDENSED);
    let root = checkout();
    let out = tempfile::tempdir().unwrap();
    let run = xtask(
        root.path(),
        out.path(),
        &["test", "--rerun-disabled-tests", "-i", "test_lists"],
        &[
            ("TORCH_HARNESS_DISABLED_TESTS", &served.url),
            ("REENABLED_ISSUES", "404"),
        ],
    );
    check(&run);
    assert!(
        stderr(&run).contains(&format!(
            "disabled tests: 4 listed by {} (downloaded, attempt 1), 1 re-enabled by REENABLED_ISSUES, 2 disabled on this platform (linux)",
            served.url
        )),
        "{}",
        stderr(&run)
    );
    assert_eq!(served.hits(), 1);
    let report = xtask(
        root.path(),
        out.path(),
        &["report", out.path().to_str().unwrap()],
        &[],
    );
    check(&report);
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(
        text.contains("re-enable candidate: test_lists TestLists.test_here (passed 50 of 50 runs)"),
        "{text}"
    );
    assert!(
        text.contains("still failing: test_lists TestLists.test_flaky_here (failed 25 of 50 runs)"),
        "{text}"
    );
    assert!(!text.contains("test_elsewhere ("), "{text}");
}

#[test]
fn coverage_is_combined_into_one_report_at_the_end_of_the_run() {
    let root = checkout();
    let out = tempfile::tempdir().unwrap();
    let run = xtask(
        root.path(),
        out.path(),
        &["test", "--coverage", "-i", "test_lists"],
        &[],
    );
    check(&run);
    let err = stderr(&run);
    let line = err
        .lines()
        .find(|l| l.starts_with("coverage: "))
        .unwrap_or_else(|| panic!("{err}"));
    // test_lists imported the stand-in torch: its 2 defs and double's body ran, 1 of 5
    // statements (unused's body) did not.
    assert!(line.contains("1 data files combined"), "{line}");
    let report = std::fs::read_to_string(out.path().join("coverage/report.txt")).unwrap();
    let row = report
        .lines()
        .find(|l| l.contains("torch/__init__.py"))
        .unwrap_or_else(|| panic!("{report}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[1..], ["4", "1", "75%"], "{row}");
}
