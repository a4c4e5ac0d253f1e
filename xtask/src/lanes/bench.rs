//! `cargo xtask bench …`: figures as ratios against a floor measured in the same run.

use anyhow::{Context, Result, bail};
use cargo_metadata::Message;
use clap::{Args, Subcommand};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xshell::cmd;

#[derive(Subcommand)]
pub enum Bench {
    /// Listing and `--exact` start-up over a checkout shaped like PyTorch's test/.
    List(ListArgs),
    /// Shard balance of the planner against nextest's partitions and run_test.py.
    Plan(crate::lanes::bench_plan::PlanBenchArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// PyTorch's test-times JSON; every file named in it becomes a test file (default:
    /// ../shared/data/pytorch-test-times.json beside the checkout, else the fixture).
    #[arg(long)]
    times: Option<PathBuf>,
    /// Timed repetitions of each measurement (the median is reported).
    #[arg(long, default_value_t = 15)]
    runs: usize,
}

/// PyTorch's CI data beside the checkout, where the project's own machines keep it.
const SHARED_TIMES: &str = "../shared/data/pytorch-test-times.json";
/// One build environment of the same data, inside the checkout.
const FIXTURE_TIMES: &str = "harness/tests/fixtures/pytorch-test-times.json";

/// The test-times file a bench reads: `--times`, else the full data beside the
/// checkout, else the fixture, saying so, since figures on one build environment are
/// not those on all of them.
fn times_file(root: &Path, explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(root.join(path));
    }
    let shared = root.join(SHARED_TIMES);
    if shared.is_file() {
        return Ok(shared);
    }
    let fixture = root.join(FIXTURE_TIMES);
    eprintln!(
        "note: {} is not here (PyTorch's CI times: pytorch/test-infra, branch generated-stats, \
         stats/test-times.json; pass it with --times FILE); using {FIXTURE_TIMES}, which holds \
         one build environment only",
        shared.display()
    );
    if !fixture.is_file() {
        bail!(
            "neither {} nor {} exists; pass --times FILE",
            shared.display(),
            fixture.display()
        );
    }
    Ok(fixture)
}

pub fn run(bench: Bench) -> Result<()> {
    match bench {
        Bench::List(args) => list(args),
        Bench::Plan(args) => crate::lanes::bench_plan::run(args),
    }
}

fn list(args: ListArgs) -> Result<()> {
    let root = crate::plumbing::workspace::root();
    let times = times_file(&root, args.times.as_deref())?;
    let modules = modules_in_times(&times)?;
    let checkout = tempfile::tempdir()?;
    for module in &modules {
        let file = checkout.path().join("test").join(format!("{module}.py"));
        std::fs::create_dir_all(file.parent().unwrap_or(checkout.path()))?;
        std::fs::write(&file, "def test_nothing():\n    pass\n")?;
    }
    eprintln!(
        "synthetic checkout: {} files from {} in {}",
        modules.len(),
        times.display(),
        checkout.path().display()
    );
    let harness = build_python_harness(&root)?;
    let out = tempfile::tempdir()?;
    let sh = crate::plumbing::workspace::shell(checkout.path())?;
    // Every command runs in the checkout with the same variables.
    for (key, value) in [
        ("PYTORCH_ROOT", checkout.path().as_os_str()),
        ("TORCH_HARNESS_OUT", out.path().as_os_str()),
        ("NEXTEST", "1".as_ref()),
        // The exact run stops at the spawn: a no-op interpreter, no probe.
        ("PYTHON", "true".as_ref()),
        ("TORCH_HARNESS_PYTEST", "0".as_ref()),
    ] {
        sh.set_var(key, value);
    }
    let walk = median(args.runs, || quiet(cmd!(sh, "find test -name test_*.py")))?;
    let listing = median(args.runs, || {
        quiet(cmd!(sh, "{harness} --list --format terse"))
    })?;
    let exact = median(args.runs, || {
        quiet(cmd!(sh, "{harness} test_ops --exact --nocapture"))
    })?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ratio = |d: Duration| d.as_secs_f64() / walk.as_secs_f64();
    println!(
        "bench list ({} files, median of {} runs)",
        modules.len(),
        args.runs
    );
    println!("{:<40} {:>9} {:>9}", "measurement", "ms", "x walk");
    println!(
        "{:<40} {:>9.2} {:>9.2}",
        "find test -name 'test_*.py' (floor)",
        ms(walk),
        1.0
    );
    println!(
        "{:<40} {:>9.2} {:>9.2}",
        "harness --list --format terse",
        ms(listing),
        ratio(listing)
    );
    println!(
        "{:<40} {:>9.2} {:>9.2}",
        "harness <case> --exact (no-op python)",
        ms(exact),
        ratio(exact)
    );
    Ok(())
}

/// Every test file named anywhere in a test-times JSON (`env → config → file → s`).
fn modules_in_times(path: &Path) -> Result<BTreeSet<String>> {
    type TimesJson = BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>;
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {}; pass --times FILE with PyTorch's test-times JSON",
            path.display()
        )
    })?;
    let json: TimesJson = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not PyTorch's test-times JSON (build environment → test config → file → seconds)",
            path.display()
        )
    })?;
    let modules: BTreeSet<String> = json
        .values()
        .flat_map(|configs| configs.values())
        .flat_map(|files| files.keys())
        // Names only: no absolute paths or parent hops into the real filesystem.
        .filter(|file| {
            !file.starts_with('/') && !file.split('/').any(|p| p.is_empty() || p == "..")
        })
        .cloned()
        .collect();
    if modules.is_empty() {
        bail!("{} names no test files", path.display());
    }
    Ok(modules)
}

/// Builds the Python harness in release mode and returns its path, from cargo's build
/// messages.
fn build_python_harness(root: &Path) -> Result<PathBuf> {
    eprintln!("building the python harness (release)…");
    let sh = crate::plumbing::workspace::shell(root)?;
    let cargo = crate::plumbing::workspace::cargo();
    let messages = cmd!(
        sh,
        "{cargo} test --release --no-run --package torch-suite --test python --message-format=json-render-diagnostics"
    )
    .quiet()
    .read()
    .context("building the python harness failed")?;
    Message::parse_stream(messages.as_bytes())
        .filter_map(Result::ok)
        .find_map(|message| match message {
            Message::CompilerArtifact(artifact) if artifact.target.name == "python" => {
                artifact.executable.map(|exe| exe.into_std_path_buf())
            }
            _ => None,
        })
        .context("cargo did not report the python harness executable")
}

/// A timed command: no echo, its output discarded.
fn quiet(cmd: xshell::Cmd<'_>) -> xshell::Cmd<'_> {
    cmd.quiet().ignore_stdout().ignore_stderr()
}

fn median<'a>(runs: usize, make: impl Fn() -> xshell::Cmd<'a>) -> Result<Duration> {
    // One untimed run warms the page cache.
    make().run()?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let cmd = make();
        let started = Instant::now();
        cmd.run()?;
        samples.push(started.elapsed());
    }
    samples.sort();
    Ok(samples[samples.len() / 2])
}
