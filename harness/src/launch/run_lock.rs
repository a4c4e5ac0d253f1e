//! Which cases share the machine: run_test.py's run-alone rules enforced by the
//! harness itself, so plain `cargo nextest run`, `cargo test` and xtask all keep them.
//!
//! One reader/writer lock per run (a file under the run's output folder): every case
//! holds it shared while its processes run, a case that must run alone holds it
//! exclusively. A turnstile in front keeps a waiting exclusive case from starving: while
//! one waits, new cases queue behind it instead of slipping in ahead.
//!
//! The lock is taken before device leases and released after them, in every case, so a
//! case never waits for the lock while holding a device another case needs. It is held
//! only around the child processes, so the wait never counts against a case's timeout.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The cases, one a line, whose run-alone part (an `@serialTest` phase) goes before any
/// case shares the machine: `cargo xtask test` starts them together with the first
/// parallel cases, and the parallel ones wait at their gates (`RunLock::pass_gates`).
pub const FIRST_VAR: &str = "TORCH_HARNESS_ALONE_FIRST";

/// How long a case waits for a gate that was never put up: its case was not started
/// (filtered out, or the run stopped) or is slow to start. A case that waits in vain
/// only gives up its place in the order, never the run-alone rule itself.
const GATE_START_WAIT: Duration = Duration::from_secs(10);

/// The cases `FIRST_VAR` names.
pub fn first_from_env() -> Vec<String> {
    std::env::var(FIRST_VAR)
        .map(|v| {
            v.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// A case's gate, up while it is held: other cases' shared holds wait for it.
#[derive(Debug)]
pub struct Gate {
    _file: File,
}

/// How a case holds the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// Beside any other shared case.
    Shared,
    /// Alone: no other case of the run runs meanwhile.
    Alone,
}

impl Share {
    pub fn describe(self) -> &'static str {
        match self {
            Share::Shared => "beside other cases",
            Share::Alone => "alone",
        }
    }
}

/// The run's lock, in `dir`.
#[derive(Debug, Clone)]
pub struct RunLock {
    dir: PathBuf,
}

/// A hold on the run; released when dropped.
#[derive(Debug)]
pub struct Hold {
    _lock: File,
    /// How long the case waited for it.
    pub waited: Duration,
}

impl RunLock {
    /// The lock of the run whose outputs go to `out_dir`: one run of nextest (its run
    /// id) or of one `cargo test` binary shares one.
    pub fn for_run(out_dir: &Path) -> RunLock {
        RunLock {
            dir: out_dir.join(".locks"),
        }
    }

    /// Puts up `case`'s gate, locked before it can be seen, and holds it until dropped.
    pub fn put_up_gate(&self, case: &str) -> std::io::Result<Gate> {
        let dir = self.dir.join("gates");
        std::fs::create_dir_all(&dir)?;
        let file = tempfile::NamedTempFile::new_in(&dir)?;
        file.as_file().lock()?;
        let file = file.persist(self.gate_path(case)).map_err(|e| e.error)?;
        Ok(Gate { _file: file })
    }

    /// Waits until each case of `first` but `me` has taken its gate down (or ended), or
    /// has put none up within `GATE_START_WAIT`. Returns how long it waited.
    pub fn pass_gates(&self, first: &[String], me: &str) -> std::io::Result<Duration> {
        let started = Instant::now();
        for case in first.iter().filter(|c| c.as_str() != me) {
            let path = self.gate_path(case);
            let deadline = Instant::now() + GATE_START_WAIT;
            loop {
                match File::open(&path) {
                    Ok(gate) => {
                        // Blocks while the case holds it; its end releases it too.
                        gate.lock_shared()?;
                        break;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        if Instant::now() >= deadline {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(started.elapsed())
    }

    fn gate_path(&self, case: &str) -> PathBuf {
        // Per nextest run, so a reused output folder's old gate is never this run's.
        let run = std::env::var("NEXTEST_RUN_ID").unwrap_or_default();
        let hash = crate::util::hash::stable_hash(&format!("{run}#{case}"));
        self.dir.join("gates").join(format!("{hash:016x}.lock"))
    }

    /// The folder of the run's lock files, which other per-run notes share.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waits until the run can be held as `share` asks. `on_wait` is called once, before
    /// blocking, when the hold is not free at once (to say why the case is not running).
    pub fn hold(&self, share: Share, on_wait: impl FnOnce()) -> std::io::Result<Hold> {
        std::fs::create_dir_all(&self.dir)?;
        let started = Instant::now();
        let turnstile = self.open("turnstile")?;
        let lock = self.open("run")?;
        let mut on_wait = Some(on_wait);
        let mut waiting = || {
            if let Some(say) = on_wait.take() {
                say();
            }
        };
        // Through the turnstile: a writer holds it while it waits, so readers queue.
        if turnstile.try_lock().is_err() {
            waiting();
            turnstile.lock()?;
        }
        let locked = match share {
            Share::Shared => lock.try_lock_shared(),
            Share::Alone => lock.try_lock(),
        };
        if locked.is_err() {
            waiting();
            match share {
                Share::Shared => lock.lock_shared()?,
                Share::Alone => lock.lock()?,
            }
        }
        turnstile.unlock()?;
        Ok(Hold {
            _lock: lock,
            waited: started.elapsed(),
        })
    }

    fn open(&self, name: &str) -> std::io::Result<File> {
        // Each hold opens its own file description, so holds in one process (cargo
        // test's threads) exclude each other as holds in different processes do.
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(format!("{name}.lock")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;

    fn lock() -> (tempfile::TempDir, RunLock) {
        // Holds in one process exclude each other as holds in two processes do (one
        // file description each); nextest's separate processes are the run_alone tests'.
        let dir = tempfile::tempdir().unwrap();
        let lock = RunLock::for_run(dir.path());
        (dir, lock)
    }

    /// Whether another thread gets `share` within `wait` while the test holds others.
    fn holds_within(lock: &RunLock, share: Share, wait: Duration) -> bool {
        let (tx, rx) = mpsc::channel();
        let lock = lock.clone();
        thread::spawn(move || {
            let _ = tx.send(lock.hold(share, || {}).is_ok());
        });
        rx.recv_timeout(wait).unwrap_or(false)
    }

    /// Blocked: a hold that is not granted in this long is taken to wait for the test's.
    fn blocked(lock: &RunLock, share: Share) -> bool {
        !holds_within(lock, share, Duration::from_millis(200))
    }

    /// Granted, with room for a loaded machine.
    fn granted(lock: &RunLock, share: Share) -> bool {
        holds_within(lock, share, Duration::from_secs(10))
    }

    #[test]
    fn a_gate_holds_back_other_cases_until_it_comes_down_and_never_its_own() {
        let (_dir, lock) = lock();
        let first = vec!["m".to_string()];
        let gate = lock.put_up_gate("m").unwrap();
        // Its own case passes (it would wait for its own gate forever otherwise).
        assert!(passes(&lock, &first, "m"));
        let (tx, rx) = mpsc::channel();
        {
            let lock = lock.clone();
            let first = first.clone();
            thread::spawn(move || {
                let _ = tx.send(lock.pass_gates(&first, "p").is_ok());
            });
        }
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "passed a gate that is up"
        );
        drop(gate);
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(true));
        // Down for good: later cases pass too.
        assert!(passes(&lock, &first, "q"));
    }

    /// `me` passes the gates of `first` within the gate's own start wait, with room for
    /// a loaded machine (a gate that is up blocks for as long as its case runs).
    fn passes(lock: &RunLock, first: &[String], me: &str) -> bool {
        let (tx, rx) = mpsc::channel();
        let (lock, first, me) = (lock.clone(), first.to_vec(), me.to_string());
        thread::spawn(move || {
            let _ = tx.send(lock.pass_gates(&first, &me).is_ok());
        });
        rx.recv_timeout(GATE_START_WAIT).unwrap_or(false)
    }

    #[test]
    fn a_gate_never_put_up_is_waited_for_a_while_only() {
        let (_dir, lock) = lock();
        let waited = lock.pass_gates(&["gone".to_string()], "p").unwrap();
        assert!(waited >= GATE_START_WAIT, "{waited:?}");
    }

    #[test]
    fn shared_holds_run_together() {
        let (_dir, lock) = lock();
        let _a = lock.hold(Share::Shared, || {}).unwrap();
        let _b = lock.hold(Share::Shared, || {}).unwrap();
        assert!(granted(&lock, Share::Shared));
    }

    #[test]
    fn an_alone_hold_excludes_every_other_hold() {
        let (_dir, lock) = lock();
        let alone = lock.hold(Share::Alone, || {}).unwrap();
        assert!(blocked(&lock, Share::Shared));
        assert!(blocked(&lock, Share::Alone));
        drop(alone);
        assert!(granted(&lock, Share::Shared));
    }

    /// A thread that takes an alone hold: it says when it starts to wait and when it
    /// holds, then lets go and returns how long it waited.
    fn alone_in_a_thread(
        lock: &RunLock,
    ) -> (
        mpsc::Receiver<()>,
        mpsc::Receiver<()>,
        thread::JoinHandle<Duration>,
    ) {
        let (waiting_tx, waiting) = mpsc::channel();
        let (held_tx, held) = mpsc::channel();
        let lock = lock.clone();
        let thread = thread::spawn(move || {
            let hold = lock
                .hold(Share::Alone, || waiting_tx.send(()).unwrap())
                .unwrap();
            held_tx.send(()).unwrap();
            hold.waited
        });
        (waiting, held, thread)
    }

    #[test]
    fn an_alone_case_waits_for_shared_ones_and_is_told_it_waits() {
        let (_dir, lock) = lock();
        let shared = lock.hold(Share::Shared, || {}).unwrap();
        let (waiting, held, waiter) = alone_in_a_thread(&lock);
        // Told before it blocks, and still blocked while the shared hold lasts.
        waiting.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(held.recv_timeout(Duration::from_millis(200)).is_err());
        drop(shared);
        held.recv_timeout(Duration::from_secs(10)).unwrap();
        let waited = waiter.join().unwrap();
        assert!(waited >= Duration::from_millis(200), "{waited:?}");
    }

    #[test]
    fn a_waiting_alone_case_is_not_overtaken_by_new_shared_ones() {
        let (_dir, lock) = lock();
        let first = lock.hold(Share::Shared, || {}).unwrap();
        let (waiting, held, writer) = alone_in_a_thread(&lock);
        // Once the writer says it waits for `first`, a new reader queues behind it.
        waiting.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(blocked(&lock, Share::Shared));
        drop(first);
        held.recv_timeout(Duration::from_secs(10)).unwrap();
        writer.join().unwrap();
    }
}
