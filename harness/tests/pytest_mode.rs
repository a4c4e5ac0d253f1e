//! pytest mode against the demo checkout, with the demo's Python environment
//! (`cargo xtask setup` creates it; `cargo xtask check` runs setup first).

mod common;

use common::{demo_python, workspace};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn run_demo(case: &str, out: &Path) -> std::process::Output {
    common::harness_command()
        .args(["python", case, "--exact", "--nocapture"])
        .env("PYTORCH_ROOT", workspace().join("demo"))
        .env("PYTHON", demo_python())
        .env("TORCH_HARNESS_OUT", out)
        .env("NEXTEST", "1")
        .output()
        .unwrap()
}

/// The node ids a piece ran, from the `Running N items in this shard: …` line.
fn items(log: &str) -> Vec<String> {
    let line = log
        .lines()
        .find(|l| l.starts_with("Running ") && l.contains("items in this shard"))
        .unwrap_or_else(|| panic!("no item line in:\n{log}"));
    line.split_once(": ")
        .map(|(_, ids)| ids.split(", ").map(String::from).collect())
        .unwrap_or_default()
}

fn testcases(xml: &Path) -> usize {
    std::fs::read_to_string(xml)
        .unwrap()
        .matches("<testcase ")
        .count()
}

#[test]
fn pieces_split_a_file_without_overlap_and_write_pytorch_layout_reports() {
    let out = tempfile::tempdir().unwrap();
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for k in 1..=3 {
        let case = format!("test_ops::shard_{k}_of_3");
        let run = run_demo(&case, out.path());
        assert!(run.status.success(), "{}", common::stderr(&run));
        let dir = out
            .path()
            .join(format!("test_ops.shard_{k}_of_3/attempt-1"));
        let log = std::fs::read_to_string(dir.join("output.log")).unwrap();
        assert!(
            log.contains("--use-pytest"),
            "pytest mode was chosen: {log}"
        );
        let ran = items(&log);
        total += ran.len();
        seen.extend(ran.iter().cloned());
        let reports: Vec<PathBuf> =
            std::fs::read_dir(dir.join("test-reports/python-pytest/test_ops"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
        assert_eq!(reports.len(), 1, "{reports:?}");
        let name = reports[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with("test_ops-") && name.ends_with(".xml"),
            "{name}"
        );
        assert_eq!(testcases(&reports[0]), ran.len());
    }
    // demo/test/test_ops.py generates 4 ops x 5 inputs.
    assert_eq!(seen.len(), 20);
    assert_eq!(total, 20, "a test ran in two pieces");
}

#[test]
fn subprocess_handler_files_run_each_test_in_its_own_interpreter() {
    let out = tempfile::tempdir().unwrap();
    let run = run_demo("distributed::test_c10d_common", out.path());
    assert!(run.status.success(), "{}", common::stderr(&run));
    let dir = out.path().join("distributed.test_c10d_common/attempt-1");
    let log = std::fs::read_to_string(dir.join("output.log")).unwrap();
    assert!(log.contains("--subprocess"), "{log}");
    let reports = dir.join("test-reports/python-pytest/distributed.test_c10d_common");
    // One report per test, each from its own process.
    assert_eq!(std::fs::read_dir(reports).unwrap().count(), 2);
}

#[test]
fn the_probe_tells_pytest_environments_apart() {
    let cache = tempfile::tempdir().unwrap();
    let venv = torch_harness::discover::probe::python_env(&demo_python(), cache.path()).unwrap();
    assert!(venv.pytest && venv.rerunfailures, "{venv:?}");
    // A second call is served from the cache and agrees.
    assert_eq!(
        torch_harness::discover::probe::python_env(&demo_python(), cache.path()).unwrap(),
        venv
    );
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1);
}

#[test]
fn a_test_that_passes_on_rerun_gets_a_rerun_element_in_its_report() {
    let demo = workspace().join("demo");
    let state = tempfile::tempdir().unwrap();
    let flaky = format!(
        r#"import os
from demo_testing import TestCase, run_tests
STATE = {state:?}
class TestFlaky(TestCase):
    def test_steady(self):
        self.assertTrue(True)
    def test_flaky(self):
        n = int(open(STATE).read()) if os.path.exists(STATE) else 0
        open(STATE, "w").write(str(n + 1))
        self.assertGreater(n, 0, "fails on the first attempt")
if __name__ == "__main__":
    run_tests()
"#,
        state = state.path().join("count").display().to_string()
    );
    let conftest = std::fs::read_to_string(demo.join("test/conftest.py")).unwrap();
    let ini = std::fs::read_to_string(demo.join("pytest.ini")).unwrap();
    let overlay = std::fs::read_to_string(demo.join("torch-harness.toml")).unwrap();
    let checkout = common::Checkout::new(&[
        ("test/conftest.py", &conftest),
        ("pytest.ini", &ini),
        ("torch-harness.toml", &overlay),
        ("test/test_flaky.py", &flaky),
    ]);
    std::os::unix::fs::symlink(demo.join("python"), checkout.root().join("python")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = common::harness_command()
        .args(["python", "test_flaky", "--exact"])
        .env("PYTORCH_ROOT", checkout.root())
        .env("PYTHON", demo_python())
        .env("TORCH_HARNESS_OUT", out.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", common::stderr(&run));
    let reports = out
        .path()
        .join("test_flaky/attempt-1/test-reports/python-pytest/test_flaky");
    let xml = std::fs::read_dir(&reports)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let xml = std::fs::read_to_string(xml).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
    assert_eq!(xml.matches("<rerun message=").count(), 1, "{xml}");
    assert!(xml.contains("fails on the first attempt"), "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
}
