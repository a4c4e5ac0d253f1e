//! `cargo xtask bench plan`: how long the longest shard is against the lower bound,
//! for this planner, nextest's `slice:` and `hash:` partitions and run_test.py's
//! algorithm (research §3.6-3.7), all scored with one time model on PyTorch's times.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use torch_harness::case::{PythonCase, TestModule};
use torch_harness::plan::times::{self, FileTimes, JobKey};
use torch_harness::plan::{PlanConfig, PlanFile, lower_bound, plan};
use torch_harness::policy::Policy;
use torch_harness::util::hash::stable_hash;

#[derive(Args)]
pub struct PlanBenchArgs {
    #[arg(long, default_value = "../shared/data/pytorch-test-times.json")]
    times: PathBuf,
    #[arg(long, default_value = "linux-jammy-cuda13.0-py3.10-gcc11")]
    build_environment: String,
    #[arg(long, default_value = "default")]
    test_config: String,
}

const THREADS: usize = 3;

/// (seconds, runs alone on the machine)
type Work = (f64, bool);

pub fn run(args: PlanBenchArgs) -> Result<()> {
    let root = crate::workspace::root();
    let key = JobKey::new("", &args.build_environment, &args.test_config);
    let truth = times::load(&root.join(&args.times), &key)?;
    let policy = Policy::load(&root.join("test-manifests"), &root.join("demo"))?;
    let files = plan_files(&truth, &policy);
    let cfg = |shards| PlanConfig {
        shards,
        threads: THREADS,
        piece_startup_seconds: policy.sharding.piece_startup_seconds,
    };
    // Half the files, chosen at random, planned with times off by up to 2x either way.
    let mut rng = Lcg(0x5eed);
    let mut stale = truth.clone();
    for t in stale.values_mut() {
        if rng.next() < 0.5 {
            *t *= 0.5 + 1.5 * rng.next();
        }
    }
    let stale_files = plan_files(&stale, &policy);
    println!(
        "bench plan: {} files, {:.1} h, {} / {}, {THREADS} threads per machine",
        files.len(),
        truth.values().sum::<f64>() / 3600.0,
        args.build_environment,
        args.test_config
    );
    println!(
        "longest shard / lower bound; the planner's own prediction first, then every plan scored with the true times:"
    );
    println!(
        "{:>6} {:>9} {:>9} {:>9} {:>9} {:>11} {:>15} {:>18}",
        "shards",
        "predicted",
        "planner",
        "slice:",
        "hash:",
        "run_test.py",
        "planner, stale",
        "run_test.py, stale"
    );
    let threshold = policy.sharding.split_threshold_seconds;
    for shards in [2, 5, 10, 20] {
        let cfg = cfg(shards);
        let lb = lower_bound(&files, &cfg);
        let predicted = plan(&files, &cfg).longest_over_lower_bound();
        let ours = |files: &[PlanFile]| {
            let planned = plan(files, &cfg);
            let shards: Vec<Vec<Work>> = planned
                .shards
                .iter()
                .map(|s| {
                    s.cases
                        .iter()
                        .map(|c| piece_work(c, &truth, &policy, &cfg))
                        .collect()
                })
                .collect();
            makespan(&shards) / lb
        };
        let mut names: Vec<&PlanFile> = files.iter().collect();
        names.sort_by(|a, b| a.module.cmp(&b.module));
        let whole = |f: &PlanFile| (truth[f.module.as_str()], f.serial);
        let mut slice = vec![Vec::new(); shards];
        let mut hash = vec![Vec::new(); shards];
        for (i, f) in names.iter().enumerate() {
            slice[i % shards].push(whole(f));
            hash[(stable_hash(&f.module.case_name()) % shards as u64) as usize].push(whole(f));
        }
        println!(
            "{shards:>6} {predicted:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>11.3} {:>15.3} {:>18.3}",
            ours(&files),
            makespan(&slice) / lb,
            makespan(&hash) / lb,
            makespan(&run_test_py(&files, &truth, shards, threshold)) / lb,
            ours(&stale_files),
            makespan(&run_test_py(&stale_files, &truth, shards, threshold)) / lb,
        );
    }
    one_machine(&truth);
    Ok(())
}

fn plan_files(times: &FileTimes, policy: &Policy) -> Vec<PlanFile> {
    times
        .iter()
        .filter_map(|(name, t)| {
            Some(PlanFile {
                module: TestModule::new(name).ok()?,
                seconds: Some(*t),
                serial: policy.must_serial(name),
                splittable: true,
                case: None,
            })
        })
        .collect()
}

/// The true work of a planned case: its share of the file's time plus its start-up.
fn piece_work(case: &str, truth: &FileTimes, policy: &Policy, cfg: &PlanConfig) -> Work {
    let case = PythonCase::parse(case).expect("the planner names its cases");
    let module = case.module.as_str();
    let n = case.piece.map_or(1.0, |p| f64::from(p.count));
    let t = truth[module];
    (
        (t + (n - 1.0) * cfg.piece_startup_seconds) / n,
        policy.must_serial(module),
    )
}

/// The time model: serial work back to back, the rest greedily over the threads,
/// longest first. The longest shard.
fn makespan(shards: &[Vec<Work>]) -> f64 {
    shards
        .iter()
        .map(|work| {
            let serial: f64 = work.iter().filter(|w| w.1).map(|w| w.0).sum();
            let mut parallel: Vec<f64> = work.iter().filter(|w| !w.1).map(|w| w.0).collect();
            parallel.sort_by(|a, b| b.total_cmp(a));
            serial + list_schedule(&parallel, THREADS)
        })
        .fold(0.0, f64::max)
}

fn list_schedule(jobs: &[f64], threads: usize) -> f64 {
    let mut workers = vec![0.0f64; threads];
    for job in jobs {
        if let Some(w) = workers.iter_mut().min_by(|a, b| a.total_cmp(b)) {
            *w += job;
        }
    }
    workers.into_iter().fold(0.0, f64::max)
}

/// run_test.py's calculate_shards as it runs (sort_by_time=False: alphabetical input),
/// planned on `files`' times, returned with the true work of each piece.
fn run_test_py(
    files: &[PlanFile],
    truth: &FileTimes,
    shards: usize,
    threshold: f64,
) -> Vec<Vec<Work>> {
    struct Job {
        serial: Vec<f64>,
        parallel: Vec<f64>,
        work: Vec<Work>,
    }
    impl Job {
        fn total(&self) -> f64 {
            self.serial.iter().sum::<f64>() + list_schedule(&self.parallel, THREADS)
        }
    }
    let mut sorted: Vec<&PlanFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.module.cmp(&b.module));
    // (planned seconds, true seconds, serial)
    let mut pieces = Vec::new();
    for f in sorted {
        let (t, real) = (f.seconds.unwrap_or(0.0), truth[f.module.as_str()]);
        let n = if t > threshold {
            (t / threshold).ceil()
        } else {
            1.0
        };
        for _ in 0..n as usize {
            pieces.push((t / n, real / n, f.serial));
        }
    }
    let serial_time: f64 = pieces.iter().filter(|p| p.2).map(|p| p.0).sum();
    let parallel_time: f64 = pieces.iter().filter(|p| !p.2).map(|p| p.0).sum();
    let total = serial_time + parallel_time / THREADS as f64;
    let per_shard = total / shards as f64;
    let mut limit = if per_shard > 0.0 {
        serial_time % per_shard
    } else {
        0.0
    };
    if limit <= 0.01 {
        limit = per_shard;
    }
    let serial_shards = ((serial_time / total * shards as f64).ceil() as usize).clamp(1, shards);
    let mut jobs: Vec<Job> = (0..shards)
        .map(|_| Job {
            serial: Vec::new(),
            parallel: Vec::new(),
            work: Vec::new(),
        })
        .collect();
    let least = |jobs: &[Job], candidates: usize| {
        (0..candidates)
            .min_by(|&a, &b| jobs[a].total().total_cmp(&jobs[b].total()).then(a.cmp(&b)))
            .unwrap_or(0)
    };
    for &(t, real, serial) in &pieces {
        if serial {
            let mut candidates = serial_shards;
            if candidates > 1 && jobs[candidates - 1].total() > limit {
                candidates -= 1;
            }
            let j = least(&jobs, candidates);
            jobs[j].serial.push(t);
            jobs[j].work.push((real, true));
        } else {
            let j = least(&jobs, shards);
            jobs[j].parallel.push(t);
            jobs[j].work.push((real, false));
        }
    }
    jobs.into_iter().map(|j| j.work).collect()
}

/// One machine, 3 threads, the 40 longest files: longest first versus by name.
fn one_machine(truth: &FileTimes) {
    let mut longest: Vec<(&String, f64)> = truth.iter().map(|(n, t)| (n, *t)).collect();
    longest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    longest.truncate(40);
    let by_time: Vec<f64> = longest.iter().map(|x| x.1).collect();
    let mut by_name = longest.clone();
    by_name.sort_by(|a, b| a.0.cmp(b.0));
    let by_name: Vec<f64> = by_name.iter().map(|x| x.1).collect();
    let sum: f64 = by_time.iter().sum();
    let lb = (sum / THREADS as f64).max(by_time[0]);
    println!(
        "one machine, {THREADS} threads, the 40 longest files: makespan / lower bound = {:.3} longest first, {:.3} by name",
        list_schedule(&by_time, THREADS) / lb,
        list_schedule(&by_name, THREADS) / lb
    );
}

/// A small deterministic generator, so every run perturbs the same files.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}
