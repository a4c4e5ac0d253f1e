//! `cargo xtask plan`: the time-balanced shard plan for the checkout's cases.

use crate::selection::{Resolved, SelectArgs, resolve};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use torch_harness::plan::times::{self, FileTimes, JobKey};
use torch_harness::plan::{Plan, PlanConfig, plan};
use torch_harness::policy::Policy;
use torch_harness::settings::Settings;

#[derive(Args)]
pub struct PlanArgs {
    /// Number of shards (CI machines).
    #[arg(long)]
    pub shards: usize,
    #[command(flatten)]
    pub inputs: PlanInputs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Clone, Default)]
pub struct PlanInputs {
    /// PyTorch's test-times JSON (default: the checkout's .additional_ci_files/test-times.json,
    /// then times recorded by earlier runs under target/).
    #[arg(long)]
    pub times: Option<PathBuf>,
    /// Test threads per machine (default: PyTorch's NUM_PROCS on CPU, from the policy).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(args: PlanArgs) -> Result<()> {
    let resolved = resolve(&args.select, None)?;
    let times = load_times(&resolved.settings, args.inputs.times.as_deref());
    let plan = compute(&resolved, args.shards, &times, args.inputs.threads)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(());
    }
    for shard in &plan.shards {
        println!(
            "shard {}/{}: {:.0} s predicted, {} cases",
            shard.shard,
            plan.shards.len(),
            shard.predicted_seconds,
            shard.cases.len()
        );
        for case in &shard.cases {
            println!("    {case}");
        }
    }
    println!(
        "lower bound {:.0} s; longest shard / lower bound = {:.3}",
        plan.lower_bound_seconds,
        plan.longest_over_lower_bound()
    );
    Ok(())
}

/// The plan of the selected cases.
pub fn compute(
    resolved: &Resolved,
    shards: usize,
    times: &FileTimes,
    threads: Option<usize>,
) -> Result<Plan> {
    if shards == 0 {
        bail!("--shards must be at least 1");
    }
    let policy = &resolved.policy;
    let cfg = PlanConfig {
        shards,
        threads: threads.unwrap_or_else(|| num_procs(policy)),
        piece_startup_seconds: policy.sharding.piece_startup_seconds,
    };
    Ok(plan(&resolved.plan_files(times), &cfg))
}

/// PyTorch's NUM_PROCS on a CPU machine: 1 under the CUDA memory-leak check, else the
/// policy's CPU value. It must be the same on every shard of a job.
pub fn num_procs(policy: &Policy) -> usize {
    if std::env::var("PYTORCH_TEST_CUDA_MEM_LEAK_CHECK").is_ok_and(|v| v == "1") {
        1
    } else {
        policy.sharding.num_procs_cpu.max(1)
    }
}

/// The first times source that exists; a broken one is reported and skipped, so
/// planning goes on (without times, every file is placed by its name's hash).
pub fn load_times(settings: &Settings, explicit: Option<&Path>) -> FileTimes {
    let key = JobKey::from_env();
    let candidates: Vec<PathBuf> = match explicit {
        Some(path) => vec![path.to_path_buf()],
        None => vec![
            settings.root.join(".additional_ci_files/test-times.json"),
            settings.target_dir.join("torch-harness/test-times.json"),
        ],
    };
    for path in &candidates {
        if explicit.is_none() && !path.exists() {
            continue;
        }
        match times::load(path, &key) {
            Ok(times) => {
                eprintln!("test times: {} ({} files)", path.display(), times.len());
                return times;
            }
            Err(e) => {
                eprintln!("warning: {e}; planning without test times");
                return FileTimes::new();
            }
        }
    }
    eprintln!("no test times found; planning without them");
    FileTimes::new()
}

/// `i/n` with 1 <= i <= n.
pub fn parse_shard(text: &str) -> Result<(usize, usize)> {
    let (i, n) = text
        .split_once('/')
        .with_context(|| format!("--shard takes i/n, got `{text}`"))?;
    let (i, n): (usize, usize) = (
        i.trim()
            .parse()
            .with_context(|| format!("--shard {text}"))?,
        n.trim()
            .parse()
            .with_context(|| format!("--shard {text}"))?,
    );
    if i == 0 || i > n {
        bail!("--shard {text}: the shard must be between 1 and {n}");
    }
    Ok((i, n))
}
