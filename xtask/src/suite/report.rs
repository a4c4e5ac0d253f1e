//! `cargo xtask report [RUN]` and `cargo xtask times update [RUN]`: what a run did, from
//! the per-case records and the XML the tests wrote, in the shape PyTorch's
//! upload_test_stats computes; and the measured times, folded back for the planner.

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use torch_harness::report::junit::{self, Outcome};
use torch_harness::report::record::{RECORD_FILE, Record};
use torch_harness::report::started::started_at;
use torch_harness::report::verdict::Verdict;
use torch_harness::settings::Settings;

mod bound;
mod timeline;
mod union;

#[derive(Args)]
pub struct ReportArgs {
    /// Run ids or folders (default: this checkout's latest run, under
    /// target/torch-harness/runs/<checkout>/); with --plan, every shard's run.
    #[arg(value_name = "RUN")]
    runs: Vec<String>,
    /// The plan file the shards ran (`cargo xtask plan --json`): fail unless every planned
    /// case ran exactly once among the RUN folders, on its shard, under this plan.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Where to write the timeline page (default: timeline.html in the run folder; for
    /// several runs, target/torch-harness/timeline.html).
    #[arg(long, value_name = "FILE")]
    timeline: Option<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// nextest's JUnit for the run (default: target/nextest/ci/junit.xml when its run id matches).
    #[arg(long)]
    junit: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize)]
pub struct Counts {
    pub tests: usize,
    pub failures: usize,
    pub errors: usize,
    pub skipped: usize,
    pub successes: usize,
    pub time: f64,
}

#[derive(Debug, Serialize)]
pub struct Group {
    pub file: String,
    pub classname: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Serialize)]
pub struct FailedRun {
    pub case: String,
    pub test: String,
    /// failure, error or rerun.
    pub kind: &'static str,
    pub message: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CaseLine {
    pub case: String,
    pub verdict: String,
    pub wall_seconds: f64,
    pub repro: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub run: String,
    pub run_dir: PathBuf,
    pub cases: usize,
    pub totals: Counts,
    pub by_file: Vec<Group>,
    pub failed_test_runs: Vec<FailedRun>,
    pub flaky_tests: Vec<(String, String)>,
    pub failed_cases: Vec<CaseLine>,
    pub slowest_cases: Vec<CaseLine>,
    /// Cases nextest ran that left no record: lost results.
    pub missing_records: Vec<String>,
    /// Cases whose nextest verdict and record disagree.
    pub junit_mismatches: Vec<String>,
    /// Reports that could not be read.
    pub unreadable: Vec<String>,
    /// The run's disabled and slow lists: where they came from, and their warnings.
    pub lists: Option<torch_harness::lists::Imported>,
    /// In rerun-disabled-tests mode: how each disabled test did.
    pub rerun_disabled: Option<crate::plumbing::reenable::Rerun>,
    /// Under --coverage: the combined report's TOTAL line and where it is.
    pub coverage: Option<String>,
}

pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let root = crate::plumbing::workspace::root();
    let target = crate::plumbing::workspace::target_dir(&root)?;
    let mut settings = Settings::from_env();
    settings.target_dir = target.clone();
    let run_dirs: Vec<PathBuf> = match args.runs.as_slice() {
        [] => vec![run_dir(&settings, None)?],
        runs => runs
            .iter()
            .map(|r| run_dir(&settings, Some(r)))
            .collect::<Result<_>>()?,
    };
    // An explicit --junit must be nextest's JUnit of one of these runs; the default one
    // is checked only when it is.
    if let Some(path) = &args.junit {
        given_junit(path, &run_dirs)?;
    }
    let junit = args
        .junit
        .clone()
        .unwrap_or_else(|| target.join("nextest/ci/junit.xml"));
    let mut reports = Vec::new();
    let mut lost = false;
    for run_dir in &run_dirs {
        let report = build(run_dir, Some(&junit))?;
        print_human(&report);
        // A lost result fails the report: a case without a record, a verdict nextest
        // disagrees with, or a report whose tests the totals could not count.
        lost |= !report.missing_records.is_empty()
            || !report.junit_mismatches.is_empty()
            || !report.unreadable.is_empty();
        reports.push(report);
    }
    if let Some(path) = &args.json {
        let json = match reports.as_slice() {
            [one] => serde_json::to_vec_pretty(one)?,
            all => serde_json::to_vec_pretty(all)?,
        };
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    let plan = args
        .plan
        .as_deref()
        .map(torch_harness::plan::document::PlanDocument::read)
        .transpose()?;
    if let Some(plan) = &plan {
        let runs = run_dirs
            .iter()
            .map(|dir| {
                Ok(union::ShardRun {
                    dir: dir.clone(),
                    records: records(dir)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let union = union::check(plan, &runs);
        union::print(plan, &union);
        lost |= !union.is_whole();
    }
    let timeline = args
        .timeline
        .clone()
        .unwrap_or_else(|| match run_dirs.as_slice() {
            [one] => one.join("timeline.html"),
            _ => target.join("torch-harness/timeline.html"),
        });
    let shards = timeline::write(&run_dirs, plan.as_ref(), &timeline)?;
    // Against the rules' bound: how much of the wall the run-alone rules explain.
    for shard in &shards {
        println!("slots of {}: {}", shard.label, shard.summary());
    }
    println!("timeline: {}", timeline.display());
    Ok(if lost {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `RUN` as a folder, a run id, or the newest run of the checkout `settings` name: the
/// one that started last (a folder in which no case ran is no run).
pub fn run_dir(settings: &Settings, run: Option<&str>) -> Result<PathBuf> {
    let runs = settings.runs_dir();
    if let Some(run) = run {
        let as_path = PathBuf::from(run);
        for candidate in [as_path.clone(), runs.join(run)] {
            if candidate.is_dir() {
                return Ok(candidate);
            }
        }
        bail!(
            "no run `{run}`: not a folder, nor a run id under {}",
            runs.display()
        );
    }
    std::fs::read_dir(&runs)
        .with_context(|| {
            format!(
                "no runs of {} under {}: run `cargo xtask test` first",
                settings.root.display(),
                runs.display()
            )
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|path| path.is_dir())
        // By when each run started, as it recorded: a report written into an old run
        // later changes its folder, not its start.
        .filter_map(|path| Some((started_at(&path)?, path)))
        .max_by(|(a, _), (b, _)| a.total_cmp(b))
        .map(|(_, path)| path)
        .with_context(|| format!("no runs under {}", runs.display()))
}

/// Refuses a `--junit` file that cannot be used for `run_dirs`: missing, not XML, not a
/// JUnit report, or nextest's JUnit of another run.
fn given_junit(path: &Path, run_dirs: &[PathBuf]) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--junit {}: cannot read it", path.display()))?;
    junit::parse(&text)
        .map_err(|(at, e)| anyhow::anyhow!("--junit {}: byte {at}: {e}", path.display()))?;
    let ids: Vec<String> = run_dirs.iter().map(|d| run_id(d)).collect();
    if !ids
        .iter()
        .any(|id| text.contains(&format!("uuid=\"{id}\"")))
    {
        bail!(
            "--junit {}: not nextest's JUnit of {} (no uuid=\"<run id>\" of {}); give the JUnit              that run wrote, or leave --junit out",
            path.display(),
            if ids.len() == 1 {
                "this run"
            } else {
                "these runs"
            },
            ids.join(", ")
        );
    }
    Ok(())
}

/// nextest's id of the run in `run_dir`: what its start file records, else the folder's
/// name (`target/torch-harness/runs/<checkout>/<run id>`).
fn run_id(run_dir: &Path) -> String {
    torch_harness::report::started::run_id(run_dir).unwrap_or_else(|| {
        run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

/// The latest attempt's record of every case in `run_dir`.
pub fn records(run_dir: &Path) -> Result<Vec<Record>> {
    let mut latest: BTreeMap<String, Record> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(run_dir).min_depth(3).max_depth(3) {
        let Ok(entry) = entry else { continue };
        if entry.file_name() != RECORD_FILE {
            continue;
        }
        let record = Record::read(entry.path()).map_err(anyhow::Error::msg)?;
        match latest.get(&record.case) {
            Some(seen) if seen.attempt >= record.attempt => {}
            _ => {
                latest.insert(record.case.clone(), record);
            }
        }
    }
    Ok(latest.into_values().collect())
}

pub fn build(run_dir: &Path, junit_path: Option<&Path>) -> Result<Report> {
    let run = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let records = records(run_dir)?;
    let mut groups: BTreeMap<(String, String), Counts> = BTreeMap::new();
    let mut failed_test_runs = Vec::new();
    let mut unreadable = Vec::new();
    for record in &records {
        for path in &record.reports {
            let cases = match junit::read(path) {
                Ok(cases) => cases,
                Err(e) => {
                    unreadable.push(e.to_string());
                    continue;
                }
            };
            for case in cases {
                let file = case.file.clone().unwrap_or_else(|| record.case.clone());
                let counts = groups.entry((file, case.classname.clone())).or_default();
                counts.tests += 1;
                counts.time += case.time;
                match case.outcome {
                    Outcome::Passed => counts.successes += 1,
                    Outcome::Failed => counts.failures += 1,
                    Outcome::Error => counts.errors += 1,
                    Outcome::Skipped => counts.skipped += 1,
                }
                let failed_kind = match case.outcome {
                    Outcome::Failed => Some("failure"),
                    Outcome::Error => Some("error"),
                    _ => None,
                };
                if let Some(kind) = failed_kind {
                    failed_test_runs.push(FailedRun {
                        case: record.case.clone(),
                        test: case.id(),
                        kind,
                        message: case.message.clone(),
                    });
                }
                for message in &case.reruns {
                    failed_test_runs.push(FailedRun {
                        case: record.case.clone(),
                        test: case.id(),
                        kind: "rerun",
                        message: Some(message.clone()),
                    });
                }
            }
        }
    }
    let totals = groups.values().fold(Counts::default(), |mut t, c| {
        t.tests += c.tests;
        t.failures += c.failures;
        t.errors += c.errors;
        t.skipped += c.skipped;
        t.successes += c.successes;
        t.time += c.time;
        t
    });
    let line = |r: &Record| CaseLine {
        case: r.case.clone(),
        verdict: r.verdict.describe(),
        wall_seconds: r.wall_seconds,
        repro: r.repro.clone(),
    };
    let mut slowest: Vec<&Record> = records.iter().collect();
    slowest.sort_by(|a, b| b.wall_seconds.total_cmp(&a.wall_seconds));
    let (missing_records, junit_mismatches) = match junit_path {
        Some(path) => check_junit(path, &run_id(run_dir), &records)?,
        None => (Vec::new(), Vec::new()),
    };
    Ok(Report {
        run,
        run_dir: run_dir.to_path_buf(),
        cases: records.len(),
        totals,
        by_file: groups
            .into_iter()
            .map(|((file, classname), counts)| Group {
                file,
                classname,
                counts,
            })
            .collect(),
        failed_test_runs,
        flaky_tests: records
            .iter()
            .flat_map(|r| r.flaky_tests.iter().map(|t| (r.case.clone(), t.clone())))
            .collect(),
        failed_cases: records.iter().filter(|r| !passed(r)).map(line).collect(),
        slowest_cases: slowest.into_iter().take(10).map(line).collect(),
        missing_records,
        junit_mismatches,
        unreadable,
        lists: torch_harness::lists::read_resolved(run_dir),
        rerun_disabled: crate::plumbing::reenable::summarise(&records),
        coverage: coverage(run_dir),
    })
}

/// A run under coverage: its data combined (again, if xtask already did; nothing is
/// lost), so a plain `cargo nextest run` gets its one report here.
fn coverage(run_dir: &Path) -> Option<String> {
    if !torch_harness::mode::collected_coverage(run_dir) {
        return None;
    }
    Some(match torch_harness::mode::combine_coverage(run_dir) {
        Ok(c) => format!("{} (report: {})", c.total, c.report.display()),
        Err(e) => format!("not combined: {e}"),
    })
}

/// How nextest saw the case: a rerun of the disabled tests passes although disabled
/// tests failed again, as run_test.py's does.
fn passed(r: &Record) -> bool {
    r.verdict.is_pass() || (r.rerun_disabled && matches!(r.verdict, Verdict::Failed { .. }))
}

/// Compares nextest's JUnit for this run (matched by its run id) with the records:
/// every case nextest ran has a record, and both agree on pass or fail.
fn check_junit(path: &Path, run: &str, records: &[Record]) -> Result<(Vec<String>, Vec<String>)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok((Vec::new(), Vec::new()));
    };
    if !text.contains(&format!("uuid=\"{run}\"")) {
        return Ok((Vec::new(), Vec::new()));
    }
    let cases = junit::parse(&text)
        .map_err(|(at, e)| anyhow::anyhow!("{}: byte {at}: {e}", path.display()))?;
    let mut missing = Vec::new();
    let mut mismatched = Vec::new();
    for case in cases
        .iter()
        .filter(|c| c.classname.starts_with("torch-suite::"))
    {
        if case.outcome == Outcome::Skipped {
            continue;
        }
        match records.iter().find(|r| r.case == case.name) {
            None => missing.push(case.name.clone()),
            Some(record) => {
                let junit_passed = case.outcome == Outcome::Passed;
                if junit_passed != passed(record) {
                    mismatched.push(format!(
                        "{}: nextest says {}, the record says {}",
                        case.name,
                        if junit_passed { "passed" } else { "failed" },
                        record.verdict.describe()
                    ));
                }
            }
        }
    }
    Ok((missing, mismatched))
}

fn print_human(r: &Report) {
    let t = &r.totals;
    println!("run {} ({} cases)", r.run, r.cases);
    println!(
        "tests {}: {} passed, {} failed, {} errors, {} skipped, {:.1} s",
        t.tests, t.successes, t.failures, t.errors, t.skipped, t.time
    );
    if !r.unreadable.is_empty() {
        println!(
            "not counted: the tests of {} report(s) that cannot be read (UNREADABLE below)",
            r.unreadable.len()
        );
    }
    println!(
        "{:<48} {:<28} {:>5} {:>5} {:>5} {:>5} {:>8}",
        "file", "class", "tests", "fail", "err", "skip", "time s"
    );
    for g in &r.by_file {
        let c = &g.counts;
        println!(
            "{:<48} {:<28} {:>5} {:>5} {:>5} {:>5} {:>8.2}",
            g.file, g.classname, c.tests, c.failures, c.errors, c.skipped, c.time
        );
    }
    if !r.failed_cases.is_empty() {
        println!("failed cases:");
        for c in &r.failed_cases {
            println!("  {} — {}\n    repro: {}", c.case, c.verdict, c.repro);
        }
    }
    if !r.failed_test_runs.is_empty() {
        println!("failed test runs:");
        for f in &r.failed_test_runs {
            println!(
                "  [{}] {} {}: {}",
                f.kind,
                f.case,
                f.test,
                f.message.as_deref().unwrap_or("")
            );
        }
    }
    if !r.flaky_tests.is_empty() {
        println!("flaky tests:");
        for (case, test) in &r.flaky_tests {
            println!("  {case}: {test}");
        }
    }
    if let Some(lists) = &r.lists {
        for line in &lists.summary {
            println!("{line}");
        }
        for line in &lists.warnings {
            println!("LISTS WARNING: {line}");
        }
    }
    if let Some(rerun) = &r.rerun_disabled {
        crate::plumbing::reenable::print(rerun);
    }
    if let Some(coverage) = &r.coverage {
        println!("coverage: {coverage}");
    }
    println!("slowest cases:");
    for c in r.slowest_cases.iter().take(5) {
        println!("  {:>8.2} s  {}", c.wall_seconds, c.case);
    }
    for case in &r.missing_records {
        println!("NO RECORD: {case} ran under nextest but left no record");
    }
    for m in &r.junit_mismatches {
        println!("MISMATCH: {m}");
    }
    for u in &r.unreadable {
        println!("UNREADABLE: {u}");
    }
}
