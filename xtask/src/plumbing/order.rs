//! Which selected cases start first, and which `--enable-td` keeps. The start order
//! is in tiers (`Holds`): what runs alone first, one after another, then the
//! `@serialTest` files, then the cases that share the machine, so no slot waits behind
//! a case that needs every slot. Inside each tier: cases that failed in the previous
//! run, then run_test.py's target-determination order
//! (`.additional_ci_files/td_results.json`), then the rest longest first.
//!
//! nextest starts higher priorities first, so the order reaches it as priorities in
//! the tool config xtask writes (`priorities`, one range per tier).

use crate::plumbing::selection::Resolved;
use anyhow::{Context, Result};
use clap::Args;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use torch_harness::plan::td::{Prioritizations, TD_PERCENT, TestRun, write_exclusions};
use torch_harness::report::record::{RECORD_FILE, Record};

#[derive(Args, Clone, Default)]
pub struct OrderArgs {
    /// Run only the top 25% of the selection by target-determination score
    /// (`.additional_ci_files/td_results.json`), as run_test.py's `--enable-td`. On by
    /// default where run_test.py turns it on: CI, a pull request (PR_NUMBER or a ciflow
    /// tag), the trunk or pull workflow, not NO_TD=1, not an XPU or ONNX build.
    #[arg(long)]
    pub enable_td: bool,
    /// Do not start the cases that failed in the previous run first.
    #[arg(long)]
    pub no_failed_first: bool,
    /// Run only the tests for the working tree's change against BASE (default: the
    /// merge base with origin/main), edited test files first; `--dry-run` says why
    /// each was chosen.
    #[arg(long, num_args = 0..=1, value_name = "BASE")]
    pub changed: Option<Option<String>>,
}

/// What target determination made of the selection.
pub struct Td {
    /// The selected runs, best first, with their scores.
    pub ranked: Vec<(TestRun, f64)>,
    /// The runs that run, and the runs left out (`--enable-td`; empty otherwise).
    pub included: Vec<TestRun>,
    pub excluded: Vec<TestRun>,
    pub enabled: bool,
    /// The `td_exclusions-<hex>.json` written in CI.
    pub exclusions_file: Option<PathBuf>,
}

/// Each selected case with the TestRun target determination scores it as: a Python
/// file or class run, a distributed file (all its configurations), `cpp/<binary>`.
pub fn case_runs(resolved: &Resolved) -> Vec<(String, TestRun)> {
    let python = resolved.selected.iter().map(|d| {
        let run = TestRun {
            file: d.case.module.as_str().to_string(),
            classes: d.case.classes.clone(),
        };
        (d.case.name(), run)
    });
    // A distributed configuration of a class run is that class run, per backend.
    let distributed = resolved.distributed.iter().map(|d| {
        let run = TestRun {
            file: d.case.module.as_str().to_string(),
            classes: d.case.classes.clone(),
        };
        (d.case.name(), run)
    });
    let cpp = resolved.cpp.iter().map(|d| {
        let file = format!("cpp/{}", d.case.binary);
        (d.case.name(), TestRun::whole(&file))
    });
    python.chain(distributed).chain(cpp).collect()
}

/// Whether `--enable-td` holds: the flag, or run_test.py's default for this job
/// (`td_default`), said on stderr when it is the default that turns it on.
pub fn td_enabled(flag: bool) -> bool {
    if flag {
        return true;
    }
    match crate::plumbing::td_default::reason(|name| std::env::var(name).ok()) {
        Some(why) => {
            eprintln!(
                "--enable-td is on by default here ({why}), as in run_test.py; NO_TD=1 turns it off"
            );
            true
        }
        None => false,
    }
}

/// What the TD results do to a selection.
#[derive(Debug, Clone, Copy)]
pub struct TdUse {
    /// Keep only the top runs (`--enable-td`).
    pub cut: bool,
    /// In CI, write run_test.py's `td_exclusions-<hex>.json`: the job that runs the
    /// cases does; a plan made for other machines and a shard of it do not.
    pub exclusions: bool,
}

/// Reads the checkout's TD results and applies them to the selection: with `cut`,
/// only the top runs stay selected (and the filterset says so).
pub fn apply_td(resolved: &mut Resolved, using: TdUse) -> Result<Option<Td>> {
    let enable = using.cut;
    let Some(mut td) = Prioritizations::load(&resolved.settings.root)? else {
        if enable {
            eprintln!(
                "--enable-td: {} has no {}; running every selected case",
                resolved.settings.root.display(),
                torch_harness::plan::td::RESULTS_FILE
            );
        }
        return Ok(None);
    };
    // run_test.py turns TD off when the results rank nothing.
    let enabled = enable && !td.is_empty();
    let runs = case_runs(resolved);
    let files: Vec<String> = runs
        .iter()
        .map(|(_, r)| r.file.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    td.amend(&files);
    let percent = if enabled { TD_PERCENT } else { 100 };
    let (included, excluded) = td.top_percent(percent);
    if enabled {
        let keep: BTreeSet<String> = runs
            .iter()
            .filter(|(_, run)| covered(run, &included))
            .map(|(name, _)| name.clone())
            .collect();
        resolved.keep_only(&keep);
    }
    let exclusions_file =
        if using.exclusions && std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            let path = write_exclusions(&resolved.settings.root, &included, &excluded)
                .context("cannot write the TD exclusions file")?;
            Some(path)
        } else {
            None
        };
    Ok(Some(Td {
        ranked: td.ordered(),
        included,
        excluded: if enabled { excluded } else { Vec::new() },
        enabled,
        exclusions_file,
    }))
}

/// Whether `run` is one of `runs`, or (a whole distributed or C++ file) shares a file
/// with one of them.
fn covered(run: &TestRun, runs: &[TestRun]) -> bool {
    runs.iter()
        .any(|r| r == run || (run.classes.is_none() && r.file == run.file))
}

/// The selected cases that target determination moves: those with a positive score
/// (to start first) and those with a negative one (to start last), each best first.
/// A case's rank is its run's (a case whose run is not ranked by itself takes its
/// file's best rank). Cases scoring 0 keep the time order in between.
pub fn td_order(resolved: &Resolved, td: &Td) -> (Vec<String>, Vec<String>) {
    let rank: BTreeMap<&TestRun, (usize, f64)> = td
        .ranked
        .iter()
        .enumerate()
        .map(|(i, (run, score))| (run, (i, *score)))
        .collect();
    let mut cases: Vec<((usize, f64), String)> = case_runs(resolved)
        .into_iter()
        .filter_map(|(name, run)| {
            let exact = rank.get(&run).copied();
            let by_file = || {
                rank.iter()
                    .filter(|(r, _)| r.file == run.file && run.classes.is_none())
                    .map(|(_, at)| *at)
                    .min_by_key(|(i, _)| *i)
            };
            Some((exact.or_else(by_file)?, name))
        })
        .collect();
    cases.sort_by_key(|((i, _), name)| (*i, name.clone()));
    let pick = |keep: fn(f64) -> bool| {
        cases
            .iter()
            .filter(|((_, score), _)| keep(*score))
            .map(|(_, name)| name.clone())
            .collect()
    };
    (pick(|s| s > 0.0), pick(|s| s < 0.0))
}

/// The cases whose last attempt failed in the previous run: the records under
/// `TORCH_HARNESS_OUT` when it is set, else under the checkout's newest run folder.
pub fn previous_failures(settings: &torch_harness::settings::Settings) -> Vec<String> {
    let dir = match std::env::var_os(torch_harness::settings::var::OUT).filter(|v| !v.is_empty()) {
        Some(out) => PathBuf::from(out),
        None => match crate::suite::report::run_dir(settings, None) {
            Ok(dir) => dir,
            Err(_) => return Vec::new(),
        },
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut failed = BTreeSet::new();
    for case_dir in entries.filter_map(Result::ok).map(|e| e.path()) {
        let last = (1..)
            .map(|n| case_dir.join(format!("attempt-{n}")).join(RECORD_FILE))
            .take_while(|p| p.is_file())
            .last();
        if let Some(record) = last.and_then(|p| Record::read(&p).ok())
            && !record.verdict.is_pass()
        {
            failed.insert(record.case);
        }
    }
    failed.into_iter().collect()
}

/// How a case holds the machine, which decides when it can start without leaving
/// slots idle: nextest starts no later case ahead of one that waits for slots, and the
/// run lock makes a case that runs alone wait for every case beside it to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holds {
    /// Alone throughout: run_test.py's serial files, distributed files.
    Alone,
    /// A file with `@serialTest` tests: those run alone, the rest beside other cases.
    AlonePhase,
    /// Beside other cases.
    Shared,
}

/// The order the cases start in, in three tiers, as run_test.py runs a shard: what
/// runs alone first, one after another, while nothing else runs; then the files with
/// `@serialTest` tests, whose marked tests take the machine in turn while the parallel
/// cases that start beside them wait at their gates (`run_lock::FIRST_VAR`), so that
/// the rest of those files runs beside the parallel cases. Within a tier: `first` in
/// its order (failed in the previous run, target determination's best), then longer
/// cases first, then `last` in its order.
pub fn start_order(
    cases: &[String],
    holds: &dyn Fn(&str) -> Holds,
    seconds: &dyn Fn(&str) -> Option<f64>,
    first: &[String],
    last: &[String],
) -> Vec<(Holds, Vec<String>)> {
    let mut tiers: BTreeMap<Holds, Vec<&String>> = BTreeMap::new();
    for case in cases {
        tiers.entry(holds(case)).or_default().push(case);
    }
    let rank = |list: &[String], case: &String| list.iter().position(|c| c == case);
    tiers
        .into_iter()
        .map(|(tier, mut cases)| {
            // Unknown times after known ones; equal times by name.
            cases.sort_by(|a, b| {
                let key = |c: &String| (rank(first, c).is_none(), rank(last, c).is_some());
                key(a)
                    .cmp(&key(b))
                    .then_with(|| rank(first, a).cmp(&rank(first, b)))
                    .then_with(|| rank(last, a).cmp(&rank(last, b)))
                    .then_with(|| match (seconds(a), seconds(b)) {
                        (Some(x), Some(y)) => y.total_cmp(&x),
                        (x, y) => y.is_some().cmp(&x.is_some()),
                    })
                    .then_with(|| a.cmp(b))
            });
            (tier, cases.into_iter().cloned().collect())
        })
        .collect()
}

/// nextest's priorities (100 down to -100) for cases in start order, tier by tier: each
/// tier gets its own band, so no case of a later tier ties with one of an earlier tier;
/// within a band, neighbours share a priority when there are more cases than levels.
pub fn priorities(tiers: &[Vec<String>]) -> BTreeMap<String, i32> {
    const LEVELS: usize = 201;
    // Up to this many levels of a tier's own before the rest are shared out by size.
    const OWN: usize = 20;
    let tiers: Vec<&Vec<String>> = tiers.iter().filter(|t| !t.is_empty()).collect();
    let total: usize = tiers.iter().map(|t| t.len()).sum();
    let reserved: usize = tiers.iter().map(|t| t.len().min(OWN)).sum();
    let spare = LEVELS.saturating_sub(reserved);
    let mut out = BTreeMap::new();
    let mut top = 100_i32;
    for tier in tiers {
        let n = tier.len();
        let levels = (n.min(OWN) + spare * n / total).min(n);
        for (j, case) in tier.iter().enumerate() {
            out.insert(case.clone(), top - (j * levels / n) as i32);
        }
        top -= levels as i32;
    }
    out
}

/// The cases that start first: the previous run's failures, then target
/// determination's scored cases; each once, and only selected ones.
pub fn first_cases(selected: &[String], failed: &[String], td: &[String]) -> Vec<String> {
    let selected: BTreeSet<&String> = selected.iter().collect();
    let mut seen = BTreeSet::new();
    failed
        .iter()
        .chain(td)
        .filter(|c| selected.contains(c) && seen.insert((*c).clone()))
        .cloned()
        .collect()
}

/// The dry run's account of the order.
pub fn describe(td: Option<&Td>, failed_first: &[String], first: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    for case in failed_first.iter().filter(|c| first.contains(c)) {
        lines.push(format!("first (failed in the previous run): {case}"));
    }
    if let Some(td) = td {
        lines.push(format!(
            "target determination: {} runs ranked{}",
            td.ranked.len(),
            if td.enabled {
                format!(
                    ", --enable-td keeps the top {TD_PERCENT}%: {} run, {} excluded",
                    td.included.len(),
                    td.excluded.len()
                )
            } else {
                String::new()
            }
        ));
        for (i, (run, score)) in td.ranked.iter().enumerate() {
            lines.push(format!("td {:>3}. {run} ({score:?})", i + 1));
        }
        for run in &td.excluded {
            lines.push(format!("td excluded: {run}"));
        }
        if let Some(path) = &td.exclusions_file {
            lines.push(format!("td exclusions file: {}", path.display()));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn first_cases_are_failures_then_td_each_once_and_selected() {
        let selected = names(&["a", "b", "c", "d"]);
        let first = first_cases(&selected, &names(&["c", "gone"]), &names(&["b", "c", "a"]));
        assert_eq!(first, names(&["c", "b", "a"]));
    }

    fn tiers(order: &[(Holds, Vec<String>)]) -> Vec<(Holds, Vec<&str>)> {
        order
            .iter()
            .map(|(h, c)| (*h, c.iter().map(String::as_str).collect()))
            .collect()
    }

    #[test]
    fn run_alone_work_starts_first_and_each_tier_keeps_failed_and_td_order() {
        let cases = names(&["p1", "p2", "p3", "s1", "s2", "m1", "p4"]);
        let holds = |c: &str| match c {
            "s1" | "s2" => Holds::Alone,
            "m1" => Holds::AlonePhase,
            _ => Holds::Shared,
        };
        let seconds = |c: &str| match c {
            "p1" => Some(5.0),
            "p2" => Some(50.0),
            "p3" => None,
            "s1" => Some(1.0),
            "s2" => Some(9.0),
            _ => Some(2.0),
        };
        // Nothing first: run-alone tiers, then the longest first, unknown times last.
        let order = start_order(&cases, &holds, &seconds, &[], &[]);
        assert_eq!(
            tiers(&order),
            [
                (Holds::Alone, vec!["s2", "s1"]),
                (Holds::AlonePhase, vec!["m1"]),
                (Holds::Shared, vec!["p2", "p1", "p4", "p3"]),
            ]
        );
        // p3 failed before, then TD likes s1 and p1 and ranks p2 last: each moves
        // inside its own tier only.
        let first = names(&["p3", "s1", "p1"]);
        let order = start_order(&cases, &holds, &seconds, &first, &names(&["p2"]));
        assert_eq!(
            tiers(&order),
            [
                (Holds::Alone, vec!["s1", "s2"]),
                (Holds::AlonePhase, vec!["m1"]),
                (Holds::Shared, vec!["p3", "p1", "p4", "p2"]),
            ]
        );
    }

    #[test]
    fn priorities_descend_through_the_tiers_without_a_tie_between_them() {
        let p = priorities(&[names(&["m"]), vec![], names(&["a", "b", "c"])]);
        assert_eq!(
            (p["m"], p["a"], p["b"], p["c"]),
            (100, 99, 98, 97),
            "a band of its size each"
        );
        // 300 parallel cases behind 2 run-alone ones: in range, in order, and the
        // run-alone ones strictly above every other.
        let many: Vec<String> = (0..300).map(|i| format!("c{i:03}")).collect();
        let p = priorities(&[names(&["s1", "s2"]), many.clone()]);
        let in_order: Vec<i32> = many.iter().map(|c| p[c]).collect();
        assert!(in_order.windows(2).all(|w| w[0] >= w[1]));
        assert!(p["s1"] > p["s2"] && p["s2"] > in_order[0], "{p:?}");
        assert!(in_order[299] >= -100, "{}", in_order[299]);
        assert_eq!(p["s1"], 100);
    }
}
