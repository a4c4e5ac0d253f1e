//! Time-balanced shards: a pure function of (files, times, shard count, threads), so
//! every machine of a CI matrix computes the same plan.
//!
//! The time model is run_test.py's (research §3.6-3.7): a shard runs its serial cases
//! one at a time on the whole machine, and its other cases on `threads` workers, each
//! case on the least-loaded one. Long files are split into pieces that each run the
//! whole file with `--shard-id/--num-shards`; how finely, and where the pieces go so the
//! plan survives stale times, is the `robust` submodule's job. Files without a time go to the
//! shard their name hashes to, so adding or removing such a file moves nothing else.
//!
//! The submodules say what the plan covers and what it knows: which files a run
//! selects ([`select`], [`test_config`]), how long each takes ([`times`]) and in
//! which order target determination runs them ([`td`]), and which files it cuts into
//! class runs ([`class_runs`], composed with discovery's files). The plan takes them as
//! plain [`PlanFile`]s, built by whoever discovered the cases; the file a CI run plans once
//! and ships to every shard is a [`document::PlanDocument`].

pub mod class_runs;
pub mod document;
mod robust;
pub mod select;
pub mod td;
pub mod test_config;
pub mod times;

use crate::case::TestModule;
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

/// The lower bound on the longest shard: the machine-time of all work over the
/// shards, or the longest piece that cannot be split further (a file that is not
/// splittable, or a piece already as short as splitting pays), whichever is larger.
pub fn lower_bound(files: &[PlanFile], cfg: &PlanConfig) -> f64 {
    let machine_time = machine_seconds(files.iter(), cfg.threads);
    let shortest = robust::shortest_piece(cfg);
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

/// Wall seconds the known work of `files` holds a machine of `threads` workers: a
/// serial file all of it, another a worker's share.
fn machine_seconds<'a>(files: impl Iterator<Item = &'a PlanFile>, threads: usize) -> f64 {
    let threads = threads.max(1) as f64;
    files
        .map(|f| {
            let t = f.seconds.unwrap_or(0.0);
            if f.serial { t } else { t / threads }
        })
        .sum()
}

pub fn plan(files: &[PlanFile], cfg: &PlanConfig) -> Plan {
    let cfg = &PlanConfig {
        shards: cfg.shards.max(1),
        ..*cfg
    };
    // Name order, so the plan does not depend on the order files were found in.
    let mut sorted: Vec<&PlanFile> = files.iter().collect();
    sorted.sort_by(|a, b| (&a.module, &a.case).cmp(&(&b.module, &b.case)));
    let layout = robust::best_layout(&sorted, cfg);
    let case_seconds: BTreeMap<String, f64> = layout
        .units
        .iter()
        .filter_map(|u| Some((u.name.clone(), u.seconds?)))
        .collect();
    Plan {
        lower_bound_seconds: lower_bound(files, cfg),
        shards: layout
            .loads
            .iter()
            .enumerate()
            .map(|(i, load)| {
                let mut cases: Vec<String> = load
                    .units
                    .iter()
                    .map(|&u| layout.units[u].name.clone())
                    .collect();
                cases.sort();
                Shard {
                    shard: i + 1,
                    predicted_seconds: load.total(),
                    cases,
                }
            })
            .collect(),
        selected_shard: None,
        case_seconds,
    }
}

/// Files and configurations for the plan's tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A splittable file.
    pub fn file(name: &str, seconds: Option<f64>, serial: bool) -> PlanFile {
        PlanFile {
            module: TestModule::new(name).unwrap(),
            seconds,
            serial,
            splittable: true,
            case: None,
        }
    }

    /// `shards` machines of 3 workers, 5 s per extra piece.
    pub fn cfg(shards: usize) -> PlanConfig {
        PlanConfig {
            shards,
            threads: 3,
            piece_startup_seconds: 5.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{cfg, file};
    use super::*;
    use crate::case::PythonCase;
    use std::collections::BTreeSet;

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
        for case in &seen {
            assert!(
                files
                    .iter()
                    .any(|f| PythonCase::parse(case).is_ok_and(|p| p.module == f.module)),
                "{case} was never selected"
            );
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
        assert_partition(&plan, &files);
        let cfg = cfg(5);
        let best = machine_time(&files, &cfg) / cfg.shards as f64;
        let longest = plan
            .shards
            .iter()
            .map(|s| simulated_seconds(&s.cases, &files, &cfg))
            .fold(0.0, f64::max);
        assert!(longest < 1.1 * best, "{longest} vs {best}: {plan:#?}");
    }

    /// All the work in machine-seconds (a serial file holds every worker), computed
    /// here from the inputs: no plan's longest shard beats this over the shard count.
    fn machine_time(files: &[PlanFile], cfg: &PlanConfig) -> f64 {
        files
            .iter()
            .map(|f| {
                let t = f.seconds.unwrap_or(0.0);
                if f.serial { t } else { t / cfg.threads as f64 }
            })
            .sum()
    }

    /// A shard's wall time recomputed from its case names: serial pieces in turn, the
    /// others longest first on the least-loaded worker, each extra piece of a file
    /// paying one start-up.
    fn simulated_seconds(cases: &[String], files: &[PlanFile], cfg: &PlanConfig) -> f64 {
        let mut serial = 0.0;
        let mut parallel = Vec::new();
        for case in cases {
            let (module, n) = match case.rsplit_once("::shard_") {
                Some((module, piece)) => {
                    let n: u32 = piece.rsplit("_of_").next().unwrap().parse().unwrap();
                    (module.replace("::", "/"), n)
                }
                None => (case.replace("::", "/"), 1),
            };
            let file = files.iter().find(|f| f.module.as_str() == module).unwrap();
            let whole = file.seconds.unwrap_or(0.0);
            let t = (whole + f64::from(n - 1) * cfg.piece_startup_seconds) / f64::from(n);
            if file.serial {
                serial += t;
            } else {
                parallel.push(t);
            }
        }
        parallel.sort_by(|a, b| b.total_cmp(a));
        let mut workers = vec![0.0f64; cfg.threads];
        for t in parallel {
            *workers.iter_mut().min_by(|a, b| a.total_cmp(b)).unwrap() += t;
        }
        serial + workers.iter().copied().fold(0.0, f64::max)
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

    /// The longest shard over the ideal when every shard runs its cases one after
    /// another (one thread, no start-up cost): written out here, apart from the
    /// planner's own scoring.
    fn one_thread_score(plan: &Plan, truth: &[(&str, f64)]) -> f64 {
        let time = |module: &str| truth.iter().find(|(m, _)| *m == module).unwrap().1;
        let shard_seconds = |s: &Shard| -> f64 {
            s.cases
                .iter()
                .map(|c| {
                    let case = PythonCase::parse(c).unwrap();
                    let pieces = case.piece.map_or(1, |p| p.count);
                    time(case.module.as_str()) / f64::from(pieces)
                })
                .sum()
        };
        let longest = plan.shards.iter().map(shard_seconds).fold(0.0, f64::max);
        let ideal = truth.iter().map(|(_, t)| t).sum::<f64>() / plan.shards.len() as f64;
        longest / ideal
    }

    #[test]
    fn a_file_that_grows_after_planning_moves_every_shard_together() {
        let cfg = PlanConfig {
            shards: 2,
            threads: 1,
            piece_startup_seconds: 0.0,
        };
        // Planned with test_big at 100 s; by the run it takes 150 s.
        let planned = [
            file("test_big", Some(100.0), false),
            file("test_b", Some(50.0), false),
            file("test_c", Some(50.0), false),
        ];
        let truth = [("test_big", 150.0), ("test_b", 50.0), ("test_c", 50.0)];
        // The old planner fitted the planning times exactly: test_big whole on one
        // shard, test_b and test_c on the other. In the run: 150 s against an ideal
        // of (150 + 50 + 50) / 2 = 125 s.
        let old = 150.0 / 125.0;
        let plan = plan(&planned, &cfg);
        assert_partition(&plan, &planned);
        let big_on: Vec<usize> = plan
            .shards
            .iter()
            .filter(|s| s.cases.iter().any(|c| c.starts_with("test_big::shard_")))
            .map(|s| s.shard)
            .collect();
        assert_eq!(big_on, [1, 2], "{plan:#?}");
        let ours = one_thread_score(&plan, &truth);
        assert!(ours <= 1.1 && ours < old, "{ours} vs {old}: {plan:#?}");
    }

    #[test]
    fn the_pieces_of_a_file_go_to_different_shards() {
        let files = files();
        for shards in [3, 5, 10] {
            let plan = plan(&files, &cfg(shards));
            for s in &plan.shards {
                let ops = s
                    .cases
                    .iter()
                    .filter(|c| c.starts_with("test_ops::"))
                    .count();
                let count = plan
                    .shards
                    .iter()
                    .flat_map(|s| &s.cases)
                    .filter(|c| c.starts_with("test_ops::"))
                    .count();
                // As evenly as the count allows: never two more on one shard than another.
                assert!(
                    ops == count / shards || ops == count.div_ceil(shards),
                    "{shards} shards, {count} pieces, {ops} here: {plan:#?}"
                );
            }
        }
    }

    /// The bound's machine-time term, pinned with figures worked out by hand: every
    /// term of the bound is compared with a literal, not with the planner's own sums.
    #[test]
    fn the_lower_bound_is_the_machine_time_over_the_shards() {
        let whole = |name: &str, seconds: f64, serial: bool| PlanFile {
            splittable: false,
            ..file(name, Some(seconds), serial)
        };
        // Four serial files of 100 s hold the machine 400 s; six parallel files of
        // 90 s on 3 workers, 540 / 3 = 180 s; an unknown time adds nothing. Over two
        // shards: (400 + 180) / 2 = 290 s, above the longest file (100 s).
        let mut files: Vec<PlanFile> = (0..4)
            .map(|i| whole(&format!("test_serial_{i}"), 100.0, true))
            .collect();
        files.extend((0..6).map(|i| whole(&format!("test_parallel_{i}"), 90.0, false)));
        files.push(file("test_unknown", None, false));
        assert_eq!(lower_bound(&files, &cfg(2)), 290.0);
        assert_eq!(plan(&files, &cfg(2)).lower_bound_seconds, 290.0);
        // One shard: the whole 580 s. Ten shards: 58 s is below the longest file, so
        // the file's 100 s.
        assert_eq!(lower_bound(&files, &cfg(1)), 580.0);
        assert_eq!(lower_bound(&files, &cfg(10)), 100.0);
        // A splittable 1000 s file on 3 workers adds 1000 / 3 to the machine time:
        // (580 + 1000 / 3) / 2 = 456.67 s.
        files.push(file("test_long", Some(1000.0), false));
        let bound = lower_bound(&files, &cfg(2));
        assert!((bound - 456.666_666).abs() < 1e-3, "{bound}");
    }

    #[test]
    fn the_lower_bound_respects_unsplittable_pieces() {
        let mut big = file("cpp/test_api", Some(4000.0), false);
        big.splittable = false;
        let files = vec![big, file("test_a", Some(30.0), false)];
        assert_eq!(lower_bound(&files, &cfg(10)), 4000.0);
    }
}
