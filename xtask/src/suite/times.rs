//! `cargo xtask times update [RUN]`: fold a run's measured times into the checkout's
//! times store (`target/torch-harness/test-times/<checkout>.json`, PyTorch's shape),
//! which its planner reads when no other times file is given, and list the files whose
//! time was far off.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;
use torch_harness::case::PythonCase;
use torch_harness::plan::times::{FileTimes, JobKey};
use torch_harness::report::record::Record;
use torch_harness::report::verdict::Verdict;

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
    let root = crate::plumbing::workspace::root();
    let target = crate::plumbing::workspace::target_dir(&root)?;
    let mut settings = torch_harness::settings::Settings::from_env();
    settings.target_dir = target;
    let run_dir = crate::suite::report::run_dir(&settings, args.run.as_deref())?;
    let records = crate::suite::report::records(&run_dir)?;
    let startup = startup_seconds(&records);
    let measured = measured(&records, startup.map(|(seconds, _)| seconds));
    let expected = crate::suite::plan::load_times(&settings, args.times.as_deref())?.times;

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
    let assumed = torch_harness::policy::Policy::load(&settings.manifests, &settings.root)
        .map(|p| p.sharding.piece_startup_seconds)
        .ok();
    if let Some((seconds, cases)) = startup {
        let assumed = assumed.map_or(String::new(), |a| {
            format!("; the planner assumes {a:.1} s (piece_startup_seconds in scheduling.toml)")
        });
        println!(
            "start-up: {seconds:.1} s per process outside its tests (median of {cases} cases){assumed}"
        );
    }
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

/// Wall seconds per test-times key: a file's pieces and configurations add up. A file
/// run in k pieces paid k start-ups where running it whole pays one, so with a measured
/// start-up the k−1 extra ones come off (the planner adds them back for its own cut).
fn measured(records: &[Record], startup: Option<f64>) -> FileTimes {
    let mut times = FileTimes::new();
    for record in records {
        let extra = match (startup, piece_count(record)) {
            (Some(s), Some(k)) => s * f64::from(k - 1) / f64::from(k),
            _ => 0.0,
        };
        *times.entry(record.times_key.clone()).or_default() +=
            (record.wall_seconds - extra).max(0.0);
    }
    times
}

/// How many pieces the record's file was cut into, when it is a piece.
fn piece_count(record: &Record) -> Option<u32> {
    let piece = PythonCase::parse(&record.case).ok()?.piece?;
    Some(piece.count)
}

/// What a process costs beyond its tests (interpreter, imports, collection): the
/// median, over the run's Python cases that ran in one process and left XML, of the
/// wall time less the time their tests took. None without such cases. C++ binaries and
/// distributed files (many processes each) are left out.
fn startup_seconds(records: &[Record]) -> Option<(f64, usize)> {
    let mut overheads: Vec<f64> = records
        .iter()
        .filter(|r| r.runs == 1 && !r.reports.is_empty())
        .filter(|r| !r.times_key.starts_with("cpp/") && !r.times_key.starts_with("distributed/"))
        .filter(|r| matches!(r.verdict, Verdict::Passed | Verdict::Flaky { .. }))
        .filter_map(|r| {
            let mut tests = 0.0;
            for report in &r.reports {
                // An unreadable report says nothing about the start-up: skip the case.
                let cases = torch_harness::report::junit::read(report).ok()?;
                tests += cases.iter().map(|c| c.time).sum::<f64>();
            }
            Some((r.wall_seconds - tests).max(0.0))
        })
        .collect();
    if overheads.is_empty() {
        return None;
    }
    overheads.sort_by(f64::total_cmp);
    let n = overheads.len();
    let median = if n % 2 == 1 {
        overheads[n / 2]
    } else {
        (overheads[n / 2 - 1] + overheads[n / 2]) / 2.0
    };
    Some((median, n))
}
