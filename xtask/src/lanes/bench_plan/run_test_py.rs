//! run_test.py's `calculate_shards` (tools/testing/test_selections.py, newest version),
//! written here from its behaviour so the bench can score it beside this project's
//! planner on the same inputs. It reproduces, piece for piece, every plan the real
//! function made on the history snapshots (`reference`; the test replays a trimmed copy
//! in `xtask/tests/fixtures/`):
//!
//! - a file longer than 600 s runs in ceil(t/600) pieces of t/n each;
//! - must-serial files go to the first ceil(serial/total·N) shards, dropping the last of
//!   those once it passes the "limit" (serial time modulo the ideal shard); the rest go
//!   to every shard;
//! - with `sort_by_time`, each group's timed pieces are placed longest first, each on
//!   the shard whose estimate is lowest (the first on ties), and the group's untimed
//!   files are then dealt round-robin from its first shard on; without it, every piece
//!   is placed in input order by estimate alone, an untimed one counting as nothing;
//! - a shard's estimate is its serial time plus its parallel pieces placed in order on
//!   `procs` workers, each on the least-loaded one.
//!
//! What the bench had wrong before: it dealt an untimed file round-robin as it came up
//! in the input order (with `sort_by_time` off), where the real function, sorted, deals
//! the untimed files last, from the first shard; and it planned with `sort_by_time` off
//! where the reference plans were made with it on.

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
            let least = lowest(workers.iter().copied());
            workers[least] += test.time.unwrap_or(0.0);
        }
        let serial: f64 = self.serial.iter().map(|t| t.time.unwrap_or(0.0)).sum();
        workers.into_iter().fold(0.0, f64::max) + serial
    }
}

/// The index of the first smallest value, as Python's `min` picks it.
fn lowest(values: impl Iterator<Item = f64>) -> usize {
    let mut best: Option<(usize, f64)> = None;
    for (i, v) in values.enumerate() {
        if best.is_none_or(|(_, b)| v < b) {
            best = Some((i, v));
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// The job among `jobs` with the lowest estimate (the first on ties).
fn emptiest(jobs: &[Job], procs: usize) -> usize {
    lowest(jobs.iter().map(|j| j.total(procs)))
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

/// Places one group (run_test.py's `shard`): `limit` is Some for the serial group.
fn place(
    jobs: &mut [Job],
    tests: Vec<(String, Option<f64>)>,
    limit: Option<f64>,
    sort_by_time: bool,
    procs: usize,
) {
    if jobs.is_empty() {
        return;
    }
    let (timed, untimed): (Vec<_>, Vec<_>) = if sort_by_time {
        tests.into_iter().partition(|t| t.1.is_some())
    } else {
        (tests, Vec::new())
    };
    let mut timed = pieces(&timed);
    if sort_by_time {
        // Python's sort is stable: equal times keep their input order.
        timed.sort_by(|a, b| b.time.unwrap_or(0.0).total_cmp(&a.time.unwrap_or(0.0)));
    }
    let mut open = jobs.len();
    for test in timed {
        match limit {
            Some(limit) => {
                // Once the group's last shard passes the limit it takes no more.
                if jobs.len() > 1 && jobs[jobs.len() - 1].total(procs) > limit {
                    open = jobs.len() - 1;
                }
                let j = emptiest(&jobs[..open], procs);
                jobs[j].serial.push(test);
            }
            None => {
                let j = emptiest(jobs, procs);
                jobs[j].parallel.push(test);
            }
        }
    }
    // Dealt from the group's first shard on, whatever the shards' estimates.
    let mut next = 0;
    for (name, _) in untimed {
        let piece = ShardedTest {
            name,
            shard: 1,
            num_shards: 1,
            time: None,
        };
        match limit {
            Some(_) => jobs[next].serial.push(piece),
            None => jobs[next].parallel.push(piece),
        }
        next = (next + 1) % jobs.len();
    }
}

/// Per shard: its estimated seconds and its pieces, serial ones first.
/// `tests` are (file, seconds if known) in the order run_test.py is given them.
pub fn calculate_shards(
    num_shards: usize,
    tests: &[(String, Option<f64>)],
    must_serial: impl Fn(&str) -> bool,
    procs: usize,
    sort_by_time: bool,
) -> Vec<(f64, Vec<ShardedTest>)> {
    let num_shards = num_shards.max(1);
    let procs = procs.max(1);
    let (serial, parallel): (Vec<_>, Vec<_>) = tests
        .iter()
        .cloned()
        .partition(|(name, _)| must_serial(name));
    let sum = |tests: &[(String, Option<f64>)]| tests.iter().filter_map(|t| t.1).sum::<f64>();
    let serial_time = sum(&serial);
    let total = serial_time + sum(&parallel) / procs as f64;
    let per_shard = total / num_shards as f64;
    let mut limit = if per_shard != 0.0 {
        serial_time % per_shard
    } else {
        0.0
    };
    if limit <= 0.01 {
        limit = per_shard;
    }
    let mut serial_shards = if total == 0.0 {
        num_shards
    } else {
        ((serial_time / total * num_shards as f64).ceil() as usize).min(num_shards)
    };
    if serial_shards == 0 && !serial.is_empty() {
        // Only untimed files are serial: run_test.py asserts here and stops; the bench
        // gives them the first shard instead.
        serial_shards = 1;
    }
    let mut jobs: Vec<Job> = (0..num_shards).map(|_| Job::default()).collect();
    place(
        &mut jobs[..serial_shards],
        serial,
        Some(limit),
        sort_by_time,
        procs,
    );
    place(&mut jobs, parallel, None, sort_by_time, procs);
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

    // 2 shards, 3 workers, alphabetical input. Serial: a (700 s, 2 pieces) and nn (900 s,
    // 2 pieces): 1600 s; parallel 600 s; total 1800; per shard 900; limit 1600 % 900 =
    // 700; serial shards ceil(1600 / 1800 · 2) = 2.
    #[test]
    fn two_shards_in_input_order_and_sorted() {
        let tests = inputs(&[
            ("distributed/test_a", Some(700.0)),
            ("test_b", Some(300.0)),
            ("test_c", Some(200.0)),
            ("test_d", None),
            ("test_e", Some(100.0)),
            ("test_nn", Some(900.0)),
        ]);
        // In input order: a1 -> 0, a2 -> 1, nn1 -> 0 (800), nn2 -> 1 (800); then b -> 0
        // (1100), c -> 1 (1000), d (nothing) -> 1, e -> 1 on a free worker (1000).
        let shards = calculate_shards(2, &tests, serial, 3, false);
        assert_eq!(
            names(&shards[0]),
            ["distributed/test_a 1/2", "test_nn 1/2", "test_b 1/1"]
        );
        assert_eq!(shards[0].0, 1100.0);
        assert_eq!(
            names(&shards[1]),
            [
                "distributed/test_a 2/2",
                "test_nn 2/2",
                "test_c 1/1",
                "test_d 1/1",
                "test_e 1/1"
            ]
        );
        assert_eq!(shards[1].0, 1000.0);
        // Sorted: nn's pieces (450) before a's (350); b, c, e by time; the untimed d is
        // dealt last, from the first shard on.
        let sorted = calculate_shards(2, &tests, serial, 3, true);
        assert_eq!(
            names(&sorted[0]),
            [
                "test_nn 1/2",
                "distributed/test_a 1/2",
                "test_b 1/1",
                "test_d 1/1"
            ]
        );
        assert_eq!(sorted[0].0, 1100.0);
        assert_eq!(
            names(&sorted[1]),
            [
                "test_nn 2/2",
                "distributed/test_a 2/2",
                "test_c 1/1",
                "test_e 1/1"
            ]
        );
        assert_eq!(sorted[1].0, 1000.0);
    }

    // 4 shards. Serial 1000 s (a, nn), parallel 2700 s; total 1900; per shard 475;
    // limit 1000 % 475 = 50; serial shards ceil(1000 / 1900 · 4) = 3. Input order.
    #[test]
    fn the_serial_limit_and_the_parallel_fill() {
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
        // Serial: a1 -> 0 (350), a2 -> 1 (350), nn -> 2 (300). Parallel: b1 -> 3 (500),
        // b2 -> 2 (800), b3 -> 0 (850), c -> 1 (550), d -> 3, e -> 3, f1 -> 3 (500),
        // f2 -> 3 on the worker that has e (550).
        let expected: [(&[&str], f64); 4] = [
            (&["distributed/test_a 1/2", "test_b 3/3"], 850.0),
            (&["distributed/test_a 2/2", "test_c 1/1"], 550.0),
            (&["test_nn 1/1", "test_b 2/3"], 800.0),
            (
                &[
                    "test_b 1/3",
                    "test_d 1/1",
                    "test_e 1/1",
                    "test_f 1/2",
                    "test_f 2/2",
                ],
                550.0,
            ),
        ];
        for (shard, (names_expected, total)) in shards.iter().zip(expected) {
            assert_eq!(names(shard), names_expected);
            assert_eq!(shard.0, total);
        }
    }

    #[test]
    fn untimed_files_are_dealt_from_the_first_shard_when_sorted_and_count_as_nothing_when_not() {
        let tests = inputs(&[
            ("test_u1", None),
            ("test_u2", None),
            ("test_u3", None),
            ("test_long", Some(1300.0)),
        ]);
        // Sorted: the three 433 s pieces of test_long go 0, 1, then 0 (ties: the first),
        // then u1, u2, u3 round-robin from shard 0.
        let sorted = calculate_shards(2, &tests, |_| false, 2, true);
        assert_eq!(
            names(&sorted[0]),
            [
                "test_long 1/3",
                "test_long 3/3",
                "test_u1 1/1",
                "test_u3 1/1"
            ]
        );
        assert_eq!(names(&sorted[1]), ["test_long 2/3", "test_u2 1/1"]);
        // In input order each untimed file adds nothing, so all three land on the first
        // of two empty shards, and test_long's pieces follow as above.
        let unsorted = calculate_shards(2, &tests, |_| false, 2, false);
        assert_eq!(
            names(&unsorted[0]),
            [
                "test_u1 1/1",
                "test_u2 1/1",
                "test_u3 1/1",
                "test_long 1/3",
                "test_long 3/3"
            ]
        );
        assert_eq!(names(&unsorted[1]), ["test_long 2/3"]);
    }
}
