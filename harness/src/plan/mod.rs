//! Time-balanced shards: a pure function of (files, times, shard count, threads), so
//! every machine of a CI matrix computes the same plan.
//!
//! The time model is run_test.py's (research §3.6-3.7): a shard runs its serial cases
//! one at a time on the whole machine, and its other cases on `threads` workers, each
//! case on the least-loaded one. Long files are split into pieces that each run the
//! whole file with `--shard-id/--num-shards`; every extra piece pays a start-up cost, so
//! files are split only as far as balance needs. Pieces with known times are placed
//! longest first on the shard they finish earliest; files without a time go to the
//! shard their name hashes to, so adding or removing such a file moves nothing else.
//!
//! The submodules say what the plan covers and what it knows: which files a run
//! selects ([`select`], [`test_config`]) and how long each takes ([`times`]). The plan
//! takes them as plain [`PlanFile`]s, built by whoever discovered the cases; the file a
//! CI run plans once and ships to every shard is a [`document::PlanDocument`].

pub mod document;
pub mod select;
pub mod test_config;
pub mod times;

use crate::case::{Piece, PythonCase, TestModule};
use crate::util::hash::stable_hash;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A file to place.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanFile {
    pub module: TestModule,
    /// Expected seconds for the whole file (or case), if known.
    pub seconds: Option<f64>,
    /// Runs alone on the machine (run_test.py's must_serial).
    pub serial: bool,
    /// Can run in pieces (`--shard-id/--num-shards`).
    pub splittable: bool,
    /// The case's name when it is not the module's (a distributed configuration).
    pub case: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanConfig {
    pub shards: usize,
    /// Workers per machine for non-serial cases (PyTorch's NUM_PROCS).
    pub threads: usize,
    /// Seconds each extra piece of a split file costs (interpreter and collection).
    pub piece_startup_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub lower_bound_seconds: f64,
    pub shards: Vec<Shard>,
    /// The shard this machine runs, when the plan was written for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_shard: Option<usize>,
    /// Expected seconds of each case with a known time (the harness's timeouts).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub case_seconds: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based.
    pub shard: usize,
    pub predicted_seconds: f64,
    pub cases: Vec<String>,
}

impl Plan {
    pub fn longest_over_lower_bound(&self) -> f64 {
        let longest = self
            .shards
            .iter()
            .map(|s| s.predicted_seconds)
            .fold(0.0, f64::max);
        if self.lower_bound_seconds > 0.0 {
            longest / self.lower_bound_seconds
        } else {
            1.0
        }
    }

    /// The cases of the selected shard, if one is selected.
    pub fn selected_cases(&self) -> Option<&[String]> {
        let index = self.selected_shard?;
        self.shards
            .iter()
            .find(|s| s.shard == index)
            .map(|s| s.cases.as_slice())
    }
}

/// One case of the plan with its expected wall time on one worker.
#[derive(Debug, Clone)]
struct Item {
    name: String,
    seconds: Option<f64>,
    serial: bool,
}

/// A shard being filled: serial seconds plus per-worker loads.
#[derive(Debug, Clone)]
struct Load {
    serial: f64,
    workers: Vec<f64>,
    cases: Vec<String>,
}

impl Load {
    fn total(&self) -> f64 {
        self.serial + self.workers.iter().copied().fold(0.0, f64::max)
    }

    fn total_with(&self, item: &Item) -> f64 {
        let t = item.seconds.unwrap_or(0.0);
        let busiest = self.workers.iter().copied().fold(0.0, f64::max);
        if item.serial {
            self.serial + t + busiest
        } else {
            let idlest = self.workers.iter().copied().fold(f64::INFINITY, f64::min);
            self.serial + busiest.max(idlest + t)
        }
    }

    fn add(&mut self, item: Item) {
        let t = item.seconds.unwrap_or(0.0);
        if item.serial {
            self.serial += t;
        } else if let Some(idlest) = self.workers.iter_mut().min_by(|a, b| a.total_cmp(b)) {
            *idlest += t;
        }
        self.cases.push(item.name);
    }
}

/// The lower bound on the longest shard: the machine-time of all work over the
/// shards, or the longest piece that cannot be split further (a file that is not
/// splittable, or a piece already as short as splitting pays), whichever is larger.
pub fn lower_bound(files: &[PlanFile], cfg: &PlanConfig) -> f64 {
    let threads = cfg.threads.max(1) as f64;
    let machine_time: f64 = files
        .iter()
        .map(|f| {
            let t = f.seconds.unwrap_or(0.0);
            if f.serial { t } else { t / threads }
        })
        .sum();
    let shortest = shortest_piece(cfg);
    let unsplittable = files
        .iter()
        .filter_map(|f| {
            let t = f.seconds?;
            Some(if f.splittable {
                t / (t / shortest).floor().max(1.0)
            } else {
                t
            })
        })
        .fold(0.0, f64::max);
    (machine_time / cfg.shards.max(1) as f64).max(unsplittable)
}

/// How many pieces a file runs in when a shard should hold `per_shard` of them.
pub fn piece_count(file: &PlanFile, ideal_shard: f64, per_shard: f64, cfg: &PlanConfig) -> u32 {
    let Some(t) = file.seconds.filter(|t| *t > 0.0) else {
        return 1;
    };
    if !file.splittable {
        return 1;
    }
    // Pieces of at most a quarter of a shard pack evenly; never longer than the
    // threshold. Each extra piece adds its start-up cost, so a piece must be worth
    // several start-ups or splitting costs more than it balances.
    let target = (ideal_shard / per_shard).max(shortest_piece(cfg));
    let n = (t / target).ceil();
    n.clamp(1.0, 1000.0) as u32
}

/// How finely to cut long files, in pieces per ideal shard: every granularity is
/// planned and the shortest longest shard wins (the first on ties), so files are
/// split exactly as far as it pays.
const GRANULARITIES: [f64; 7] = [1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0];

/// Pieces shorter than a few start-ups cost more than they balance.
fn shortest_piece(cfg: &PlanConfig) -> f64 {
    (4.0 * cfg.piece_startup_seconds).max(1.0)
}

pub fn plan(files: &[PlanFile], cfg: &PlanConfig) -> Plan {
    let cfg = &PlanConfig {
        shards: cfg.shards.max(1),
        ..*cfg
    };
    let lower = lower_bound(files, cfg);
    let mut best: Option<Plan> = None;
    let grid = GRANULARITIES
        .iter()
        .flat_map(|&p| GRANULARITIES.iter().map(move |&s| (p, s)));
    for (parallel, serial) in grid {
        let candidate = plan_with(files, cfg, lower, parallel, serial);
        let longest = |p: &Plan| p.longest_over_lower_bound();
        if best
            .as_ref()
            .is_none_or(|b| longest(&candidate) < longest(b))
        {
            best = Some(candidate);
        }
    }
    best.unwrap_or_else(|| plan_with(files, cfg, lower, 1.0, 1.0))
}

/// One candidate plan: parallel files cut into pieces of at most 1/`parallel` of an
/// ideal shard, serial files into pieces of at most 1/`serial` of one.
fn plan_with(files: &[PlanFile], cfg: &PlanConfig, lower: f64, parallel: f64, serial: f64) -> Plan {
    let shards = cfg.shards;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for file in files {
        let per_shard = if file.serial { serial } else { parallel };
        let n = piece_count(file, lower, per_shard, cfg);
        for index in 1..=n {
            let piece = (n > 1).then(|| Piece::new(index, n)).flatten();
            let case = PythonCase {
                module: file.module.clone(),
                piece,
            };
            let seconds = file
                .seconds
                .map(|t| (t + f64::from(n - 1) * cfg.piece_startup_seconds) / f64::from(n));
            let item = Item {
                name: file.case.clone().unwrap_or_else(|| case.name()),
                seconds,
                serial: file.serial,
            };
            if seconds.is_some() {
                known.push(item);
            } else {
                unknown.push(item);
            }
        }
    }
    known.sort_by(|a, b| {
        b.seconds
            .unwrap_or(0.0)
            .total_cmp(&a.seconds.unwrap_or(0.0))
            .then_with(|| a.name.cmp(&b.name))
    });
    let case_seconds: BTreeMap<String, f64> = known
        .iter()
        .filter_map(|item| Some((item.name.clone(), item.seconds?)))
        .collect();
    let mut loads = vec![
        Load {
            serial: 0.0,
            workers: vec![0.0; cfg.threads.max(1)],
            cases: Vec::new(),
        };
        shards
    ];
    for item in known {
        let best = (0..shards)
            .min_by(|&a, &b| {
                loads[a]
                    .total_with(&item)
                    .total_cmp(&loads[b].total_with(&item))
                    .then(a.cmp(&b))
            })
            .unwrap_or(0);
        loads[best].add(item);
    }
    for item in unknown {
        let index = (stable_hash(&item.name) % shards as u64) as usize;
        loads[index].add(item);
    }
    Plan {
        lower_bound_seconds: lower,
        shards: loads
            .into_iter()
            .enumerate()
            .map(|(i, load)| {
                let predicted_seconds = load.total();
                let mut cases = load.cases;
                cases.sort();
                Shard {
                    shard: i + 1,
                    predicted_seconds,
                    cases,
                }
            })
            .collect(),
        selected_shard: None,
        case_seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn file(name: &str, seconds: Option<f64>, serial: bool) -> PlanFile {
        PlanFile {
            module: TestModule::new(name).unwrap(),
            seconds,
            serial,
            splittable: true,
            case: None,
        }
    }

    fn cfg(shards: usize) -> PlanConfig {
        PlanConfig {
            shards,
            threads: 3,
            piece_startup_seconds: 5.0,
        }
    }

    fn files() -> Vec<PlanFile> {
        let mut files = vec![
            file("test_ops", Some(5000.0), false),
            file("test_nn", Some(900.0), true),
            file("distributed/test_c10d_gloo", Some(700.0), true),
            file("test_new", None, false),
            file("inductor/test_unknown", None, false),
        ];
        for i in 0..60 {
            files.push(file(
                &format!("test_f{i:02}"),
                Some(5.0 + i as f64 * 7.0),
                false,
            ));
        }
        files
    }

    /// Every file (or all pieces of it) in exactly one shard.
    fn assert_partition(plan: &Plan, files: &[PlanFile]) {
        let mut seen = BTreeSet::new();
        for shard in &plan.shards {
            for case in &shard.cases {
                assert!(seen.insert(case.clone()), "{case} in two shards");
            }
        }
        for f in files {
            let pieces: Vec<&String> = seen
                .iter()
                .filter(|c| PythonCase::parse(c).is_ok_and(|p| p.module == f.module))
                .collect();
            assert!(!pieces.is_empty(), "{} missing", f.module);
            let cases: Vec<PythonCase> = pieces
                .iter()
                .map(|c| PythonCase::parse(c).unwrap())
                .collect();
            match cases[0].piece {
                None => assert_eq!(cases.len(), 1),
                Some(p) => {
                    let indexes: BTreeSet<u32> =
                        cases.iter().map(|c| c.piece.unwrap().index).collect();
                    assert_eq!(indexes, (1..=p.count).collect());
                }
            }
        }
    }

    #[test]
    fn the_shards_partition_the_selection() {
        for shards in [1, 2, 3, 5, 10, 20] {
            let files = files();
            let plan = plan(&files, &cfg(shards));
            assert_eq!(plan.shards.len(), shards);
            assert_partition(&plan, &files);
        }
    }

    #[test]
    fn long_files_are_split_and_balanced() {
        let files = files();
        let plan = plan(&files, &cfg(5));
        let ops: Vec<&String> = plan
            .shards
            .iter()
            .flat_map(|s| &s.cases)
            .filter(|c| c.starts_with("test_ops::shard_"))
            .collect();
        assert!(ops.len() >= 2, "{ops:?}");
        assert!(plan.longest_over_lower_bound() < 1.1, "{plan:#?}");
    }

    #[test]
    fn the_plan_is_a_pure_function_of_its_inputs() {
        let mut files = files();
        let a = plan(&files, &cfg(5));
        files.reverse();
        assert_eq!(plan(&files, &cfg(5)), a);
    }

    #[test]
    fn a_new_file_without_times_moves_nothing_else() {
        let files = files();
        let before = plan(&files, &cfg(5));
        let mut more = files.clone();
        more.push(file("test_brand_new", None, false));
        let after = plan(&more, &cfg(5));
        for (b, a) in before.shards.iter().zip(&after.shards) {
            let added: Vec<&String> = a.cases.iter().filter(|c| !b.cases.contains(c)).collect();
            assert!(added.iter().all(|c| *c == "test_brand_new"), "{added:?}");
            assert!(b.cases.iter().all(|c| a.cases.contains(c)));
        }
    }

    #[test]
    fn serial_files_take_the_whole_machine() {
        let whole = |name, serial| PlanFile {
            splittable: false,
            ..file(name, Some(300.0), serial)
        };
        let one = plan(&[whole("test_nn", true), whole("test_a", false)], &cfg(1));
        assert_eq!(one.shards[0].predicted_seconds, 600.0);
        let parallel = plan(&[whole("test_b", false), whole("test_a", false)], &cfg(1));
        assert_eq!(parallel.shards[0].predicted_seconds, 300.0);
    }

    #[test]
    fn the_lower_bound_respects_unsplittable_pieces() {
        let mut big = file("cpp/test_api", Some(4000.0), false);
        big.splittable = false;
        let files = vec![big, file("test_a", Some(30.0), false)];
        assert_eq!(lower_bound(&files, &cfg(10)), 4000.0);
    }
}
