//! Retries inside a case, as run_test.py does them (research §5.8): run the file with
//! `-x` under a stepcurrent key; when a test fails (or the process dies in it), rerun
//! that test alone in a fresh process (`--rs`), with C++ stack traces on; if it passes
//! it is flaky and the file continues after it (`--scs`); the same test failing three
//! times is a consistent failure, which stops the file unless the run keeps going.
//! The conftest's stepcurrent plugin records the node id of the test that last started
//! in pytest's cache, which is how a crash is pinned on its test.

use crate::launch::Launch;
use crate::launch::process::{self, Ended, Finished, Limits, RunError};
use crate::report::verdict::Verdict;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// A test that fails this many times in a row fails consistently.
const CONSISTENT: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// `--sc`: from the last test that started (the first run: from the start).
    Resume,
    /// `--scs`: from the test after it.
    Skip,
    /// `--rs`: that test alone.
    Retry,
}

impl Step {
    fn flag(self) -> &'static str {
        match self {
            Step::Resume => "--sc",
            Step::Skip => "--scs",
            Step::Retry => "--rs",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Whether failing tests are rerun in a new process at all.
    pub retries: bool,
    /// `--continue-through-error`: go on after a consistent failure.
    pub keep_going: bool,
    /// pytest's stepcurrent cache folder (`<rootdir>/.pytest_cache/v/cache/stepcurrent`).
    pub cache: PathBuf,
    pub limits: Limits,
}

/// How the file went, over all its processes.
#[derive(Debug, Default)]
pub struct FileRun {
    /// Every process: its status and how the harness ended it, if it did.
    pub runs: Vec<(ExitStatus, Option<Ended>)>,
    /// Tests that failed, then passed in a new process.
    pub flaky: Vec<String>,
    /// Tests that failed three times.
    pub consistent: Vec<String>,
    /// The last run, which decides the verdict unless a test failed consistently.
    pub last: (ExitStatus, Option<Ended>),
    /// The last failing run, which explains a consistent failure (a crash's signal).
    pub worst: Option<(ExitStatus, Option<Ended>)>,
    pub wall: Duration,
    pub leftovers: usize,
    /// Why the loop stopped early, when it did.
    pub note: Option<String>,
}

impl FileRun {
    /// Whether the attempt so far fails: a consistent failure, or a last process that
    /// did not pass.
    pub fn failed(&self) -> bool {
        !self.consistent.is_empty() || !run_passed(self.last)
    }

    /// Adds the processes of a later part of the same attempt (a `@serialTest` file runs
    /// its marked tests, then the rest). A failure of the earlier part is kept as the
    /// one that decides, even when the later part passes.
    pub fn append(&mut self, next: FileRun) {
        if !self.failed() {
            self.last = next.last;
        }
        self.worst = next.worst.or(self.worst);
        self.runs.extend(next.runs);
        self.flaky.extend(next.flaky);
        self.consistent.extend(next.consistent);
        self.wall += next.wall;
        self.leftovers += next.leftovers;
        self.note = match (self.note.take(), next.note) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
    }
}

fn run_passed((status, ended): (ExitStatus, Option<Ended>)) -> bool {
    ended.is_none() && Verdict::from_status(status).is_pass()
}

pub fn run(launch: &Launch, opts: &Options) -> Result<FileRun, RunError> {
    let Some(key) = launch.stepcurrent.as_deref() else {
        return single(launch, opts.limits);
    };
    let mut failures: BTreeMap<String, u32> = BTreeMap::new();
    let mut out = FileRun::default();
    let mut step = Step::Resume;
    let mut stack_traces: Option<&str> = None;
    // At most three tries per test and one pass per test after that: bounded by the
    // number of tests, which a run cannot know; a generous cap guards against a
    // conftest that never moves the cursor.
    for iteration in 0..10_000 {
        let mut this = process(launch, step, key, iteration == 0);
        if let Some(value) = stack_traces {
            this.env
                .push(("TORCH_SHOW_CPP_STACKTRACES".into(), value.into()));
        }
        let finished = process::run(&this, opts.limits)?;
        let ok = passed(&finished);
        record(&mut out, &finished);
        if matches!(finished.ended, Some(Ended::Interrupted(_))) {
            break;
        }
        if ok && step != Step::Retry {
            break;
        }
        if !opts.retries {
            break;
        }
        let Some(lastrun) = last_started(&opts.cache, key) else {
            out.note = Some(
                "no stepcurrent record: pytest never reached a test (an import error?)".into(),
            );
            break;
        };
        let lastrun = lastrun.unwrap_or_else(|| launch.case.clone());
        stack_traces = Some("0");
        if !ok {
            *failures.entry(lastrun.clone()).or_default() += 1;
        }
        step = if ok {
            // The retried test passed alone: flaky; carry on after it.
            Step::Skip
        } else if failures[&lastrun] >= CONSISTENT {
            if !out.consistent.contains(&lastrun) {
                out.consistent.push(lastrun.clone());
            }
            if !opts.keep_going {
                out.note = Some(format!(
                    "stopping at the first consistent failure: {lastrun}"
                ));
                break;
            }
            Step::Skip
        } else {
            stack_traces = Some("1");
            Step::Retry
        };
    }
    out.flaky = failures
        .into_iter()
        .filter(|(test, n)| *n < CONSISTENT && !out.consistent.contains(test))
        .map(|(test, _)| test)
        .collect();
    Ok(out)
}

/// The first process of `launch`, as it is started: in pytest mode from the start under
/// its stepcurrent key, listing its tests as they run (`--sc=<key> --print-items`).
pub fn first_process(launch: &Launch) -> Launch {
    match launch.stepcurrent.as_deref() {
        Some(key) => process(launch, Step::Resume, key, true),
        None => launch.clone(),
    }
}

/// `launch` taking `step` under `key`.
fn process(launch: &Launch, step: Step, key: &str, first: bool) -> Launch {
    let mut this = launch.clone();
    this.args.push(format!("{}={key}", step.flag()));
    if first {
        this.args.push("--print-items".into());
    }
    this
}

fn single(launch: &Launch, limits: Limits) -> Result<FileRun, RunError> {
    let finished = process::run(launch, limits)?;
    let mut out = FileRun::default();
    record(&mut out, &finished);
    Ok(out)
}

fn record(out: &mut FileRun, finished: &Finished) {
    let run = (finished.status, finished.ended);
    out.last = run;
    if !passed(finished) {
        out.worst = Some(run);
    }
    out.runs.push(run);
    out.wall += finished.wall;
    out.leftovers += finished.leftovers;
}

fn passed(finished: &Finished) -> bool {
    run_passed((finished.status, finished.ended))
}

/// The node id of the test that last started under `key`: None when pytest never
/// wrote one, Some(None) when it wrote `null`.
fn last_started(cache: &std::path::Path, key: &str) -> Option<Option<String>> {
    let text = std::fs::read_to_string(cache.join(key).join("lastrun")).ok()?;
    serde_json::from_str::<Option<String>>(&text).ok()
}
