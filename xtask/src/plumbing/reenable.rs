//! A rerun of the disabled tests (`--rerun-disabled-tests`): how each disabled test did
//! over its many runs. One that passed every time is a candidate to re-enable.

use serde::Serialize;
use std::collections::BTreeMap;
use torch_harness::report::junit::{self, Outcome};
use torch_harness::report::record::Record;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RerunTest {
    pub case: String,
    /// `Class.test_name`.
    pub test: String,
    pub runs: usize,
    pub passed: usize,
    /// Failures and errors.
    pub failed: usize,
}

#[derive(Debug, Default, Serialize)]
pub struct Rerun {
    /// Passed in every run.
    pub candidates: Vec<RerunTest>,
    /// Failed at least once.
    pub still_failing: Vec<RerunTest>,
}

/// The disabled tests of the records that ran in rerun-disabled mode; `None` when none
/// did. Tests skipped in every run were not disabled here (common_utils skips the rest).
pub fn summarise(records: &[Record]) -> Option<Rerun> {
    let rerun: Vec<&Record> = records.iter().filter(|r| r.rerun_disabled).collect();
    if rerun.is_empty() {
        return None;
    }
    let mut tests: BTreeMap<(String, String), RerunTest> = BTreeMap::new();
    for record in rerun {
        for report in &record.reports {
            let Ok(cases) = junit::read(report) else {
                continue;
            };
            for case in cases.iter().filter(|c| c.outcome != Outcome::Skipped) {
                let id = case.id();
                let t = tests
                    .entry((record.case.clone(), id.clone()))
                    .or_insert_with(|| RerunTest {
                        case: record.case.clone(),
                        test: id,
                        runs: 0,
                        passed: 0,
                        failed: 0,
                    });
                t.runs += 1;
                match case.outcome {
                    Outcome::Passed => t.passed += 1,
                    _ => t.failed += 1,
                }
            }
        }
    }
    let (candidates, still_failing) = tests.into_values().partition(|t| t.failed == 0);
    Some(Rerun {
        candidates,
        still_failing,
    })
}

pub fn print(rerun: &Rerun) {
    println!("disabled tests rerun:");
    if rerun.candidates.is_empty() {
        println!("  none passed every run");
    }
    for t in &rerun.candidates {
        println!(
            "  re-enable candidate: {} {} (passed {} of {} runs)",
            t.case, t.test, t.passed, t.runs
        );
    }
    for t in &rerun.still_failing {
        println!(
            "  still failing: {} {} (failed {} of {} runs)",
            t.case, t.test, t.failed, t.runs
        );
    }
}
