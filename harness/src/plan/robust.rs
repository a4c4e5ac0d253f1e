//! Plans that survive stale times.
//!
//! The times a plan is made with are a week or a month older than the run it cuts, and
//! a file's time drifts as a whole: every piece of it grows or shrinks together. So:
//!
//! - long files are cut into pieces of at most a fraction of the ideal shard, and the
//!   pieces of one file go to different shards, so a file's drift moves many shards a
//!   little instead of one shard a lot;
//! - every extra piece costs a start-up, so how finely to cut is chosen per plan: each
//!   candidate fraction is placed, then scored on the planning times perturbed file by
//!   file in a fixed set of scenarios, and the candidate with the best mean
//!   longest-shard-over-ideal wins (the first on ties).
//!
//! Everything here uses only IEEE arithmetic and square roots on inputs sorted by name,
//! so every machine of a CI matrix computes the same plan.

use crate::case::{Piece, PythonCase};
use crate::plan::{PlanConfig, PlanFile};
use crate::util::hash::stable_hash;

/// Pieces of at most this fraction of the ideal shard; each is tried.
const CAP_FRACTIONS: [f64; 7] = [0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6];

/// How far a file's time is assumed to drift between the times and the run: the
/// standard deviation of its relative change. April-May 2026 weeks moved files by a
/// few percent, July ones by a quarter; a tenth balances the two.
const DRIFT: f64 = 0.1;

/// Scenarios each candidate is scored on.
const SCENARIOS: u64 = 16;

/// One case to place: a file, or one of `count` pieces of it.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub name: String,
    /// Index of the file (in name order) the unit belongs to.
    pub file: usize,
    pub count: u32,
    /// Expected seconds of the unit, start-up included; None without a time.
    pub seconds: Option<f64>,
    pub serial: bool,
}

/// A shard being filled: serial seconds plus per-worker loads, in planning times.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    serial: f64,
    workers: Vec<f64>,
    /// Indices into the units, in the order they were placed (longest first).
    pub units: Vec<usize>,
}

impl Load {
    fn new(threads: usize) -> Load {
        Load {
            serial: 0.0,
            workers: vec![0.0; threads.max(1)],
            units: Vec::new(),
        }
    }

    pub fn total(&self) -> f64 {
        self.serial + self.workers.iter().copied().fold(0.0, f64::max)
    }

    fn total_with(&self, seconds: f64, serial: bool) -> f64 {
        let busiest = self.workers.iter().copied().fold(0.0, f64::max);
        if serial {
            self.serial + seconds + busiest
        } else {
            let idlest = self.workers.iter().copied().fold(f64::INFINITY, f64::min);
            self.serial + busiest.max(idlest + seconds)
        }
    }

    fn add(&mut self, index: usize, unit: &Unit) {
        let t = unit.seconds.unwrap_or(0.0);
        if unit.serial {
            self.serial += t;
        } else if let Some(idlest) = self.workers.iter_mut().min_by(|a, b| a.total_cmp(b)) {
            *idlest += t;
        }
        self.units.push(index);
    }
}

/// The chosen plan: its units and the shards holding them.
pub(crate) struct Layout {
    pub units: Vec<Unit>,
    pub loads: Vec<Load>,
}

/// The most robust of the candidate layouts of `files` (sorted by name).
pub(crate) fn best_layout(files: &[&PlanFile], cfg: &PlanConfig) -> Layout {
    let ideal = ideal_shard(files, cfg);
    let scenarios = scenarios(files);
    let mut best: Option<(f64, Layout)> = None;
    for fraction in CAP_FRACTIONS {
        let units = cut(files, cfg, ideal * fraction);
        let loads = place(&units, cfg);
        let candidate = Layout { units, loads };
        let score = mean_score(&candidate, files, cfg, &scenarios);
        if best.as_ref().is_none_or(|(b, _)| score < *b) {
            best = Some((score, candidate));
        }
    }
    match best {
        Some((_, layout)) => layout,
        None => {
            let units = cut(files, cfg, ideal);
            let loads = place(&units, cfg);
            Layout { units, loads }
        }
    }
}

/// Machine-seconds of the known work over the shards.
fn ideal_shard(files: &[&PlanFile], cfg: &PlanConfig) -> f64 {
    super::machine_seconds(files.iter().copied(), cfg.threads) / cfg.shards.max(1) as f64
}

/// Pieces shorter than a few start-ups cost more than they balance.
pub(crate) fn shortest_piece(cfg: &PlanConfig) -> f64 {
    (4.0 * cfg.piece_startup_seconds).max(1.0)
}

/// Every file as units: splittable files longer than `cap` in pieces of at most `cap`.
pub(crate) fn cut(files: &[&PlanFile], cfg: &PlanConfig, cap: f64) -> Vec<Unit> {
    let cap = cap.max(shortest_piece(cfg));
    let mut units = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let count = match file.seconds {
            Some(t) if file.splittable && t > cap => (t / cap).ceil().min(1000.0) as u32,
            _ => 1,
        };
        let seconds = file.seconds.map(|t| {
            let k = f64::from(count);
            (t + (k - 1.0) * cfg.piece_startup_seconds) / k
        });
        for piece_index in 1..=count {
            let piece = (count > 1)
                .then(|| Piece::new(piece_index, count))
                .flatten();
            let name = file.case.clone().unwrap_or_else(|| {
                PythonCase {
                    module: file.module.clone(),
                    classes: None,
                    piece,
                }
                .name()
            });
            units.push(Unit {
                name,
                file: index,
                count,
                seconds,
                serial: file.serial,
            });
        }
    }
    units
}

/// Known units largest first (a serial unit counts whole, a parallel one per worker),
/// each on the shard it finishes earliest among those that hold the fewest pieces of
/// its file; units without a time on their name's hash, so adding one moves nothing
/// else.
pub(crate) fn place(units: &[Unit], cfg: &PlanConfig) -> Vec<Load> {
    let shards = cfg.shards.max(1);
    let mut order: Vec<usize> = (0..units.len())
        .filter(|&i| units[i].seconds.is_some())
        .collect();
    let threads = cfg.threads.max(1) as f64;
    let wall = |i: usize| {
        let t = units[i].seconds.unwrap_or(0.0);
        if units[i].serial { t } else { t / threads }
    };
    order.sort_by(|&a, &b| {
        wall(b)
            .total_cmp(&wall(a))
            .then_with(|| units[a].name.cmp(&units[b].name))
    });
    let mut loads = vec![Load::new(cfg.threads); shards];
    // Pieces of the file each shard holds, for files in more than one piece.
    let mut held: std::collections::BTreeMap<usize, Vec<u32>> = Default::default();
    for index in order {
        let unit = &units[index];
        let t = unit.seconds.unwrap_or(0.0);
        let counts = (unit.count > 1).then(|| held.entry(unit.file).or_insert(vec![0; shards]));
        let fewest = counts
            .as_ref()
            .map_or(0, |c| c.iter().copied().min().unwrap_or(0));
        let eligible = |s: usize| counts.as_ref().is_none_or(|c| c[s] == fewest);
        let chosen = (0..shards)
            .filter(|&s| eligible(s))
            .min_by(|&a, &b| {
                loads[a]
                    .total_with(t, unit.serial)
                    .total_cmp(&loads[b].total_with(t, unit.serial))
                    .then(a.cmp(&b))
            })
            .unwrap_or(0);
        if let Some(c) = counts {
            c[chosen] += 1;
        }
        loads[chosen].add(index, unit);
    }
    for (index, unit) in units.iter().enumerate() {
        if unit.seconds.is_none() {
            loads[(stable_hash(&unit.name) % shards as u64) as usize].add(index, unit);
        }
    }
    loads
}

/// Per scenario, per file: the factor its time is multiplied by. Each factor is
/// 1 + DRIFT·z, z an approximately normal deviate (the sum of four uniforms from the
/// file's name), so a scenario is the same on every machine.
fn scenarios(files: &[&PlanFile]) -> Vec<Vec<f64>> {
    (0..SCENARIOS)
        .map(|s| {
            files
                .iter()
                .map(|f| {
                    let name = f.case.as_deref().unwrap_or(f.module.as_str());
                    let sum: f64 = (0..4)
                        .map(|j| {
                            let h = stable_hash(&format!("{name}#{s}#{j}"));
                            (h >> 11) as f64 / (1u64 << 53) as f64
                        })
                        .sum();
                    // Four uniforms: mean 2, variance 1/3.
                    let z = (sum - 2.0) * 3f64.sqrt();
                    (1.0 + DRIFT * z).max(0.1)
                })
                .collect()
        })
        .collect()
}

/// The layout's mean longest shard over the ideal across the scenarios, with each
/// shard run under run_test.py's time model: serial units back to back, the rest started in
/// placement order on the worker that frees first.
fn mean_score(
    layout: &Layout,
    files: &[&PlanFile],
    cfg: &PlanConfig,
    scenarios: &[Vec<f64>],
) -> f64 {
    let threads = cfg.threads.max(1);
    let mut total = 0.0;
    for factors in scenarios {
        let work: f64 = files
            .iter()
            .zip(factors)
            .map(|(f, x)| {
                let t = f.seconds.unwrap_or(0.0) * x;
                if f.serial { t } else { t / threads as f64 }
            })
            .sum();
        let ideal = work / cfg.shards.max(1) as f64;
        let mut longest = 0.0f64;
        for load in &layout.loads {
            let mut serial = 0.0;
            let mut free_at = vec![0.0f64; threads];
            for &i in &load.units {
                let unit = &layout.units[i];
                let Some(t) = files[unit.file].seconds else {
                    continue;
                };
                let k = f64::from(unit.count);
                let cost = t * factors[unit.file] / k + cfg.piece_startup_seconds * (k - 1.0) / k;
                if unit.serial {
                    serial += cost;
                } else if let Some(w) = free_at.iter_mut().min_by(|a, b| a.total_cmp(b)) {
                    *w += cost;
                }
            }
            longest = longest.max(serial + free_at.into_iter().fold(0.0, f64::max));
        }
        total += if ideal > 0.0 { longest / ideal } else { 1.0 };
    }
    total / scenarios.len().max(1) as f64
}
