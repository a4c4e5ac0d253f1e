//! `cargo xtask bench plan`: plans made with an older snapshot of PyTorch's test times,
//! scored with the next snapshot (the times of the run the plan is for), for this
//! project's planner and for run_test.py's `calculate_shards` on the same inputs. Each
//! figure is the longest shard over the ideal one under one time model (`model`).

mod model;
mod reference;
mod run_test_py;
mod steal;

use anyhow::{Context, Result, bail};
use clap::Args;
use model::{Model, Piece};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use torch_harness::case::{PythonCase, TestModule};
use torch_harness::plan::test_config::TestConfig;
use torch_harness::plan::times::{self, FileTimes, JobKey};
use torch_harness::plan::{PlanConfig, PlanFile, plan};
use torch_harness::policy::Policy;

#[derive(Args)]
pub struct PlanBenchArgs {
    /// Folder with `history/pytorch-test-times-<date>.json` snapshots and the newest
    /// `pytorch-test-times.json` (relative to the workspace root).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    #[arg(long, default_value = "linux-jammy-cuda13.0-py3.10-gcc11")]
    build_environment: String,
    #[arg(long, default_value = "default")]
    test_config: String,
}

/// PyTorch's NUM_PROCS on the machines the times come from.
const WORKERS: usize = 3;
const SHARD_COUNTS: [usize; 3] = [5, 10, 20];

/// A snapshot of the times, named by its date (or `newest`).
struct Snapshot {
    label: String,
    times: FileTimes,
}

pub fn run(args: PlanBenchArgs) -> Result<()> {
    let root = crate::plumbing::workspace::root();
    let data = root.join(&args.data);
    let key = JobKey::new("", &args.build_environment, &args.test_config);
    let snapshots = snapshots(&data, &key)?;
    let reference_path = data.join(REFERENCE);
    let reference = reference::load(&reference_path)?;
    check_reference(&reference, &reference_path, &snapshots)?;
    let policy = Policy::load(&root.join("test-manifests"), &root.join("demo"))?;
    let model = Model {
        workers: WORKERS,
        startup_seconds: policy.sharding.piece_startup_seconds,
    };
    let config = TestConfig {
        name: args.test_config.clone(),
        build_environment: args.build_environment.clone(),
    };
    println!(
        "bench plan: {} / {}, {WORKERS} workers per shard, {} s per extra piece",
        args.build_environment, args.test_config, model.startup_seconds
    );
    println!(
        "longest shard / ideal; stale: planned with the older times, fresh: with the newer; always scored with the newer,"
    );
    println!(
        "except `as planned`: our stale plan scored with the times it was made with, so what it loses to start-ups and packing (the rest of `ours` is the drift)"
    );
    println!(
        "`steal`: our stale plan where a shard out of work takes the next unstarted piece of the shard with the most predicted work left ({} s claim + start-up each)",
        steal::CLAIM_SECONDS
    );
    println!(
        "{:<24} {:>5} {:>6} | {:>7} {:>7} {:>11} | {:>7} | {:>7} {:>11}",
        "planned with -> run",
        "files",
        "shards",
        "as planned",
        "ours",
        "run_test.py",
        "steal",
        "fresh",
        "fresh rtp"
    );
    for pair in snapshots.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        // Both planners get run_test.py's own inputs where the reference has them, so its
        // column is the real function's plan; other pairs get this project's selection.
        let selection = match reference.inputs(&old.label) {
            Some(inputs) => inputs,
            None => selection(&new.times, &config, &policy)?,
        };
        for shards in SHARD_COUNTS {
            let ideal = model.ideal(&selection, &new.times, shards);
            let score = |plan: Vec<Vec<Piece>>| -> Result<f64> {
                model::check_union(&selection, &plan)?;
                Ok(model.longest(&plan, &new.times)? / ideal)
            };
            let cfg = PlanConfig {
                shards,
                threads: WORKERS,
                piece_startup_seconds: model.startup_seconds,
            };
            let stale = ours(&selection, &old.times, &cfg)?;
            // Files the older times lack were planned blind; they count as nothing here.
            let known: Vec<Vec<Piece>> = stale
                .iter()
                .map(|shard| {
                    let known = shard.iter().filter(|p| old.times.contains_key(&p.module));
                    known.cloned().collect()
                })
                .collect();
            let as_planned =
                model.longest(&known, &old.times)? / model.ideal(&selection, &old.times, shards);
            let stolen = steal::longest(&model, &stale, &new.times)? / ideal;
            println!(
                "{:<24} {:>5} {:>6} | {:>10.3} {:>7.3} {:>11.3} | {:>7.3} | {:>7.3} {:>11.3}",
                format!("{} -> {}", old.label, new.label),
                selection.len(),
                shards,
                as_planned,
                score(stale)?,
                score(run_test_py(&selection, &old.times, shards))?,
                stolen,
                score(ours(&selection, &new.times, &cfg)?)?,
                score(run_test_py(&selection, &new.times, shards))?,
            );
        }
    }
    Ok(())
}

/// Replays every plan of run_test.py's reference file and stops the bench at the first
/// that this reimplementation does not reproduce piece for piece.
fn check_reference(
    reference: &reference::Reference,
    path: &Path,
    snapshots: &[Snapshot],
) -> Result<()> {
    for case in &reference.cases {
        // A trimmed copy carries its times; the full file names its snapshot.
        let times = match (
            &reference.times,
            snapshots.iter().find(|s| s.label == case.label()),
        ) {
            (Some(times), _) => times,
            (None, Some(snapshot)) => &snapshot.times,
            (None, None) => bail!(
                "{}: a case was planned with {}, which is not among the snapshots",
                path.display(),
                case.planned_with
            ),
        };
        case.check(times)
            .with_context(|| format!("{} does not match", path.display()))?;
    }
    println!(
        "run_test.py's calculate_shards as reimplemented here reproduces all {} of its plans in {}",
        reference.cases.len(),
        path.display()
    );
    Ok(())
}

/// run_test.py's own plans on the history pairs (the data folder's README says how made).
const REFERENCE: &str = "run-test-py-calculate-shards.json";

/// The history snapshots by date, then the newest file.
fn snapshots(data: &Path, key: &JobKey) -> Result<Vec<Snapshot>> {
    let history = data.join("history");
    let newest = data.join("pytorch-test-times.json");
    if !history.is_dir() || !newest.is_file() {
        bail!(
            "{} not found (or it lacks history/ and pytorch-test-times.json): the plan bench \
             needs PyTorch's CI times, kept outside the repository in ../shared/data; pass \
             --data DIR to point at a copy",
            data.display()
        );
    }
    let mut dated: Vec<(String, PathBuf)> = std::fs::read_dir(&history)
        .with_context(|| format!("reading {}", history.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?;
            let date = name
                .strip_prefix("pytorch-test-times-")?
                .strip_suffix(".json")?;
            Some((date.to_string(), path))
        })
        .collect();
    dated.sort();
    if dated.is_empty() {
        bail!(
            "{} has no pytorch-test-times-<date>.json snapshots to plan with",
            history.display()
        );
    }
    dated.push(("newest".into(), newest));
    dated
        .into_iter()
        .map(|(label, path)| {
            Ok(Snapshot {
                label,
                times: times::load(&path, key)?,
            })
        })
        .collect()
}

/// The files the config runs, as the project selects them, each with must_serial.
fn selection(
    truth: &FileTimes,
    config: &TestConfig,
    policy: &Policy,
) -> Result<Vec<(String, bool)>> {
    let modules: Vec<TestModule> = truth
        .keys()
        .filter_map(|m| TestModule::new(m).ok())
        .collect();
    let kept = match config.selection(|m| truth.contains_key(m)) {
        Some(selection) => selection.apply(&modules, policy)?,
        None => modules,
    };
    Ok(kept
        .iter()
        .map(|m| (m.to_string(), policy.must_serial(m.as_str())))
        .collect())
}

/// This project's plan of the selection with `times`.
fn ours(
    selection: &[(String, bool)],
    times: &FileTimes,
    cfg: &PlanConfig,
) -> Result<Vec<Vec<Piece>>> {
    let files: Vec<PlanFile> = selection
        .iter()
        .map(|(module, serial)| {
            Ok(PlanFile {
                module: TestModule::new(module)?,
                seconds: times.get(module).copied(),
                serial: *serial,
                splittable: true,
                case: None,
            })
        })
        .collect::<Result<_>>()?;
    let serial: BTreeMap<&str, bool> = selection.iter().map(|(m, s)| (m.as_str(), *s)).collect();
    let planned = plan(&files, cfg);
    planned
        .shards
        .iter()
        .map(|shard| {
            shard
                .cases
                .iter()
                .map(|name| {
                    let case = PythonCase::parse(name)?;
                    let module = case.module.to_string();
                    Ok(Piece {
                        serial: serial.get(module.as_str()).copied().unwrap_or(false),
                        index: case.piece.map_or(1, |p| p.index),
                        count: case.piece.map_or(1, |p| p.count),
                        planned: planned.case_seconds.get(name).copied(),
                        module,
                    })
                })
                .collect()
        })
        .collect()
}

/// run_test.py's plan of the selection with `times`, in its input order (alphabetical).
fn run_test_py(selection: &[(String, bool)], times: &FileTimes, shards: usize) -> Vec<Vec<Piece>> {
    let mut tests: Vec<(String, Option<f64>)> = selection
        .iter()
        .map(|(m, _)| (m.clone(), times.get(m).copied()))
        .collect();
    tests.sort_by(|a, b| a.0.cmp(&b.0));
    let serial: BTreeMap<&str, bool> = selection.iter().map(|(m, s)| (m.as_str(), *s)).collect();
    let is_serial = |m: &str| serial.get(m).copied().unwrap_or(false);
    run_test_py::calculate_shards(shards, &tests, is_serial, WORKERS, reference::SORT_BY_TIME)
        .into_iter()
        .map(|(_, pieces)| {
            pieces
                .into_iter()
                .map(|p| Piece {
                    serial: is_serial(&p.name),
                    module: p.name,
                    index: p.shard,
                    count: p.num_shards,
                    planned: p.time,
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_shared_data_the_bench_says_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("data");
        let err = snapshots(&missing, &JobKey::default())
            .err()
            .expect("no data, no bench")
            .to_string();
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(err.contains("--data"), "{err}");
        // A folder with the newest file but no snapshots is refused as well.
        std::fs::create_dir_all(missing.join("history")).unwrap();
        std::fs::write(missing.join("pytorch-test-times.json"), "{}").unwrap();
        let err = snapshots(&missing, &JobKey::default()).err().unwrap();
        assert!(err.to_string().contains("no pytorch-test-times-"), "{err}");
    }

    #[test]
    fn the_reference_check_uses_the_times_a_trimmed_copy_carries_or_names_the_missing_snapshot() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/run-test-py-calculate-shards.json");
        let mut reference = reference::load(&path).unwrap();
        check_reference(&reference, &path, &[]).unwrap();
        reference.times = None;
        let err = check_reference(&reference, &path, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("planned with pytorch-test-times-2026-04-01.json, which is not among"),
            "{err}"
        );
    }

    #[test]
    fn snapshots_come_by_date_then_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &Path, seconds: f64| {
            std::fs::write(
                path,
                format!("{{\"default\": {{\"default\": {{\"test_a\": {seconds}}}}}}}"),
            )
            .unwrap()
        };
        std::fs::create_dir_all(dir.path().join("history")).unwrap();
        write(
            &dir.path()
                .join("history/pytorch-test-times-2026-07-01.json"),
            2.0,
        );
        write(
            &dir.path()
                .join("history/pytorch-test-times-2026-04-01.json"),
            1.0,
        );
        write(&dir.path().join("pytorch-test-times.json"), 3.0);
        let found = snapshots(dir.path(), &JobKey::new("", "x", "default")).unwrap();
        let labels: Vec<&str> = found.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["2026-04-01", "2026-07-01", "newest"]);
        assert_eq!(found[2].times["test_a"], 3.0);
    }
}
