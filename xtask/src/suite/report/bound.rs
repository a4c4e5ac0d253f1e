//! The wall the run-alone rules give one machine, as `cargo xtask report` measures a
//! run against it: every run-alone stretch (a serial file, a distributed file, an
//! `@serialTest` phase) one after another, then the parallel work packed longest-first
//! onto the slots. Longest-first packing is a heuristic (up to 4/3 of the best
//! packing), so a run that packs better than it scores a little under 1. A run whose wall is far above it left slots idle that
//! the rules did not require (a slot waiting behind a case that must run alone).

/// What one attempt asked of the machine, in measured seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    /// Seconds it ran alone (every slot).
    pub alone: f64,
    /// Seconds it ran on one slot beside others.
    pub shared: f64,
}

/// The rules' bound for some work on some slots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The run-alone stretches one after another.
    pub alone: f64,
    /// The parallel work packed longest-first: the most loaded slot.
    pub packed: f64,
    pub slots: usize,
}

impl Bound {
    pub fn seconds(&self) -> f64 {
        self.alone + self.packed
    }

    /// `wall` over the bound; None when the bound is zero.
    pub fn ratio(&self, wall: f64) -> Option<f64> {
        let b = self.seconds();
        (b > 0.0).then(|| wall / b)
    }
}

/// The bound of `work` on `slots` slots (at least one).
pub fn bound(work: &[Work], slots: usize) -> Bound {
    let slots = slots.max(1);
    let alone = work.iter().map(|w| w.alone.max(0.0)).sum();
    let mut shared: Vec<f64> = work
        .iter()
        .map(|w| w.shared.max(0.0))
        .filter(|s| *s > 0.0)
        .collect();
    shared.sort_by(|a, b| b.total_cmp(a));
    // Longest first, each onto the least loaded slot.
    let mut loads = vec![0.0_f64; slots];
    for s in shared {
        let (i, _) = loads
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .unwrap_or((0, &0.0));
        loads[i] += s;
    }
    Bound {
        alone,
        packed: loads.into_iter().fold(0.0, f64::max),
        slots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(alone: f64, shared: f64) -> Work {
        Work { alone, shared }
    }

    #[test]
    fn run_alone_stretches_add_up_and_the_rest_packs_longest_first() {
        // Two serial files (4 s, 3 s), a file whose @serialTest phase took 1 s and the
        // rest 2 s, and parallel files of 6, 5, 4 and 3 s on 2 slots.
        // By hand: alone = 4 + 3 + 1 = 8. Longest first: 6 -> A, 5 -> B, 4 -> B (9),
        // 3 -> A (9), 2 -> A (11): packed = 11. Bound 19.
        let work = [
            w(4.0, 0.0),
            w(3.0, 0.0),
            w(1.0, 2.0),
            w(0.0, 6.0),
            w(0.0, 5.0),
            w(0.0, 4.0),
            w(0.0, 3.0),
        ];
        let b = bound(&work, 2);
        assert_eq!((b.alone, b.packed, b.slots), (8.0, 11.0, 2));
        assert_eq!(b.seconds(), 19.0);
        assert_eq!(b.ratio(28.5), Some(1.5));
    }

    #[test]
    fn one_long_case_bounds_the_packing_and_no_slots_means_one() {
        // 10 s is longer than the rest together spread on 3 slots (1 + 1 + 1 + 1).
        let work = [
            w(0.0, 1.0),
            w(0.0, 10.0),
            w(0.0, 1.0),
            w(0.0, 1.0),
            w(0.0, 1.0),
        ];
        assert_eq!(bound(&work, 3).packed, 10.0);
        // On one slot everything runs one after another: 14 s.
        assert_eq!(bound(&work, 0).seconds(), 14.0);
        assert_eq!(bound(&[], 4).ratio(3.0), None);
    }
}
