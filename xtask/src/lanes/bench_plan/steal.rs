//! What sharing the tail across machines would win, measured before anything is built:
//! the same static plan, but a shard whose workers run out of work takes the next
//! unstarted piece of the shard with the most predicted work left. A taken piece pays a
//! claim (a round trip to a store every shard reaches) and a process start-up on top
//! of its true time. Serial pieces stay where they were planned: they need the whole
//! machine, and the shards that hold them start with them.

use super::model::{Model, Piece};
use anyhow::Result;
use std::collections::{BTreeMap, VecDeque};

/// Seconds one claim costs a taking shard.
pub const CLAIM_SECONDS: f64 = 1.0;

/// A shard's pieces not yet started, in its own start order.
struct Queue<'a> {
    pieces: VecDeque<(&'a Piece, f64)>,
}

impl Queue<'_> {
    /// The work left as the planner predicted it (what a shard can know of another).
    fn predicted(&self) -> f64 {
        self.pieces.iter().filter_map(|(p, _)| p.planned).sum()
    }
}

/// The longest shard's wall time when idle workers take other shards' unstarted pieces.
pub fn longest(model: &Model, shards: &[Vec<Piece>], truth: &BTreeMap<String, f64>) -> Result<f64> {
    let mut queues = Vec::with_capacity(shards.len());
    // (free at, shard) for every worker of every shard; each starts after its serial run.
    let mut workers: Vec<(f64, usize)> = Vec::new();
    let mut finish = Vec::with_capacity(shards.len());
    for (s, shard) in shards.iter().enumerate() {
        let (serial, parallel) = model.split(shard, truth)?;
        let pieces = parallel
            .into_iter()
            .map(|p| Ok((p, model.true_cost(p, truth)?)))
            .collect::<Result<VecDeque<_>>>()?;
        queues.push(Queue { pieces });
        workers.extend(std::iter::repeat_n((serial, s), model.workers.max(1)));
        finish.push(serial);
    }
    // Events in time order: the worker that frees first claims next.
    while let Some(w) = (0..workers.len()).min_by(|&a, &b| workers[a].0.total_cmp(&workers[b].0)) {
        let (free_at, own) = workers[w];
        let (victim, extra) = if !queues[own].pieces.is_empty() {
            (own, 0.0)
        } else {
            let most = (0..queues.len())
                .filter(|&s| !queues[s].pieces.is_empty())
                .max_by(|&a, &b| {
                    queues[a]
                        .predicted()
                        .total_cmp(&queues[b].predicted())
                        .then(b.cmp(&a))
                });
            match most {
                Some(s) => (s, CLAIM_SECONDS + model.startup_seconds),
                None => {
                    // Nothing left anywhere: this worker is done.
                    workers.swap_remove(w);
                    continue;
                }
            }
        };
        let Some((_, cost)) = queues[victim].pieces.pop_front() else {
            continue;
        };
        let done = free_at + extra + cost;
        workers[w].0 = done;
        finish[own] = finish[own].max(done);
    }
    Ok(finish.into_iter().fold(0.0, f64::max))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(module: &str, planned: f64, serial: bool) -> Piece {
        Piece {
            module: module.into(),
            index: 1,
            count: 1,
            planned: Some(planned),
            serial,
        }
    }

    #[test]
    fn an_idle_shard_takes_the_busiest_shards_next_piece_and_pays_claim_and_start_up() {
        let model = Model {
            workers: 1,
            startup_seconds: 15.0,
        };
        let truth: BTreeMap<String, f64> = [("a", 100.0), ("b", 100.0), ("c", 100.0), ("d", 10.0)]
            .iter()
            .map(|(m, t)| (m.to_string(), *t))
            .collect();
        // Shard 1 holds a, b, c (300 s alone); shard 2 holds d (10 s). Shard 2 frees at
        // 10 and takes b (the next unstarted piece of shard 1): 10 + 1 + 15 + 100 = 126.
        // Shard 1 runs a (0-100), then c (100-200), since b is gone. Longest: 200.
        let shards = vec![
            vec![
                piece("a", 100.0, false),
                piece("b", 99.0, false),
                piece("c", 98.0, false),
            ],
            vec![piece("d", 10.0, false)],
        ];
        assert_eq!(longest(&model, &shards, &truth).unwrap(), 200.0);
        // Without stealing the same plan takes 300 s.
        assert_eq!(model.longest(&shards, &truth).unwrap(), 300.0);
    }

    #[test]
    fn serial_pieces_stay_and_delay_their_shards_workers() {
        let model = Model {
            workers: 2,
            startup_seconds: 0.0,
        };
        let truth: BTreeMap<String, f64> = [("s", 50.0), ("p", 20.0), ("q", 20.0)]
            .iter()
            .map(|(m, t)| (m.to_string(), *t))
            .collect();
        // Shard 1: serial s (0-50), then p and q on its two workers. Shard 2 is empty, so
        // its workers take p and q at 0 (claim 1 s): both end at 21; shard 1 ends at 50.
        let shards = vec![
            vec![
                piece("s", 50.0, true),
                piece("p", 20.0, false),
                piece("q", 20.0, false),
            ],
            vec![],
        ];
        assert_eq!(longest(&model, &shards, &truth).unwrap(), 50.0);
    }
}
