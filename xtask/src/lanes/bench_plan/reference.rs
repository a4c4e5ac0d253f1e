//! run_test.py's own shard plans (`run-test-py-calculate-shards.json`, made by running
//! the real `calculate_shards`), and the check that this crate's reimplementation gives
//! the same plan, piece for piece, on the same inputs.

use super::run_test_py::{self, ShardedTest};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The file as a whole: where it came from and its cases.
#[derive(Debug, Deserialize)]
pub struct Reference {
    pub cases: Vec<Case>,
    /// The times its cases were planned with, where the file carries them itself (the
    /// trimmed test fixture, one snapshot); otherwise each case names its snapshot.
    #[serde(default)]
    pub times: Option<BTreeMap<String, f64>>,
}

/// One call of the real function: its inputs and what it returned.
#[derive(Debug, Deserialize)]
pub struct Case {
    /// The snapshot whose times it was given (`pytorch-test-times-<date>.json`).
    pub planned_with: String,
    pub num_shards: usize,
    /// The files, in the order it was given them.
    pub tests: Vec<String>,
    pub must_serial: BTreeSet<String>,
    pub shards: Vec<Shard>,
}

#[derive(Debug, Deserialize)]
pub struct Shard {
    pub estimated_seconds: f64,
    /// `[file, piece, pieces]`, in order.
    pub pieces: Vec<(String, u32, u32)>,
}

/// run_test.py's arguments of the reference run: 3 processes for the estimate, sorted.
pub const PROCS: usize = 3;
pub const SORT_BY_TIME: bool = true;

pub fn load(path: &Path) -> Result<Reference> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not run_test.py's shard plans (cases of tests, must_serial, shards)",
            path.display()
        )
    })
}

impl Reference {
    /// The inputs (file, must_serial) the real function was given for the plans made
    /// with snapshot `label`, in its order.
    pub fn inputs(&self, label: &str) -> Option<Vec<(String, bool)>> {
        let case = self.cases.iter().find(|c| c.label() == label)?;
        Some(
            case.tests
                .iter()
                .map(|t| (t.clone(), case.must_serial.contains(t)))
                .collect(),
        )
    }
}

impl Case {
    /// The date of the snapshot it was planned with, as the bench labels snapshots.
    pub fn label(&self) -> &str {
        self.planned_with
            .trim_start_matches("pytorch-test-times-")
            .trim_end_matches(".json")
    }

    /// What the reimplementation plans on this case's inputs, with `times` the snapshot
    /// it was planned with.
    pub fn replay(&self, times: &BTreeMap<String, f64>) -> Vec<(f64, Vec<ShardedTest>)> {
        let tests: Vec<(String, Option<f64>)> = self
            .tests
            .iter()
            .map(|t| (t.clone(), times.get(t).copied()))
            .collect();
        run_test_py::calculate_shards(
            self.num_shards,
            &tests,
            |name| self.must_serial.contains(name),
            PROCS,
            SORT_BY_TIME,
        )
    }

    /// Checks the replay against the recorded plan: the same pieces in the same order
    /// on every shard, and the same estimates (to the microsecond the file keeps).
    pub fn check(&self, times: &BTreeMap<String, f64>) -> Result<()> {
        let ours = self.replay(times);
        let label = format!(
            "{} at {} shards",
            self.planned_with.trim_end_matches(".json"),
            self.num_shards
        );
        if ours.len() != self.shards.len() {
            bail!(
                "{label}: {} shards, run_test.py made {}",
                ours.len(),
                self.shards.len()
            );
        }
        for (i, ((estimate, pieces), real)) in ours.iter().zip(&self.shards).enumerate() {
            let ours: Vec<(String, u32, u32)> = pieces
                .iter()
                .map(|p| (p.name.clone(), p.shard, p.num_shards))
                .collect();
            if let Some(at) =
                (0..ours.len().max(real.pieces.len())).find(|&k| ours.get(k) != real.pieces.get(k))
            {
                bail!(
                    "{label}, shard {}: piece {} is {:?}, run_test.py has {:?}",
                    i + 1,
                    at + 1,
                    ours.get(at),
                    real.pieces.get(at)
                );
            }
            if (estimate - real.estimated_seconds).abs() > 1e-5 {
                bail!(
                    "{label}, shard {}: estimated {estimate} s, run_test.py {} s",
                    i + 1,
                    real.estimated_seconds
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Reference {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/run-test-py-calculate-shards.json");
        load(&path).unwrap()
    }

    #[test]
    fn the_reimplementation_gives_run_test_pys_own_plans_piece_for_piece() {
        let reference = fixture();
        let times = reference
            .times
            .as_ref()
            .expect("the fixture carries its times");
        assert_eq!(reference.cases.len(), 2);
        for case in &reference.cases {
            case.check(times).unwrap();
        }
        // What the fixture holds, counted apart from the code under test: 539 files, nine
        // of them without a time, dealt from the first shard on at the end of the list.
        let case = &reference.cases[0];
        assert_eq!((case.num_shards, case.tests.len()), (5, 539));
        let last = |shard: &Shard| shard.pieces.last().map(|p| p.0.clone());
        assert_eq!(
            last(&case.shards[0]).as_deref(),
            Some("inductor/test_dropout_align_random_eager")
        );
    }

    #[test]
    fn a_plan_that_differs_is_named_by_shard_and_piece() {
        let mut reference = fixture();
        let times = reference.times.clone().unwrap();
        let case = &mut reference.cases[1];
        case.shards[3].pieces.swap(0, 1);
        let err = case.check(&times).unwrap_err().to_string();
        assert!(
            err.starts_with("pytorch-test-times-2026-04-01 at 20 shards, shard 4: piece 1 is"),
            "{err}"
        );
        let mut reference = fixture();
        reference.cases[0].shards[2].estimated_seconds += 1.0;
        let err = reference.cases[0].check(&times).unwrap_err().to_string();
        assert!(err.contains("shard 3: estimated"), "{err}");
    }
}
