//! `cargo xtask times update [RUN]`: fold a run's measured times into the checkout's
//! times store (`target/torch-harness/test-times/<checkout>.json`, PyTorch's shape),
//! which its planner reads when no other times file is given, and list the files whose
//! time was far off.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;
use torch_harness::plan::times::{FileTimes, JobKey};

#[derive(Subcommand)]
pub enum Times {
    /// Add a run's measured per-file times to the store.
    Update(UpdateArgs),
}

#[derive(Args)]
pub struct UpdateArgs {
    /// A run id or folder (default: the latest run).
    run: Option<String>,
    /// The times the run was planned with, to compare against (default: the planner's sources).
    #[arg(long)]
    times: Option<PathBuf>,
}

/// A measured time this many times off the expected one is stale.
const STALE: f64 = 3.0;

type Store = BTreeMap<String, BTreeMap<String, FileTimes>>;

pub fn run(times: Times) -> Result<()> {
    let Times::Update(args) = times;
    let root = crate::workspace::root();
    let target = crate::workspace::target_dir(&root)?;
    let mut settings = torch_harness::settings::Settings::from_env();
    settings.target_dir = target;
    let run_dir = crate::report::run_dir(&settings, args.run.as_deref())?;
    let measured = measured(&crate::report::records(&run_dir)?);
    let expected = crate::plan::load_times(&settings, args.times.as_deref())?.times;

    // Per checkout: another checkout's planner never reads these times.
    let store_path = settings.times_store();
    let mut store: Store = match std::fs::read(&store_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not a test-times file; move it away",
                store_path.display()
            )
        })?,
        Err(_) => Store::new(),
    };
    let key = JobKey::from_env();
    let or_default = |s: &str| {
        if s.is_empty() {
            "default".to_string()
        } else {
            s.to_string()
        }
    };
    let entry = store
        .entry(or_default(&key.job))
        .or_default()
        .entry(or_default(&key.config))
        .or_default();
    for (file, seconds) in &measured {
        entry.insert(file.clone(), *seconds);
    }
    if let Some(parent) = store_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&store_path, serde_json::to_vec_pretty(&store)?)?;
    println!(
        "{} files from {} into {} ({} / {})",
        measured.len(),
        run_dir.display(),
        store_path.display(),
        or_default(&key.job),
        or_default(&key.config)
    );
    for (file, seconds) in &measured {
        if let Some(&was) = expected.get(file)
            && was > 0.0
            && (seconds / was > STALE || was / seconds.max(1e-3) > STALE)
        {
            println!("stale: {file}: measured {seconds:.1} s, expected {was:.1} s");
        }
    }
    Ok(())
}

/// Wall seconds per test-times key: a file's pieces and configurations add up.
fn measured(records: &[torch_harness::report::record::Record]) -> FileTimes {
    let mut times = FileTimes::new();
    for record in records {
        *times.entry(record.times_key.clone()).or_default() += record.wall_seconds;
    }
    times
}
