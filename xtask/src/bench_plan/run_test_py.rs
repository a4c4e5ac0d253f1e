//! run_test.py's `calculate_shards` (tools/testing/test_selections.py, newest rules;
//! research §3.5-3.7), written here from its described behaviour so the bench can score
//! it beside this project's planner on the same inputs:
//!
//! - a file longer than 600 s runs in ceil(t/600) pieces of t/n each;
//! - serial pieces go to the first ceil(serial/total·N) shards, dropping the last of
//!   those once it passes the "limit" (serial time modulo the ideal shard); the rest go
//!   to every shard;
//! - a piece with a time goes to the shard whose estimate is lowest (first on ties); a
//!   piece without one goes round-robin over the candidates;
//! - a shard's estimate is its serial time plus its parallel pieces placed in order on
//!   `procs` workers, each on the least-loaded one.

/// run_test.py's THRESHOLD: files estimated longer are cut into pieces.
pub const THRESHOLD_SECONDS: f64 = 600.0;

/// One piece as run_test.py's ShardedTest: piece `shard` of `num_shards` of `name`.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardedTest {
    pub name: String,
    pub shard: u32,
    pub num_shards: u32,
    pub time: Option<f64>,
}

/// A shard being filled (run_test.py's ShardJob).
#[derive(Debug, Default)]
struct Job {
    serial: Vec<ShardedTest>,
    parallel: Vec<ShardedTest>,
}

impl Job {
    fn total(&self, procs: usize) -> f64 {
        let mut workers = vec![0.0f64; procs.max(1)];
        for test in &self.parallel {
            // The first least-loaded worker, as Python's list.index(min(...)).
            let mut least = 0;
            for (i, w) in workers.iter().enumerate() {
                if *w < workers[least] {
                    least = i;
                }
            }
            workers[least] += test.time.unwrap_or(0.0);
        }
        let serial: f64 = self.serial.iter().map(|t| t.time.unwrap_or(0.0)).sum();
        workers.into_iter().fold(0.0, f64::max) + serial
    }
}

/// Pieces of each test in input order (get_with_pytest_shard).
fn pieces(tests: &[(String, Option<f64>)]) -> Vec<ShardedTest> {
    let mut out = Vec::new();
    for (name, time) in tests {
        match *time {
            Some(d) if d > THRESHOLD_SECONDS => {
                let n = (d / THRESHOLD_SECONDS).ceil() as u32;
                out.extend((1..=n).map(|i| ShardedTest {
                    name: name.clone(),
                    shard: i,
                    num_shards: n,
                    time: Some(d / f64::from(n)),
                }));
            }
            _ => out.push(ShardedTest {
                name: name.clone(),
                shard: 1,
                num_shards: 1,
                time: *time,
            }),
        }
    }
    out
}

/// The index among `candidates` (a prefix of `jobs`) a piece goes to.
fn choose(
    jobs: &[Job],
    candidates: usize,
    test: &ShardedTest,
    rr: &mut usize,
    procs: usize,
) -> usize {
    if test.time.is_none() {
        let index = *rr % candidates;
        *rr += 1;
        return index;
    }
    let mut best = 0;
    let mut best_total = jobs[0].total(procs);
    for (i, job) in jobs.iter().enumerate().take(candidates).skip(1) {
        let total = job.total(procs);
        if total < best_total {
            best = i;
            best_total = total;
        }
    }
    best
}

/// Per shard: its estimated seconds and its pieces, serial ones first.
/// `tests` are (file, seconds if known) in the order run_test.py would pass them;
/// `sort_by_time` as its argument of that name (run_test.py itself passes False).
pub fn calculate_shards(
    num_shards: usize,
    tests: &[(String, Option<f64>)],
    must_serial: impl Fn(&str) -> bool,
    procs: usize,
    sort_by_time: bool,
) -> Vec<(f64, Vec<ShardedTest>)> {
    let num_shards = num_shards.max(1);
    let ordered = if sort_by_time {
        let known: Vec<_> = tests.iter().filter(|t| t.1.is_some()).cloned().collect();
        let unknown: Vec<_> = tests.iter().filter(|t| t.1.is_none()).cloned().collect();
        let mut known = pieces(&known);
        // Python's sort is stable: equal times keep their input order.
        known.sort_by(|a, b| b.time.unwrap_or(0.0).total_cmp(&a.time.unwrap_or(0.0)));
        known.extend(pieces(&unknown));
        known
    } else {
        pieces(tests)
    };
    let (serial, parallel): (Vec<ShardedTest>, Vec<ShardedTest>) =
        ordered.into_iter().partition(|t| must_serial(&t.name));
    let sum = |tests: &[ShardedTest]| tests.iter().map(|t| t.time.unwrap_or(0.0)).sum::<f64>();
    let serial_time = sum(&serial);
    let total = serial_time + sum(&parallel) / procs.max(1) as f64;
    let per_shard = total / num_shards as f64;
    let mut limit = if per_shard != 0.0 {
        serial_time % per_shard
    } else {
        0.0
    };
    if limit <= 0.01 {
        limit = per_shard;
    }
    let serial_shards = if total == 0.0 {
        num_shards
    } else {
        ((serial_time / total * num_shards as f64).ceil() as usize).clamp(1, num_shards)
    };
    let mut jobs: Vec<Job> = (0..num_shards).map(|_| Job::default()).collect();
    let mut candidates = serial_shards;
    let mut rr = 0;
    for test in serial {
        // Once the last serial shard passes the limit it takes no more serial pieces.
        if serial_shards > 1 && jobs[serial_shards - 1].total(procs) > limit {
            candidates = serial_shards - 1;
        }
        let j = choose(&jobs, candidates, &test, &mut rr, procs);
        jobs[j].serial.push(test);
    }
    let mut rr = 0;
    for test in parallel {
        let j = choose(&jobs, num_shards, &test, &mut rr, procs);
        jobs[j].parallel.push(test);
    }
    jobs.into_iter()
        .map(|job| {
            let total = job.total(procs);
            let mut pieces = job.serial;
            pieces.extend(job.parallel);
            (total, pieces)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial(name: &str) -> bool {
        name.starts_with("distributed/") || name == "test_nn"
    }

    fn inputs(times: &[(&str, Option<f64>)]) -> Vec<(String, Option<f64>)> {
        times.iter().map(|(n, t)| (n.to_string(), *t)).collect()
    }

    /// "name k/n" for each piece, as run_test.py prints ShardedTest.
    fn names(shard: &(f64, Vec<ShardedTest>)) -> Vec<String> {
        shard
            .1
            .iter()
            .map(|t| format!("{} {}/{}", t.name, t.shard, t.num_shards))
            .collect()
    }

    // Research §3.8, example A: 2 shards, 3 workers, alphabetical input.
    #[test]
    fn example_a_two_shards() {
        let tests = inputs(&[
            ("distributed/test_a", Some(700.0)),
            ("test_b", Some(300.0)),
            ("test_c", Some(200.0)),
            ("test_d", None),
            ("test_e", Some(100.0)),
            ("test_nn", Some(900.0)),
        ]);
        let shards = calculate_shards(2, &tests, serial, 3, false);
        assert_eq!(
            names(&shards[0]),
            [
                "distributed/test_a 1/2",
                "test_nn 1/2",
                "test_b 1/1",
                "test_d 1/1"
            ]
        );
        assert_eq!(shards[0].0, 1100.0);
        assert_eq!(
            names(&shards[1]),
            [
                "distributed/test_a 2/2",
                "test_nn 2/2",
                "test_c 1/1",
                "test_e 1/1"
            ]
        );
        assert_eq!(shards[1].0, 1000.0);
        // Sorted by time the serial order becomes nn before a, the split the same.
        let sorted = calculate_shards(2, &tests, serial, 3, true);
        assert_eq!(
            names(&sorted[0])[..2],
            ["test_nn 1/2", "distributed/test_a 1/2"]
        );
        assert_eq!(sorted[0].0, 1100.0);
        assert_eq!(sorted[1].0, 1000.0);
    }

    // Research §3.8, example B: 4 shards; the limit (1000 % 475 = 50) closes the third
    // serial shard after one piece.
    #[test]
    fn example_b_the_serial_limit() {
        let tests = inputs(&[
            ("distributed/test_a", Some(700.0)),
            ("test_b", Some(1500.0)),
            ("test_c", Some(200.0)),
            ("test_d", None),
            ("test_e", Some(100.0)),
            ("test_f", Some(900.0)),
            ("test_nn", Some(300.0)),
        ]);
        let shards = calculate_shards(4, &tests, serial, 3, false);
        let expected: [(&[&str], f64); 4] = [
            (
                &["distributed/test_a 1/2", "test_b 3/3", "test_d 1/1"],
                850.0,
            ),
            (&["distributed/test_a 2/2", "test_c 1/1"], 550.0),
            (&["test_nn 1/1", "test_b 2/3"], 800.0),
            (
                &["test_b 1/3", "test_e 1/1", "test_f 1/2", "test_f 2/2"],
                550.0,
            ),
        ];
        for (shard, (names_expected, total)) in shards.iter().zip(expected) {
            assert_eq!(names(shard), names_expected);
            assert_eq!(shard.0, total);
        }
    }

    #[test]
    fn unknown_times_go_round_robin_and_every_piece_is_placed_once() {
        let tests = inputs(&[
            ("test_u1", None),
            ("test_u2", None),
            ("test_u3", None),
            ("test_long", Some(1300.0)),
        ]);
        let shards = calculate_shards(2, &tests, |_| false, 2, false);
        // Input order: u1 -> 0, u2 -> 1, u3 -> 0 (round-robin, counting as 0 s); the
        // three 433 s pieces of test_long by estimate: 0, 1, then 0 (ties: the first).
        assert_eq!(
            names(&shards[0]),
            [
                "test_u1 1/1",
                "test_u3 1/1",
                "test_long 1/3",
                "test_long 3/3"
            ]
        );
        assert_eq!(names(&shards[1]), ["test_u2 1/1", "test_long 2/3"]);
    }
}
