//! `cargo xtask test` and `cargo xtask check`.

use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::SystemTime;

#[derive(Args)]
pub struct TestArgs {
    /// Run shard i of n of the time-balanced plan.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    #[command(flatten)]
    plan: crate::plan::PlanInputs,
    /// Arguments for `cargo nextest run`, after `--`.
    #[arg(last = true)]
    nextest_args: Vec<String>,
}

pub fn run(args: TestArgs) -> Result<ExitCode> {
    let root = crate::workspace::root();
    let mut nextest = Command::new(crate::workspace::cargo());
    nextest
        .current_dir(&root)
        .args([
            "nextest",
            "run",
            "--profile",
            "ci",
            "--package",
            "torch-suite",
        ])
        .args(&args.nextest_args);
    match std::env::var_os("PYTORCH_ROOT") {
        Some(checkout) => eprintln!("running the checkout at {}", checkout.to_string_lossy()),
        None => {
            let python = crate::setup::demo_python(&root)?;
            nextest.env("PYTHON", python);
            eprintln!(
                "running the embedded demo ({})",
                root.join("demo").display()
            );
        }
    }
    if let Some(shard) = &args.shard {
        let (i, n) = crate::plan::parse_shard(shard)?;
        let path = write_plan(&root, i, n, &args.plan)?;
        eprintln!("shard {i}/{n}: plan {}", path.display());
        nextest.env(torch_harness::settings::var::PLAN, path);
    }
    let started = SystemTime::now();
    let status = nextest
        .status()
        .context("cannot start `cargo nextest`; install cargo-nextest")?;
    let target = crate::workspace::target_dir(&root);
    eprintln!("JUnit: {}", target.join("nextest/ci/junit.xml").display());
    if let Some(run) = newest_run(&target.join("torch-harness/runs"), started) {
        eprintln!("logs and reports: {}", run.display());
    }
    Ok(exit_code(status))
}

/// Computes the plan, marks shard `i` as this machine's, and writes it under target/.
fn write_plan(
    root: &Path,
    i: usize,
    n: usize,
    inputs: &crate::plan::PlanInputs,
) -> Result<PathBuf> {
    let mut plan = crate::plan::compute(n, inputs)?;
    plan.selected_shard = Some(i);
    let dir = crate::workspace::target_dir(root).join("torch-harness/plans");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("shard-{i}-of-{n}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&plan)?)?;
    Ok(path)
}

/// Set-up, then the project's own tests (what CI runs).
pub fn check() -> Result<ExitCode> {
    let root = crate::workspace::root();
    crate::setup::demo_python(&root)?;
    let status = Command::new(crate::workspace::cargo())
        .current_dir(&root)
        .args(["nextest", "run", "--workspace", "--profile", "ci"])
        .status()
        .context("cannot start `cargo nextest`; install cargo-nextest")?;
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    ExitCode::from(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1),
    )
}

/// The run folder the harness wrote during this invocation, if any.
fn newest_run(runs: &Path, since: SystemTime) -> Option<PathBuf> {
    std::fs::read_dir(runs)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .filter(|(modified, _)| *modified >= since)
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, path)| path)
}
