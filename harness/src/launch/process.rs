//! Runs a launch and leaves nothing behind.
//!
//! The child stays in the harness's process group, so nextest's group signals reach
//! it. The harness is a child subreaper, so descendants that leave the group (a
//! `setsid` worker, torchrun's ranks) are re-parented to it rather than to init, and it
//! forwards SIGTERM, SIGINT, SIGHUP and SIGQUIT to all of them. On every way out (exit,
//! timeout, signal) whatever is left of the tree gets SIGTERM, a grace period, then
//! SIGKILL, and is reaped. Output streams through to ours and into the attempt's log.

use crate::launch::Launch;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

/// The signals torchrun handles by default, which the harness forwards too.
const FORWARDED: [Signal; 4] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];
const POLL: Duration = Duration::from_millis(20);
/// Set in every case's environment, so its processes can be told from other cases'.
pub const TOKEN_VAR: &str = "TORCH_HARNESS_CASE_TOKEN";

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Wall-clock limit of the attempt, if any.
    pub timeout: Option<Duration>,
    /// Between the polite signal and SIGKILL.
    pub grace: Duration,
}

/// Why the harness ended the child instead of waiting for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    TimedOut,
    /// The harness itself received this signal (nextest's timeout or Ctrl-C).
    Interrupted(Signal),
}

#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub wall: Duration,
    pub ended: Option<Ended>,
    /// Descendants still alive when the child exited, which the harness ended.
    pub leftovers: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot create {path}: {source}")]
    Prepare {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not start `{program}`: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("lost track of the child process: {0}")]
    Wait(std::io::Error),
}

/// The last forwarded signal the harness received (0: none).
fn pending() -> &'static Arc<AtomicUsize> {
    static PENDING: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    PENDING.get_or_init(|| {
        let flag = Arc::new(AtomicUsize::new(0));
        // Become the reaper of orphaned descendants; best effort on kernels without it.
        let _ = nix::sys::prctl::set_child_subreaper(true);
        for signal in FORWARDED {
            let _ = signal_hook::flag::register_usize(
                signal as i32,
                Arc::clone(&flag),
                signal as usize,
            );
        }
        flag
    })
}

fn take_signal() -> Option<Signal> {
    let raw = pending().swap(0, Ordering::SeqCst);
    (raw != 0)
        .then(|| Signal::try_from(raw as i32).ok())
        .flatten()
}

pub fn run(launch: &Launch, limits: Limits) -> Result<Finished, RunError> {
    pending();
    let prepare = |path: PathBuf| move |source| RunError::Prepare { path, source };
    std::fs::create_dir_all(&launch.dir).map_err(prepare(launch.dir.clone()))?;
    let log_path = launch.log_path();
    // Appended to: the runs of one attempt (stepcurrent retries) share its log.
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(prepare(log_path.clone()))?;
    // The log says what ran and where, so it stands on its own.
    let header = format!("$ {}\n", launch.command_line());
    log.write_all(header.as_bytes())
        .map_err(prepare(log_path.clone()))?;
    let log = Arc::new(Mutex::new(log));

    let started = Instant::now();
    let mut command = Command::new(&launch.program);
    command
        .args(&launch.args)
        .current_dir(&launch.cwd)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .env(TOKEN_VAR, &launch.token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in &launch.env_remove {
        command.env_remove(name);
    }
    // Registered before `reap` can look, so a child that exits at once stays ours.
    let spawning = spawning().read().unwrap_or_else(|e| e.into_inner());
    let mut child = command.spawn().map_err(|source| RunError::Spawn {
        program: launch.program.clone(),
        source,
    })?;
    let pid = child.id() as i32;
    supervised().lock().map(|mut s| s.insert(pid)).ok();
    drop(spawning);
    let copiers = [
        child
            .stdout
            .take()
            .map(|out| tee(out, std::io::stdout(), Arc::clone(&log))),
        child
            .stderr
            .take()
            .map(|err| tee(err, std::io::stderr(), Arc::clone(&log))),
    ];
    let outcome = supervise(&mut child, &launch.token, started, limits);
    supervised().lock().map(|mut s| s.remove(&pid)).ok();
    let (status, ended) = outcome?;
    let leftovers = end_tree(&launch.token, limits.grace);
    for copier in copiers.into_iter().flatten() {
        let _ = copier.join();
    }
    Ok(Finished {
        status,
        wall: started.elapsed(),
        ended,
        leftovers,
    })
}

/// Waits for the child while watching the clock and the harness's signals.
fn supervise(
    child: &mut Child,
    token: &str,
    started: Instant,
    limits: Limits,
) -> Result<(ExitStatus, Option<Ended>), RunError> {
    let pid = Pid::from_raw(child.id() as i32);
    let mut ended = None;
    let mut kill_at: Option<Instant> = None;
    // Short first waits, so a quick test costs no 20 ms poll.
    let mut nap = Duration::from_micros(250);
    loop {
        if let Some(status) = child.try_wait().map_err(RunError::Wait)? {
            return Ok((status, ended));
        }
        if let Some(signal) = take_signal() {
            // The child shares our group, but descendants in other sessions do not.
            let _ = kill(pid, signal);
            signal_tree(token, signal);
            ended = Some(Ended::Interrupted(signal));
            kill_at.get_or_insert(Instant::now() + limits.grace);
        }
        if ended.is_none() && limits.timeout.is_some_and(|t| started.elapsed() >= t) {
            // SIGINT first, as run_test.py does, so pytest still writes its XML.
            let _ = kill(pid, Signal::SIGINT);
            ended = Some(Ended::TimedOut);
            kill_at = Some(Instant::now() + limits.grace);
        }
        if kill_at.is_some_and(|at| Instant::now() >= at) {
            let _ = kill(pid, Signal::SIGKILL);
            signal_tree(token, Signal::SIGKILL);
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(POLL);
    }
}

/// Ends every remaining process of the case: SIGTERM, up to `grace` for them to go,
/// SIGKILL. Returns how many there were.
fn end_tree(token: &str, grace: Duration) -> usize {
    reap();
    let found = case_processes(token).len();
    if found == 0 {
        return 0;
    }
    signal_tree(token, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        reap();
        if case_processes(token).is_empty() {
            return found;
        }
        std::thread::sleep(POLL);
    }
    signal_tree(token, Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !case_processes(token).is_empty() {
        reap();
        std::thread::sleep(POLL);
    }
    reap();
    found
}

fn signal_tree(token: &str, signal: Signal) {
    for pid in case_processes(token) {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// The harness's live descendants that belong to this case. Under nextest a harness
/// process runs one case, so that is all of them; under `cargo test` several cases
/// share the process, and a case's processes are the ones carrying its token.
fn case_processes(token: &str) -> Vec<i32> {
    let all = descendants(std::process::id() as i32);
    if std::env::var_os("NEXTEST").is_some_and(|v| v == "1") {
        return all;
    }
    let needle = format!("{TOKEN_VAR}={token}\0");
    all.into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .collect()
}

/// Direct children that a thread of this process is waiting for, which `reap` must
/// leave to that thread.
fn supervised() -> &'static Mutex<HashSet<i32>> {
    static SUPERVISED: OnceLock<Mutex<HashSet<i32>>> = OnceLock::new();
    SUPERVISED.get_or_init(Default::default)
}

/// Held (shared) by every thread between starting a child and waiting for it or
/// registering it; `reap` needs it alone. Under `cargo test` the cases are threads of
/// one process, and a zombie child of another thread's `output()` or fresh spawn must
/// not be reaped from under it (its wait would fail with ECHILD).
fn spawning() -> &'static RwLock<()> {
    static SPAWNING: RwLock<()> = RwLock::new(());
    &SPAWNING
}

/// `command.output()` for every short-lived helper the harness runs (probes, listings,
/// tools), safe beside `reap` in another thread.
pub fn output(command: &mut Command) -> std::io::Result<Output> {
    let _spawning = spawning().read().unwrap_or_else(|e| e.into_inner());
    command.output()
}

/// Collects the exit status of adopted descendants (zombies whose parent is now the
/// harness), so they do not linger. Skipped while another thread is starting a child;
/// the next call collects them.
fn reap() {
    let Ok(_alone) = spawning().try_write() else {
        return;
    };
    let me = std::process::id() as i32;
    let waited = supervised().lock().map(|s| s.clone()).unwrap_or_default();
    // Our own children when the kernel lists them, else every process's parent.
    let children: Vec<(i32, char)> = match children_of(me) {
        Some(pids) => pids
            .into_iter()
            .filter_map(|pid| Some((pid, stat(pid)?.1)))
            .collect(),
        None => processes()
            .into_iter()
            .filter(|(_, ppid, _)| *ppid == me)
            .map(|(pid, _, state)| (pid, state))
            .collect(),
    };
    for (pid, state) in children {
        if state == 'Z' && !waited.contains(&pid) {
            let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}

/// The children of `pid` (of every thread of it), from `/proc/<pid>/task/*/children`;
/// None where the kernel does not offer those files. Reading a few of them instead of
/// every process's `stat` keeps a case's end cheap on a machine running many processes.
fn children_of(pid: i32) -> Option<Vec<i32>> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut found = Vec::new();
    let mut listed = false;
    for task in tasks.filter_map(Result::ok) {
        // A thread that ended meanwhile has no file; the others still answer.
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            listed = true;
            found.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    listed.then_some(found)
}

/// (pid, parent pid, state) of every process, from /proc.
fn processes() -> Vec<(i32, i32, char)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            let (ppid, state) = stat(pid)?;
            Some((pid, ppid, state))
        })
        .collect()
}

/// (parent pid, state) of `pid`, from /proc.
fn stat(pid: i32) -> Option<(i32, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: parse after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

/// Whether `pid` is a live process (not gone, not a zombie).
pub fn is_alive(pid: i32) -> bool {
    stat(pid).is_some_and(|(_, state)| state != 'Z' && state != 'X')
}

/// Live (non-zombie) processes below `root`.
pub fn descendants(root: i32) -> Vec<i32> {
    match children_of(root) {
        Some(first) => descendants_by_children(first),
        None => descendants_by_scan(root),
    }
}

/// Walks down from `root`'s children through each one's own children.
fn descendants_by_children(first: Vec<i32>) -> Vec<i32> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = first;
    while let Some(pid) = stack.pop() {
        if !seen.insert(pid) {
            continue;
        }
        // A zombie has no children left; a process gone meanwhile is not live.
        if !is_alive(pid) {
            continue;
        }
        found.push(pid);
        stack.extend(children_of(pid).unwrap_or_default());
    }
    found
}

/// Every process's parent, from a scan of /proc: where the children files are missing.
fn descendants_by_scan(root: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (pid, ppid, state) in processes() {
        if state != 'Z' && state != 'X' {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for &child in children.get(&pid).map(Vec::as_slice).unwrap_or_default() {
            found.push(child);
            stack.push(child);
        }
    }
    found
}

/// Copies `from` to `to` and the log until end of file. Writes are best-effort: a
/// closed terminal must not stop the log, and a full disk must not stop the test.
fn tee(
    mut from: impl Read + Send + 'static,
    mut to: impl Write + Send + 'static,
    log: Arc<Mutex<File>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let _ = to.write_all(&buf[..n]);
                    let _ = to.flush();
                    if let Ok(mut log) = log.lock() {
                        let _ = log.write_all(&buf[..n]);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk through the children files and the scan of every process agree on a
    /// tree with a grandchild (the scan is the older, independent reader).
    #[test]
    fn the_children_walk_finds_what_the_full_scan_finds() {
        struct Ended(Child);
        impl Drop for Ended {
            fn drop(&mut self) {
                for pid in descendants_by_scan(self.0.id() as i32) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let shell = Ended(
            Command::new("sh")
                .args(["-c", "sh -c 'sleep 60 & wait' & sleep 60 & wait"])
                .spawn()
                .unwrap(),
        );
        let root = shell.0.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(20);
        while descendants_by_scan(root).len() < 3 {
            assert!(
                Instant::now() < deadline,
                "the shell never started its sleeps"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let Some(first) = children_of(root) else {
            eprintln!("this kernel has no /proc/<pid>/task/<tid>/children; the scan is used");
            return;
        };
        let mut walked = descendants_by_children(first);
        let mut scanned = descendants_by_scan(root);
        walked.sort_unstable();
        scanned.sort_unstable();
        // The inner shell, its sleep and the outer sleep.
        assert_eq!(walked.len(), 3, "{walked:?}");
        assert_eq!(walked, scanned);
        // From this process: the shell and both sleeps.
        let mine = descendants(std::process::id() as i32);
        assert!(
            walked.iter().chain([&root]).all(|p| mine.contains(p)),
            "{mine:?}"
        );
    }

    /// Under `cargo test` the cases are threads of one process: one thread's reaping of
    /// adopted zombies must never collect another thread's own child.
    #[test]
    fn reaping_beside_other_threads_never_takes_their_children() {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reaper = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    reap();
                }
            })
        };
        let workers: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..100)
                        .filter(|_| output(&mut Command::new("true")).is_err())
                        .count()
                })
            })
            .collect();
        let lost: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        done.store(true, Ordering::Relaxed);
        reaper.join().unwrap();
        assert_eq!(lost, 0, "children reaped from under their waiting thread");
    }
}
