//! The time model the bench scores every plan with, the same for every planner and kept
//! apart from the planner's own arithmetic so the bench does not grade itself:
//!
//! - a shard runs its must-serial pieces one after another, and the rest on `workers`
//!   processes, started longest first by the planning times, each on the worker that
//!   frees first;
//! - a piece that is one of `k` of a file takes `t/k + startup·(k−1)/k` seconds, `t` the
//!   file's true time;
//! - the ideal shard is (Σ serial t + Σ parallel t / workers) / shards over the selection.

use anyhow::{Result, bail};
use std::collections::{BTreeMap, BTreeSet};

/// One planned piece: `count` pieces of `module`, with the seconds the planner expected
/// of it (None when it had no time).
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub module: String,
    /// Piece `index` of `count` (1 of 1 for a whole file).
    pub index: u32,
    pub count: u32,
    pub planned: Option<f64>,
    pub serial: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Model {
    pub workers: usize,
    pub startup_seconds: f64,
}

impl Model {
    /// Seconds the piece takes when its file takes `truth` seconds whole.
    pub fn cost(&self, truth: f64, count: u32) -> f64 {
        let k = f64::from(count.max(1));
        truth / k + self.startup_seconds * (k - 1.0) / k
    }

    /// The shard's wall time under the true times.
    pub fn shard_seconds(&self, pieces: &[Piece], truth: &BTreeMap<String, f64>) -> Result<f64> {
        let (serial, parallel) = self.split(pieces, truth)?;
        let mut free_at = vec![0.0f64; self.workers.max(1)];
        for piece in parallel {
            let cost = self.true_cost(piece, truth)?;
            if let Some(first_free) = free_at.iter_mut().min_by(|a, b| a.total_cmp(b)) {
                *first_free += cost;
            }
        }
        Ok(serial + free_at.into_iter().fold(0.0, f64::max))
    }

    /// Seconds the piece takes under the true times.
    pub fn true_cost(&self, piece: &Piece, truth: &BTreeMap<String, f64>) -> Result<f64> {
        match truth.get(&piece.module) {
            Some(t) => Ok(self.cost(*t, piece.count)),
            None => bail!("{} was planned but has no true time", piece.module),
        }
    }

    /// A shard's serial seconds, and its parallel pieces in the order they start:
    /// longest first by what the planner knew, unknown times last.
    pub fn split<'a>(
        &self,
        pieces: &'a [Piece],
        truth: &BTreeMap<String, f64>,
    ) -> Result<(f64, Vec<&'a Piece>)> {
        let mut serial = 0.0;
        let mut parallel: Vec<&Piece> = Vec::new();
        for piece in pieces {
            if piece.serial {
                serial += self.true_cost(piece, truth)?;
            } else {
                parallel.push(piece);
            }
        }
        parallel.sort_by(|a, b| {
            let key = |p: &Piece| p.planned.unwrap_or(-1.0);
            key(b)
                .total_cmp(&key(a))
                .then_with(|| a.module.cmp(&b.module))
        });
        Ok((serial, parallel))
    }

    /// The longest shard's wall time.
    pub fn longest(&self, shards: &[Vec<Piece>], truth: &BTreeMap<String, f64>) -> Result<f64> {
        shards.iter().try_fold(0.0f64, |longest, shard| {
            Ok(longest.max(self.shard_seconds(shard, truth)?))
        })
    }

    /// The ideal shard: all work of `selection` (module, serial) spread perfectly.
    pub fn ideal(
        &self,
        selection: &[(String, bool)],
        truth: &BTreeMap<String, f64>,
        shards: usize,
    ) -> f64 {
        let work: f64 = selection
            .iter()
            .map(|(module, serial)| {
                let t = truth.get(module).copied().unwrap_or(0.0);
                if *serial {
                    t
                } else {
                    t / self.workers.max(1) as f64
                }
            })
            .sum();
        work / shards.max(1) as f64
    }
}

/// Every file of `selection` planned exactly once: whole, or as pieces 1..=k of one k,
/// and nothing else planned. A plan that drops or repeats work would score too well.
pub fn check_union(selection: &[(String, bool)], shards: &[Vec<Piece>]) -> Result<()> {
    let mut seen: BTreeMap<&str, (u32, BTreeSet<u32>)> = BTreeMap::new();
    for piece in shards.iter().flatten() {
        let (count, indices) = seen
            .entry(piece.module.as_str())
            .or_insert((piece.count, BTreeSet::new()));
        if *count != piece.count {
            bail!(
                "{} is planned in {} pieces and in {}",
                piece.module,
                count,
                piece.count
            );
        }
        if !indices.insert(piece.index) {
            bail!(
                "{} piece {}/{} is planned twice",
                piece.module,
                piece.index,
                piece.count
            );
        }
    }
    let selected: BTreeSet<&str> = selection.iter().map(|(m, _)| m.as_str()).collect();
    for module in &selected {
        match seen.get(module) {
            None => bail!("{module} is selected but planned on no shard"),
            Some((count, indices)) if indices.len() != *count as usize => {
                bail!(
                    "{module} has {} of its {count} pieces planned",
                    indices.len()
                )
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = seen.keys().find(|m| !selected.contains(*m)) {
        bail!("{extra} is planned but not selected");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(module: &str, count: u32, planned: Option<f64>, serial: bool) -> Piece {
        Piece {
            module: module.into(),
            index: 1,
            count,
            planned,
            serial,
        }
    }

    fn truth(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(m, t)| (m.to_string(), *t)).collect()
    }

    #[test]
    fn a_shard_is_its_serial_pieces_then_its_workers_longest_first_by_plan() {
        let model = Model {
            workers: 2,
            startup_seconds: 15.0,
        };
        let truth = truth(&[("s", 100.0), ("p", 60.0), ("q", 105.0), ("r", 100.0)]);
        // Started by the planned times p (50), q (40), r (30): p -> w1 = 60; q, one of
        // 2 of a 105 s file, 105/2 + 15/2 = 60 -> w2 = 60; r -> w1 (the first free) =
        // 160. (By the true times r would start first and the workers end at 100, 120.)
        // The serial s, one of 4: 100/4 + 15·3/4 = 36.25. Shard: 36.25 + 160.
        let shard = vec![
            piece("r", 1, Some(30.0), false),
            piece("s", 4, Some(20.0), true),
            piece("p", 1, Some(50.0), false),
            piece("q", 2, Some(40.0), false),
        ];
        assert_eq!(model.shard_seconds(&shard, &truth).unwrap(), 196.25);
        // Ideal over the selection: (100 + (60 + 105 + 100) / 2) / 2 = 116.25.
        let selection: Vec<(String, bool)> =
            [("s", true), ("p", false), ("q", false), ("r", false)]
                .iter()
                .map(|(m, s)| (m.to_string(), *s))
                .collect();
        assert_eq!(model.ideal(&selection, &truth, 2), 116.25);
    }

    #[test]
    fn unknown_planned_times_start_last() {
        let model = Model {
            workers: 2,
            startup_seconds: 0.0,
        };
        let truth = truth(&[("big", 100.0), ("x", 30.0), ("y", 30.0)]);
        // By plan: x (30) -> w1, y (20) -> w2, big (unknown) last -> w2 at 30: 130.
        let shard = vec![
            piece("big", 1, None, false),
            piece("x", 1, Some(30.0), false),
            piece("y", 1, Some(20.0), false),
        ];
        assert_eq!(model.shard_seconds(&shard, &truth).unwrap(), 130.0);
        let longest = model
            .longest(&[shard, vec![piece("x", 1, Some(1.0), true)]], &truth)
            .unwrap();
        assert_eq!(longest, 130.0);
    }

    #[test]
    fn a_piece_without_a_true_time_is_an_error_naming_it() {
        let model = Model {
            workers: 3,
            startup_seconds: 15.0,
        };
        let err = model
            .shard_seconds(&[piece("test_gone", 1, Some(1.0), false)], &BTreeMap::new())
            .unwrap_err();
        assert!(err.to_string().contains("test_gone"), "{err}");
    }

    #[test]
    fn the_union_check_names_a_dropped_repeated_or_foreign_piece() {
        let of = |module: &str, index: u32, count: u32| Piece {
            index,
            ..piece(module, count, Some(1.0), false)
        };
        let selection: Vec<(String, bool)> =
            vec![("test_a".into(), false), ("test_b".into(), true)];
        let good = vec![
            vec![of("test_a", 2, 2), of("test_b", 1, 1)],
            vec![of("test_a", 1, 2)],
        ];
        check_union(&selection, &good).unwrap();
        let dropped = vec![vec![of("test_a", 2, 2), of("test_b", 1, 1)]];
        let err = check_union(&selection, &dropped).unwrap_err().to_string();
        assert!(err.contains("test_a has 1 of its 2 pieces"), "{err}");
        let twice = vec![
            vec![of("test_a", 1, 1), of("test_b", 1, 1)],
            vec![of("test_a", 1, 1)],
        ];
        let err = check_union(&selection, &twice).unwrap_err().to_string();
        assert!(err.contains("test_a piece 1/1 is planned twice"), "{err}");
        let missing = vec![vec![of("test_a", 1, 1)]];
        let err = check_union(&selection, &missing).unwrap_err().to_string();
        assert!(
            err.contains("test_b is selected but planned on no shard"),
            "{err}"
        );
        let foreign = vec![vec![
            of("test_a", 1, 1),
            of("test_b", 1, 1),
            of("test_c", 1, 1),
        ]];
        let err = check_union(&selection, &foreign).unwrap_err().to_string();
        assert!(err.contains("test_c is planned but not selected"), "{err}");
        let mixed = vec![
            vec![of("test_a", 1, 2), of("test_b", 1, 1)],
            vec![of("test_a", 2, 3)],
        ];
        let err = check_union(&selection, &mixed).unwrap_err().to_string();
        assert!(
            err.contains("test_a is planned in 2 pieces and in 3"),
            "{err}"
        );
    }
}
