//! One attempt of a case: refuse a retry that could hide a real failure, run its phases
//! (`phases`: under the run lock, with devices, through the stepcurrent loop), write its
//! record, and turn its verdict into libtest's result.

use super::attempt::Attempt;
use super::judge::{failed_tests, flaky_tests, intended_failure, read_reports, verdict_of};
use super::phases::run_phases;
use super::{Context, failure};
use crate::launch::process::Limits;
use crate::launch::{self, RunContext, mem_leak, stepcurrent};
use crate::report::record::{self, Record};
use crate::report::verdict::Verdict;
use libtest_mimic::Failed;
use std::time::Duration;

/// Runs an attempt, writes its record and says how it went.
pub(super) fn execute(cx: &Context, ctx: &RunContext, attempt: Attempt<'_>) -> Result<(), Failed> {
    let launch = attempt.launch;
    let name = &launch.case;
    let fail = |what: String| failure(name, what);
    refuse_retry(cx, ctx, name, attempt.never_retried).map_err(fail)?;
    // One case at a time on the machine under the CUDA memory-leak check.
    let _alone = if crate::mode::RunMode::mem_leak_on(&ctx.config) {
        let locks = cx.settings.target_dir.join("torch-harness/locks");
        Some(mem_leak::hold(&locks).map_err(|e| {
            fail(format!(
                "cannot take the one-case-at-a-time lock in {}: {e}",
                locks.display()
            ))
        })?)
    } else {
        None
    };
    // The run's start, for "the newest run" (`cargo xtask report` without RUN).
    let run_id = std::env::var("NEXTEST_RUN_ID").ok();
    if let Err(e) = crate::report::started::mark(
        &cx.settings.out_dir,
        run_id.as_deref(),
        std::time::SystemTime::now(),
    ) {
        eprintln!(
            "torch-harness: cannot record the run's start in {}: {e}",
            cx.settings.out_dir.display()
        );
    }
    // A leftover folder from an earlier run with the same output folder is replaced.
    let _ = std::fs::remove_dir_all(&launch.dir);
    let options = stepcurrent::Options {
        retries: attempt.retries,
        keep_going: std::env::var("CONTINUE_THROUGH_ERROR")
            .is_ok_and(|v| !matches!(v.to_lowercase().as_str(), "" | "0" | "false" | "off")),
        cache: cx.settings.root.join(".pytest_cache/v/cache/stepcurrent"),
        limits: Limits {
            timeout: attempt.timeout,
            grace: Duration::from_secs_f64(cx.policy.timeouts.grace_seconds.max(0.0)),
        },
    };
    let ran = run_phases(cx, &attempt, &options).map_err(fail)?;
    // The timeline's span starts when the attempt got the run, not while it waited.
    let span = record::Span::between(ran.started, std::time::SystemTime::now());
    let held = ran.held;
    let file = ran.file;
    if file.leftovers > 0 {
        eprintln!(
            "torch-harness: {name}: ended {} process(es) it left behind",
            file.leftovers
        );
    }
    let mut reports = record::xml_reports(&launch.dir.join("test-reports"));
    let tests = read_reports(&reports);
    let mut verdict = verdict_of(&file, &tests, attempt.expected);
    let mut failed = failed_tests(&file, &tests);
    let mut note = file.note.clone();
    if attempt.must_fail {
        match intended_failure(&verdict) {
            Ok(said) => {
                // run_test.py deletes the file's XML, so the intended failure counts
                // nowhere (dashboards, `cargo xtask report`).
                let _ = std::fs::remove_dir_all(launch.dir.join("test-reports"));
                reports.clear();
                failed.clear();
                note = Some(said);
                verdict = Verdict::Passed;
            }
            Err(said) => {
                note = Some(said);
                if verdict.is_pass() {
                    verdict = Verdict::Failed { exit_code: 0 };
                }
            }
        }
    }
    let record = Record {
        case: name.clone(),
        times_key: attempt.times_key.clone(),
        attempt: ctx.attempt,
        failed_tests: failed,
        flaky_tests: match &verdict {
            Verdict::Flaky { tests } => tests.clone(),
            _ => flaky_tests(&file, &tests),
        },
        verdict,
        wall_seconds: file.wall.as_secs_f64(),
        runs: file.runs.len(),
        waited_seconds: ran.waited.as_secs_f64(),
        command: ran.commands.join(" ; "),
        env: ran.env.into_iter().collect(),
        cwd: launch.cwd.clone(),
        devices: ran.devices,
        log: launch.log_path(),
        reports,
        note,
        repro: super::repro::repro(cx, name),
        plan: crate::plan::document::mark_from_env(),
        span: Some(span),
        rerun_disabled: ctx.rerun_disabled,
        held: Some(held),
    };
    if let Err(e) = record.write(&launch.dir) {
        eprintln!("torch-harness: cannot write the record of {name}: {e}");
    }
    let flaky_fails = std::env::var("NEXTEST_FLAKY_RESULT").is_ok_and(|v| v == "fail");
    match &record.verdict {
        Verdict::Flaky { tests } if !flaky_fails => {
            eprintln!("torch-harness: {name}: flaky tests: {}", tests.join(", "));
            Ok(())
        }
        v if v.is_pass() && !matches!(v, Verdict::Flaky { .. }) => Ok(()),
        // As run_test.py, a disabled test that still fails does not fail a rerun of the
        // disabled tests: the run is there to find the ones that pass (the report).
        Verdict::Failed { .. } if ctx.rerun_disabled => {
            eprintln!("torch-harness: {name}: disabled tests failed again (see the report)");
            Ok(())
        }
        v => {
            let failed: Vec<String> = record
                .failed_tests
                .iter()
                .map(|t| match &t.message {
                    Some(m) => format!("{} ({m})", t.test),
                    None => t.test.clone(),
                })
                .collect();
            let mut what = if failed.is_empty() {
                v.describe()
            } else {
                format!("{}: {}", v.describe(), failed.join("; "))
            };
            let told = |n: &&str| n.starts_with("set-up") || attempt.must_fail;
            if let Some(note) = record.note.as_deref().filter(told) {
                what = format!("{what}; {note}");
            }
            Err(fail(format!(
                "{what} (log: {})",
                launch.log_path().display()
            )))
        }
    }
}

/// A nextest retry (forced with `--retries`; the ci profile has none) is for a harness
/// or machine fault: it runs only when no earlier attempt left a record. Whatever an
/// attempt recorded stands (a failure, a crash, a timeout), so a rerun can never turn
/// a real failure green; and `never_retried` cases refuse every later attempt.
fn refuse_retry(
    cx: &Context,
    ctx: &RunContext,
    name: &str,
    never_retried: bool,
) -> Result<(), String> {
    if ctx.attempt <= 1 {
        return Ok(());
    }
    if never_retried {
        return Err(format!(
            "is never retried: attempt {} refused, the first attempt's result stands",
            ctx.attempt
        ));
    }
    // A refused attempt writes no record, so look past it to the last one that ran.
    let recorded = (1..ctx.attempt).rev().find_map(|n| {
        let path = launch::attempt_dir(&cx.settings.out_dir, name, n).join(record::RECORD_FILE);
        Record::read(&path).ok()
    });
    match recorded {
        Some(record) => Err(format!(
            "attempt {} not run: attempt {} {}; a rerun must not turn that green",
            ctx.attempt,
            record.attempt,
            record.verdict.describe()
        )),
        // No record: the harness itself or the machine died. Worth another try.
        None => Ok(()),
    }
}
