//! From an attempt's runs and reports to its verdict and its failed and flaky tests.

use crate::launch::process::Ended;
use crate::launch::stepcurrent;
use crate::report::junit;
use crate::report::record::FailedTest;
use crate::report::verdict::Verdict;
use std::path::PathBuf;

pub(super) fn read_reports(reports: &[PathBuf]) -> Vec<junit::TestCase> {
    let mut all = Vec::new();
    for path in reports {
        match junit::read(path) {
            Ok(cases) => all.extend(cases),
            Err(e) => eprintln!("torch-harness: {e}"),
        }
    }
    all
}

/// `test/test_x.py::TestX::test_y` → `TestX.test_y`, as the XML names it.
fn test_id(nodeid: &str) -> String {
    match nodeid.split_once("::") {
        Some((_, rest)) => rest
            .rsplit("::")
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("."),
        None => nodeid.to_string(),
    }
}

pub(super) fn flaky_tests(file: &stepcurrent::FileRun, tests: &[junit::TestCase]) -> Vec<String> {
    let mut flaky: Vec<String> = file.flaky.iter().map(|t| test_id(t)).collect();
    flaky.extend(
        tests
            .iter()
            .filter(|t| !t.reruns.is_empty() && t.outcome == junit::Outcome::Passed)
            .map(junit::TestCase::id),
    );
    flaky.sort();
    flaky.dedup();
    // A test that failed in the end is not flaky.
    let failed: Vec<String> = file.consistent.iter().map(|t| test_id(t)).collect();
    flaky.retain(|t| !failed.contains(t));
    flaky
}

pub(super) fn failed_tests(
    file: &stepcurrent::FileRun,
    tests: &[junit::TestCase],
) -> Vec<FailedTest> {
    let mut failed: Vec<FailedTest> = Vec::new();
    for id in file.consistent.iter().map(|t| test_id(t)) {
        let message = tests
            .iter()
            .filter(|t| t.id() == id)
            .find_map(|t| t.message.clone());
        failed.push(FailedTest { test: id, message });
    }
    // Without the loop (unittest mode, --subprocess, gtest) the reports say what failed.
    if file.consistent.is_empty() {
        let flaky = flaky_tests(file, tests);
        for t in tests {
            let id = t.id();
            if matches!(t.outcome, junit::Outcome::Failed | junit::Outcome::Error)
                && !flaky.contains(&id)
                && !failed.iter().any(|f| f.test == id)
            {
                failed.push(FailedTest {
                    test: id,
                    message: t.message.clone(),
                });
            }
        }
    }
    failed
}

/// run_test.py's `run_ci_sanity_check`: `test_ci_sanity_check_fail` passes only when
/// it fails as intended, with exit code 1 (`if ret_code != 1: return 1`). Ok says so;
/// Err says what it did instead.
pub(super) fn intended_failure(verdict: &Verdict) -> Result<String, String> {
    match verdict {
        Verdict::Failed { exit_code: 1 } => Ok(
            "failed as it must (exit code 1): run_test.py's run_ci_sanity_check counts that a pass, and drops its XML"
                .into(),
        ),
        other => Err(format!(
            "this file must fail with exit code 1 (run_test.py's run_ci_sanity_check), but it {}",
            other.describe()
        )),
    }
}

pub(super) fn verdict_of(
    file: &stepcurrent::FileRun,
    tests: &[junit::TestCase],
    expected: Option<f64>,
) -> Verdict {
    // A consistent failure is explained by the last run that failed (a crash's
    // signal); otherwise the last run decides, and earlier failures were flaky.
    let (status, ended) = match (&file.consistent[..], file.worst) {
        ([_, ..], Some(worst)) => worst,
        _ => file.last,
    };
    let last = match ended {
        Some(Ended::TimedOut) => Verdict::TimedOut {
            after_seconds: file.wall.as_secs_f64(),
            expected_seconds: expected,
        },
        Some(Ended::Interrupted(signal)) => Verdict::Interrupted {
            signal: signal.as_str().to_string(),
        },
        None => Verdict::from_status(status),
    };
    if !file.consistent.is_empty() && last.is_pass() {
        // Kept going past a consistent failure: the case still fails.
        return Verdict::Failed { exit_code: 1 };
    }
    if !last.is_pass() {
        return last;
    }
    let flaky = flaky_tests(file, tests);
    if flaky.is_empty() {
        last
    } else {
        Verdict::Flaky { tests: flaky }
    }
}
