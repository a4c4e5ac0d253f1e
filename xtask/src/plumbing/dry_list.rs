//! What a `cargo nextest run` will run, asked of nextest itself: `--dry-run` with the
//! user's own filters (`-- -E …`, a partition, name filters) lists the run's command
//! as `cargo nextest list`, so nextest's own reading of them decides, not a copy of it.

use anyhow::{Context, Result, bail};
use nextest_metadata::TestListSummary;
use std::collections::BTreeSet;
use std::process::Command;

/// nextest's `run` options that `list` does not take, and whether each takes a value
/// (cargo-nextest 0.9.143's `run --help` less `list --help`). They change how cases run,
/// never which.
const RUN_ONLY: [(&str, bool); 26] = [
    ("--debugger", true),
    ("--fail-fast", false),
    ("--failure-output", true),
    ("--final-status-level", true),
    ("--flaky-result", true),
    ("--hide-progress-bar", false),
    ("--max-fail", true),
    ("--max-progress-running", true),
    ("--message-format", true),
    ("--message-format-version", true),
    ("--no-capture", false),
    ("--nocapture", false),
    ("--no-fail-fast", false),
    ("--no-input-handler", false),
    ("--no-output-indent", false),
    ("--no-run", false),
    ("--no-tests", true),
    ("--retries", true),
    ("--status-level", true),
    ("--stress-count", true),
    ("--stress-duration", true),
    ("--success-output", true),
    ("--tracer", true),
    ("--rerun", true),
    ("-R", true),
    ("--test-threads", true),
];

/// The arguments of `cargo nextest run …` as `list`'s: `run` becomes
/// `list`, the run-only options go, and everything after a `--` (the test binaries'
/// own filters) stays.
pub fn list_args(run_args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut iter = run_args.iter();
    // The subcommand, among the words before the first option (`nextest run`).
    let mut leading = true;
    while let Some(arg) = iter.next() {
        if leading && arg == "run" {
            out.push("list".to_string());
            leading = false;
            continue;
        }
        leading &= !arg.starts_with('-');
        if arg == "--" {
            out.push(arg.clone());
            out.extend(iter.by_ref().cloned());
            break;
        }
        // `-j N`, `-jN`, `-j=N`.
        if let Some(rest) = arg.strip_prefix("-j") {
            if rest.is_empty() {
                iter.next();
            }
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, _)) if flag.starts_with("--") => (flag, true),
            _ => (arg.as_str(), false),
        };
        match RUN_ONLY.iter().find(|(name, _)| *name == flag) {
            Some((_, takes_value)) => {
                if *takes_value && !inline {
                    iter.next();
                }
            }
            None => out.push(arg.clone()),
        }
    }
    out
}

/// The cases `run` (a `cargo nextest run` command) will run, by asking `cargo nextest
/// list` with the same directory, variables and case-choosing arguments.
pub fn cases(run: &Command) -> Result<BTreeSet<String>> {
    let args: Vec<String> = run
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut list = Command::new(run.get_program());
    if let Some(dir) = run.get_current_dir() {
        list.current_dir(dir);
    }
    for (k, v) in run.get_envs() {
        match v {
            Some(v) => list.env(k, v),
            None => list.env_remove(k),
        };
    }
    // Options before the binaries' own `--` part; `--message-format json` goes there.
    let mut args = list_args(&args);
    let at = args.iter().position(|a| a == "--").unwrap_or(args.len());
    args.splice(at..at, ["--message-format".to_string(), "json".to_string()]);
    list.args(&args);
    eprintln!("dry run: asking `cargo nextest list` which cases the arguments after -- keep");
    let out = list.output().context("cannot start `cargo nextest list`")?;
    if !out.status.success() {
        bail!(
            "`cargo {}` failed, so the dry run cannot say what would run:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let summary = TestListSummary::parse_json(String::from_utf8_lossy(&out.stdout).as_ref())
        .context("cannot read `cargo nextest list --message-format json`")?;
    Ok(summary
        .rust_suites
        .values()
        .flat_map(|suite| {
            suite
                .test_cases
                .iter()
                .filter(|(_, case)| case.filter_match.is_match())
                .map(|(name, _)| name.to_string())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn run_only_options_go_and_case_choosing_ones_stay() {
        let run = strings(&[
            "nextest",
            "run",
            "--profile",
            "ci",
            "--package",
            "torch-suite",
            "-E",
            "test(/pool/)",
            "--test-threads=4",
            "-j",
            "2",
            "-j3",
            "--no-fail-fast",
            "--retries",
            "2",
            "--failure-output=final",
            "--no-capture",
            "--partition",
            "count:1/2",
            "--run-ignored",
            "all",
            "test_nn",
            "--",
            "--exact",
            "--no-capture",
        ]);
        assert_eq!(
            list_args(&run),
            strings(&[
                "nextest",
                "list",
                "--profile",
                "ci",
                "--package",
                "torch-suite",
                "-E",
                "test(/pool/)",
                "--partition",
                "count:1/2",
                "--run-ignored",
                "all",
                "test_nn",
                "--",
                "--exact",
                "--no-capture",
            ])
        );
    }
}
