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
