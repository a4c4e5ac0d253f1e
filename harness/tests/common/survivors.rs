//! Whether a process survived, judged without the harness's own /proc reader
//! (`torch_harness::process`), so a broken reader cannot make every "no survivors"
//! check pass. Shared by the harness's and xtask's process tests.

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// What the kernel says of `pid`: `kill(pid, 0)` tells whether it exists, the
/// `State:` line of `/proc/<pid>/status` (not the `stat` file the harness parses)
/// whether it is only a zombie waiting to be reaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Running,
    Zombie,
    Gone,
}

pub fn seen(pid: i32) -> Seen {
    if kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH) {
        return Seen::Gone;
    }
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        // It existed a moment ago and its /proc entry is gone now: it was reaped.
        return Seen::Gone;
    };
    let state = status
        .lines()
        .find_map(|line| line.strip_prefix("State:"))
        .map(str::trim)
        .unwrap_or_default();
    // "Z (zombie)" or "X (dead)": it has exited, nothing of it runs.
    if state.starts_with('Z') || state.starts_with('X') {
        Seen::Zombie
    } else {
        Seen::Running
    }
}

/// The pids of `pids` still running after up to `patience`; each is then killed so a
/// failing test leaves nothing behind either.
pub fn survivors(pids: &[i32], patience: Duration) -> Vec<i32> {
    let deadline = Instant::now() + patience;
    loop {
        let left: Vec<i32> = pids
            .iter()
            .copied()
            .filter(|p| seen(*p) == Seen::Running)
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            for pid in &left {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
            }
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
