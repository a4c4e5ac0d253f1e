//! `cargo xtask bench …`: figures as ratios against a floor measured in the same run.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum Bench {
    /// Listing and `--exact` start-up over a checkout shaped like PyTorch's test/.
    List(ListArgs),
    /// Shard balance of the planner against nextest's partitions and run_test.py.
    Plan(crate::bench_plan::PlanBenchArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// PyTorch's test-times JSON; every file named in it becomes a test file.
    #[arg(long, default_value = "../shared/data/pytorch-test-times.json")]
    times: PathBuf,
    /// Timed repetitions of each measurement (the median is reported).
    #[arg(long, default_value_t = 15)]
    runs: usize,
}

pub fn run(bench: Bench) -> Result<()> {
    match bench {
        Bench::List(args) => list(args),
        Bench::Plan(args) => crate::bench_plan::run(args),
    }
}

fn list(args: ListArgs) -> Result<()> {
    let root = crate::workspace::root();
    let times = root.join(&args.times);
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
    // Every command runs in the checkout with the same variables.
    let command = |program: &Path, args: &[&str]| {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(checkout.path())
            .env("PYTORCH_ROOT", checkout.path())
            .env("TORCH_HARNESS_OUT", out.path())
            .env("NEXTEST", "1")
            // The exact run stops at the spawn: a no-op interpreter, no probe.
            .env("PYTHON", "true")
            .env("TORCH_HARNESS_PYTEST", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    };
    let walk = median(args.runs, || {
        command(Path::new("find"), &["test", "-name", "test_*.py"])
    })?;
    let listing = median(args.runs, || {
        command(&harness, &["--list", "--format", "terse"])
    })?;
    let exact = median(args.runs, || {
        command(&harness, &["test_ops", "--exact", "--nocapture"])
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
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {}; pass --times FILE with PyTorch's test-times JSON",
            path.display()
        )
    })?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let mut modules = BTreeSet::new();
    for configs in json.as_object().into_iter().flat_map(|m| m.values()) {
        for files in configs.as_object().into_iter().flat_map(|m| m.values()) {
            for file in files.as_object().into_iter().flat_map(|m| m.keys()) {
                // Names only: no absolute paths or parent hops into the real filesystem.
                if !file.starts_with('/') && !file.split('/').any(|p| p.is_empty() || p == "..") {
                    modules.insert(file.clone());
                }
            }
        }
    }
    if modules.is_empty() {
        bail!("{} names no test files", path.display());
    }
    Ok(modules)
}

/// Builds the Python harness in release mode and returns its path.
fn build_python_harness(root: &Path) -> Result<PathBuf> {
    eprintln!("building the python harness (release)…");
    let output = Command::new(crate::workspace::cargo())
        .current_dir(root)
        .args([
            "test",
            "--release",
            "--no-run",
            "--package",
            "torch-suite",
            "--test",
            "python",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo test --no-run")?;
    if !output.status.success() {
        bail!("building the python harness failed");
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["target"]["name"] == "python")
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .context("cargo did not report the python harness executable")
}

fn median(runs: usize, make: impl Fn() -> Command) -> Result<Duration> {
    // One untimed run warms the page cache.
    make().status()?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let mut cmd = make();
        let started = Instant::now();
        let status = cmd.status()?;
        samples.push(started.elapsed());
        if !status.success() {
            bail!("{cmd:?} failed: {status}");
        }
    }
    samples.sort();
    Ok(samples[samples.len() / 2])
}
