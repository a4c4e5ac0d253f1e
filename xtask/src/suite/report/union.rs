//! `cargo xtask report --plan FILE RUN...`: every shard's run folder against the plan
//! they all ran. Each planned case must have run exactly once, on the shard the plan
//! gave it, under this plan; a machine that planned for itself with other times, a
//! shard job that never ran, or a case run twice shows up here by name.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use torch_harness::plan::document::{PlanDocument, PlanMark};
use torch_harness::report::record::Record;

/// One shard's run: its folder and the latest attempt of each case it ran.
pub struct ShardRun {
    pub dir: PathBuf,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// Planned, and no run under this plan has it.
    NotRun { case: String, shard: usize },
    /// Ran under this plan in more than one run folder.
    RanTwice { case: String, runs: Vec<PathBuf> },
    /// Ran under this plan, but on a shard the plan did not give it.
    WrongShard {
        case: String,
        planned: usize,
        ran: usize,
        run: PathBuf,
    },
    /// Ran under another plan (another fingerprint), or under none.
    OtherPlan {
        case: String,
        mark: Option<PlanMark>,
        run: PathBuf,
    },
    /// Ran under this plan's fingerprint, yet the plan has no such case.
    Unplanned { case: String, run: PathBuf },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotRun { case, shard } => {
                write!(f, "{case}: planned for shard {shard}, ran on no shard")
            }
            Problem::RanTwice { case, runs } => {
                let runs: Vec<String> = runs.iter().map(|r| r.display().to_string()).collect();
                write!(
                    f,
                    "{case}: ran on {} shards: {}",
                    runs.len(),
                    runs.join(", ")
                )
            }
            Problem::WrongShard {
                case,
                planned,
                ran,
                run,
            } => write!(
                f,
                "{case}: planned for shard {planned}, ran on shard {ran} ({})",
                run.display()
            ),
            Problem::OtherPlan { case, mark, run } => match mark {
                Some(m) => write!(
                    f,
                    "{case}: ran under another plan (fingerprint {}, shard {}/{}) in {}",
                    short(&m.fingerprint),
                    m.shard,
                    m.shards,
                    run.display()
                ),
                None => write!(
                    f,
                    "{case}: ran without a plan (no TORCH_HARNESS_PLAN) in {}",
                    run.display()
                ),
            },
            Problem::Unplanned { case, run } => write!(
                f,
                "{case}: ran under this plan in {} but the plan has no such case",
                run.display()
            ),
        }
    }
}

fn short(fingerprint: &str) -> &str {
    fingerprint.get(..12).unwrap_or(fingerprint)
}

#[derive(Debug)]
pub struct Union {
    pub planned: usize,
    /// Planned cases that ran exactly once, where planned.
    pub covered: usize,
    /// Shards no run folder ran any case of under this plan.
    pub missing_shards: Vec<usize>,
    pub problems: Vec<Problem>,
}

impl Union {
    pub fn is_whole(&self) -> bool {
        self.problems.is_empty()
    }
}

pub fn check(plan: &PlanDocument, runs: &[ShardRun]) -> Union {
    let planned: BTreeMap<&str, usize> = plan
        .plan
        .shards
        .iter()
        .flat_map(|s| s.cases.iter().map(move |c| (c.as_str(), s.shard)))
        .collect();
    let mut problems = Vec::new();
    // case → (run folder, shard) of every record under this plan
    let mut ran: BTreeMap<&str, Vec<(&PathBuf, usize)>> = BTreeMap::new();
    for run in runs {
        for record in &run.records {
            match &record.plan {
                Some(mark) if mark.fingerprint == plan.fingerprint => {
                    if planned.contains_key(record.case.as_str()) {
                        ran.entry(record.case.as_str())
                            .or_default()
                            .push((&run.dir, mark.shard));
                    } else {
                        problems.push(Problem::Unplanned {
                            case: record.case.clone(),
                            run: run.dir.clone(),
                        });
                    }
                }
                mark => problems.push(Problem::OtherPlan {
                    case: record.case.clone(),
                    mark: mark.clone(),
                    run: run.dir.clone(),
                }),
            }
        }
    }
    let mut covered = 0;
    for (&case, &shard) in &planned {
        match ran.get(case).map(Vec::as_slice).unwrap_or_default() {
            [] => problems.push(Problem::NotRun {
                case: case.to_string(),
                shard,
            }),
            [(run, on)] if *on != shard => problems.push(Problem::WrongShard {
                case: case.to_string(),
                planned: shard,
                ran: *on,
                run: run.to_path_buf(),
            }),
            [_] => covered += 1,
            many => problems.push(Problem::RanTwice {
                case: case.to_string(),
                runs: many.iter().map(|(r, _)| r.to_path_buf()).collect(),
            }),
        }
    }
    let seen_shards: Vec<usize> = ran.values().flatten().map(|(_, s)| *s).collect();
    let missing_shards = plan
        .plan
        .shards
        .iter()
        // An empty shard runs nothing by design (`cargo xtask test` passes it).
        .filter(|s| !s.cases.is_empty())
        .map(|s| s.shard)
        .filter(|s| !seen_shards.contains(s))
        .collect();
    Union {
        planned: planned.len(),
        covered,
        missing_shards,
        problems,
    }
}

pub fn print(plan: &PlanDocument, union: &Union) {
    println!(
        "plan {} ({} shards): {} of {} planned cases ran exactly once, where planned",
        short(&plan.fingerprint),
        plan.shard_count(),
        union.covered,
        union.planned
    );
    for shard in &union.missing_shards {
        println!(
            "NO SHARD RUN: shard {shard}/{} ran no case of this plan in the folders given",
            plan.shard_count()
        );
    }
    for problem in &union.problems {
        println!("UNION: {problem}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use torch_harness::plan::document::{FORMAT, Inputs};
    use torch_harness::plan::{Plan, Shard};
    use torch_harness::report::verdict::Verdict;

    fn plan() -> PlanDocument {
        let shard = |shard, cases: &[&str]| Shard {
            shard,
            predicted_seconds: 10.0,
            cases: cases.iter().map(|c| c.to_string()).collect(),
        };
        PlanDocument {
            format: FORMAT,
            fingerprint: "f".repeat(64),
            inputs: Inputs {
                times_source: None,
                times_sha256: String::new(),
                selected: 4,
                threads: 3,
                piece_startup_seconds: 5.0,
            },
            plan: Plan {
                lower_bound_seconds: 10.0,
                shards: vec![
                    shard(1, &["test_a", "test_ops::shard_1_of_2"]),
                    shard(2, &["test_b", "test_ops::shard_2_of_2"]),
                ],
                selected_shard: None,
                case_seconds: BTreeMap::new(),
            },
            cases: Vec::new(),
            digest: String::new(),
        }
    }

    fn record(case: &str, mark: Option<(&str, usize)>) -> Record {
        Record {
            wall_seconds: 1.0,
            plan: mark.map(|(fingerprint, shard)| PlanMark {
                fingerprint: fingerprint.into(),
                shard,
                shards: 2,
                file: None,
            }),
            ..Record::new(case, Verdict::Passed)
        }
    }

    fn run(dir: &str, records: Vec<Record>) -> ShardRun {
        ShardRun {
            dir: PathBuf::from(dir),
            records,
        }
    }

    fn ours(shard: usize) -> Option<(&'static str, usize)> {
        Some((
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            shard,
        ))
    }

    fn shard_one() -> ShardRun {
        run(
            "runs/one",
            vec![
                record("test_a", ours(1)),
                record("test_ops::shard_1_of_2", ours(1)),
            ],
        )
    }

    fn shard_two() -> ShardRun {
        run(
            "runs/two",
            vec![
                record("test_b", ours(2)),
                record("test_ops::shard_2_of_2", ours(2)),
            ],
        )
    }

    fn lines(union: &Union) -> Vec<String> {
        union.problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_shard_once_is_whole() {
        let union = check(&plan(), &[shard_one(), shard_two()]);
        assert!(union.is_whole(), "{:?}", lines(&union));
        assert_eq!((union.covered, union.planned), (4, 4));
        assert!(union.missing_shards.is_empty());
    }

    #[test]
    fn a_dropped_shard_names_each_of_its_cases() {
        let union = check(&plan(), &[shard_one()]);
        assert_eq!(union.missing_shards, vec![2]);
        assert_eq!(
            lines(&union),
            [
                "test_b: planned for shard 2, ran on no shard",
                "test_ops::shard_2_of_2: planned for shard 2, ran on no shard",
            ]
        );
        assert_eq!(union.covered, 2);
    }

    #[test]
    fn a_case_run_on_two_shards_is_named_with_both_folders() {
        let mut two = shard_two();
        two.records.push(record("test_a", ours(2)));
        let union = check(&plan(), &[shard_one(), two]);
        assert_eq!(
            lines(&union),
            ["test_a: ran on 2 shards: runs/one, runs/two"]
        );
    }

    #[test]
    fn a_case_run_under_another_plan_is_named() {
        // Shard two planned for itself from other times: another fingerprint.
        let other = "0123456789abcdef".repeat(4);
        let two = run(
            "runs/two",
            vec![
                record("test_b", Some((&other, 2))),
                record("test_ops::shard_2_of_2", ours(2)),
            ],
        );
        let union = check(&plan(), &[shard_one(), two]);
        assert_eq!(
            lines(&union),
            [
                "test_b: ran under another plan (fingerprint 0123456789ab, shard 2/2) in runs/two",
                "test_b: planned for shard 2, ran on no shard",
            ]
        );
        let unplanned = run("runs/three", vec![record("test_b", None)]);
        let union = check(&plan(), &[shard_one(), shard_two(), unplanned]);
        assert_eq!(
            lines(&union),
            ["test_b: ran without a plan (no TORCH_HARNESS_PLAN) in runs/three"]
        );
    }

    #[test]
    fn a_case_on_the_wrong_shard_or_outside_the_plan_is_named() {
        let mut one = shard_one();
        one.records.push(record("test_b", ours(1)));
        one.records.push(record("test_gone", ours(1)));
        let two = run("runs/two", vec![record("test_ops::shard_2_of_2", ours(2))]);
        let union = check(&plan(), &[one, two]);
        assert_eq!(
            lines(&union),
            [
                "test_gone: ran under this plan in runs/one but the plan has no such case",
                "test_b: planned for shard 2, ran on shard 1 (runs/one)",
            ]
        );
    }
}
