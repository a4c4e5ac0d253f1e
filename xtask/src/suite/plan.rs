//! `cargo xtask plan`: the time-balanced shard plan for the checkout's cases.

use crate::plumbing::selection::{Resolved, SelectArgs, resolve};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use torch_harness::plan::document::PlanDocument;
use torch_harness::plan::times::{self, FileTimes, JobKey};
use torch_harness::plan::{PlanConfig, plan};
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
    /// Plan only the top 25% by target-determination score, as `cargo xtask test
    /// --enable-td` runs (and on by default in the same CI jobs); the shards of the
    /// plan then run that cut.
    #[arg(long)]
    pub enable_td: bool,
    /// Print the plan as JSON: the file CI ships to every shard (`cargo xtask test --plan`),
    /// with a fingerprint of its inputs and each case's shard, expected seconds and
    /// whether it runs alone.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Clone, Default)]
pub struct PlanInputs {
    /// PyTorch's test-times JSON (default: the checkout's .additional_ci_files/test-times.json,
    /// then times recorded by earlier runs of the checkout, under target/).
    #[arg(long)]
    pub times: Option<PathBuf>,
    /// Test threads per machine (default: PyTorch's NUM_PROCS on CPU, from the policy).
    /// At least 1: refused here rather than later inside nextest.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub threads: Option<usize>,
}

pub fn run(args: PlanArgs) -> Result<()> {
    let mut resolved = resolve(&args.select, None)?;
    // `cargo xtask test` sets these for the tests itself; a plan file does not carry
    // them, so whoever runs its shards must.
    for (name, value) in &resolved.child_env {
        eprintln!(
            "note: run this plan's cases with {name}={value} set (run_test.py sets it for this selection)"
        );
    }
    let td = crate::plumbing::order::TdUse {
        cut: crate::plumbing::order::td_enabled(args.enable_td),
        exclusions: false,
    };
    crate::plumbing::order::apply_td(&mut resolved, td)?;
    let times = load_times(&resolved.settings, args.inputs.times.as_deref())?;
    let document = compute(&resolved, args.shards, &times, args.inputs.threads)?;
    if args.json {
        println!("{}", document.to_json());
        return Ok(());
    }
    let plan = &document.plan;
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
    println!("fingerprint {}", document.fingerprint);
    Ok(())
}

/// The plan of the selected cases, with the fingerprint of what it was made from.
pub fn compute(
    resolved: &Resolved,
    shards: usize,
    times: &LoadedTimes,
    threads: Option<usize>,
) -> Result<PlanDocument> {
    if shards == 0 {
        bail!("--shards must be at least 1");
    }
    let policy = &resolved.policy;
    let cfg = PlanConfig {
        shards,
        threads: threads.unwrap_or_else(|| num_procs(policy)),
        piece_startup_seconds: policy.sharding.piece_startup_seconds,
    };
    let files = resolved.plan_files(&times.times);
    Ok(PlanDocument::new(
        plan(&files, &cfg),
        &files,
        &cfg,
        &times.times,
        times.source.clone(),
    ))
}

/// The plan of a run without `--shard`: every selected case, whole, on this machine.
pub fn one_machine(
    resolved: &Resolved,
    times: &FileTimes,
    threads: Option<usize>,
) -> Result<torch_harness::plan::Plan> {
    let policy = &resolved.policy;
    let cfg = PlanConfig {
        shards: 1,
        threads: threads.unwrap_or_else(|| num_procs(policy)),
        piece_startup_seconds: policy.sharding.piece_startup_seconds,
    };
    let files: Vec<_> = resolved
        .plan_files(times)
        .into_iter()
        .map(|f| torch_harness::plan::PlanFile {
            splittable: false,
            ..f
        })
        .collect();
    Ok(plan(&files, &cfg))
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

/// The times the planner reads, and the file they came from.
#[derive(Debug, Clone, Default)]
pub struct LoadedTimes {
    pub times: FileTimes,
    pub source: Option<PathBuf>,
}

/// An explicit `--times` must be read, or planning stops: a plan made without the times
/// asked for would cut the suite differently from every other machine's. Without one,
/// the first default source that exists; a broken default is reported and skipped
/// (the plan's fingerprint then differs, which the report over all shards catches).
pub fn load_times(settings: &Settings, explicit: Option<&Path>) -> Result<LoadedTimes> {
    let key = JobKey::from_env();
    if let Some(path) = explicit {
        let times = times::load(path, &key).context("--times cannot be used")?;
        eprintln!("test times: {} ({} files)", path.display(), times.len());
        return Ok(LoadedTimes {
            times,
            source: Some(path.to_path_buf()),
        });
    }
    let candidates = [
        settings.root.join(".additional_ci_files/test-times.json"),
        settings.times_store(),
    ];
    let Some(path) = candidates.into_iter().find(|p| p.exists()) else {
        eprintln!("no test times found; planning without them");
        return Ok(LoadedTimes::default());
    };
    match times::load(&path, &key) {
        Ok(times) => {
            eprintln!("test times: {} ({} files)", path.display(), times.len());
            Ok(LoadedTimes {
                times,
                source: Some(path),
            })
        }
        Err(e) => {
            eprintln!("warning: {e}; planning without test times");
            Ok(LoadedTimes::default())
        }
    }
}

/// `i/n` with 1 <= i <= n.
pub fn parse_shard(text: &str) -> Result<(usize, usize)> {
    torch_harness::plan::document::parse_shard(text).map_err(|e| anyhow::anyhow!("--shard {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, error::ErrorKind};

    fn parse(argv: &[&str]) -> Result<clap::ArgMatches, clap::Error> {
        PlanArgs::augment_args(Command::new("plan")).try_get_matches_from(argv)
    }

    #[test]
    fn zero_threads_are_refused_up_front() {
        let err = parse(&["plan", "--shards", "2", "--threads", "0"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueValidation, "{err}");
        assert!(err.to_string().contains("--threads"), "{err}");
        let ok = parse(&["plan", "--shards", "2", "--threads", "1"]).unwrap();
        assert_eq!(ok.get_one::<usize>("threads"), Some(&1));
    }

    #[test]
    fn a_shard_of_zero_shards_says_so() {
        let err = parse_shard("1/0").unwrap_err().to_string();
        assert!(err.starts_with("--shard `1/0`"), "{err}");
        assert!(err.contains("at least one shard"), "{err}");
    }
}
