//! No process outlives its case: a test whose tree includes a grandchild in its own
//! session (`setsid`), ended by the harness's timeout, by nextest's way of ending a
//! slow test (SIGTERM to the process group, grace, SIGKILL) and by Ctrl-C (SIGINT to
//! the group), 20 times each; and one that exits leaving an orphan behind.

mod common;

use common::Checkout;
use common::survivors::{Seen, seen};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use torch_harness::launch::process::{descendants, is_alive};

/// Starts a grandchild in its own session and a plain child, records all pids, then
/// hangs (or exits at once with HANG=0).
const TREE: &str = r#"import os, subprocess, sys, time
sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
orphan = subprocess.Popen(sleeper, start_new_session=True)
child = subprocess.Popen(sleeper)
with open(os.environ["PIDS_FILE"], "w") as f:
    f.write(f"{os.getpid()} {orphan.pid} {child.pid}\n")
if os.environ.get("HANG", "1") == "1":
    time.sleep(600)
"#;

/// The harness's timeout (3 x the expected time) for the test that waits for it: long
/// enough for Python to start and spawn its tree on a loaded machine.
const TIMEOUT_EXPECTED_SECONDS: &str = "2.0";
/// For tests that end the tree themselves once it has started: a timeout that never
/// comes first.
const NO_TIMEOUT_EXPECTED_SECONDS: &str = "200.0";

fn checkout(expected_seconds: &str) -> Checkout {
    let config = format!(
        "[timeouts]\nfloor_seconds = 0.0\ngrace_seconds = 0.5\n[expected_seconds]\ntest_tree = {expected_seconds}\n"
    );
    Checkout::new(&[("test/test_tree.py", TREE), ("torch-harness.toml", &config)])
}

fn start(root: &Path, pids: &Path, hang: bool, own_group: bool) -> Child {
    let out = tempfile::tempdir().unwrap().keep();
    let mut cmd = common::harness_command();
    cmd.args(["python", "test_tree", "--exact"])
        .env("PYTORCH_ROOT", root)
        .env("TORCH_HARNESS_OUT", out)
        .env("TORCH_HARNESS_MANIFESTS", common::manifests())
        .env("TORCH_HARNESS_PYTEST", "0")
        .env("PYTHON", "python3")
        .env("NEXTEST", "1")
        .env("PIDS_FILE", pids)
        .env("HANG", if hang { "1" } else { "0" })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if own_group {
        // As nextest starts a test: in a process group of its own.
        cmd.process_group(0);
    }
    cmd.spawn().unwrap()
}

fn recorded_pids(file: &Path) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(file)
            && text.ends_with('\n')
        {
            return text
                .split_whitespace()
                .map(|p| p.parse().unwrap())
                .collect();
        }
        assert!(Instant::now() < deadline, "the test never started its tree");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pids of the tree still running a moment after the harness is gone.
fn survivors(pids: &[i32]) -> Vec<i32> {
    common::survivors::survivors(pids, Duration::from_secs(3))
}

/// Runs `scenario` 20 times, 4 at once, against a checkout whose test expects
/// `expected_seconds`, and returns every survivor.
fn twenty_times(
    expected_seconds: &str,
    scenario: impl Fn(&Path, &Path) -> String + Sync,
) -> Vec<i32> {
    let checkout = checkout(expected_seconds);
    let runs = tempfile::tempdir().unwrap();
    let mut left = Vec::new();
    for batch in 0..5 {
        let found: Vec<Vec<i32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    let pids = runs.path().join(format!("pids-{batch}-{i}"));
                    let (scenario, root) = (&scenario, checkout.root());
                    s.spawn(move || {
                        let stderr = scenario(root, &pids);
                        let tree = recorded_pids(&pids);
                        let left = survivors(&tree);
                        assert!(
                            left.is_empty(),
                            "survivors {left:?}; harness said:\n{stderr}"
                        );
                        left
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        left.extend(found.into_iter().flatten());
    }
    left
}

fn finish(child: Child) -> (std::process::ExitStatus, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_harness_timeout_ends_the_whole_tree() {
    let left = twenty_times(TIMEOUT_EXPECTED_SECONDS, |root, pids| {
        let (status, stderr) = finish(start(root, pids, true, false));
        assert!(!status.success());
        assert!(
            stderr.contains("Error: test_tree timed out after"),
            "{stderr}"
        );
        assert!(stderr.contains("(expected 2 s)"), "{stderr}");
        stderr
    });
    assert!(left.is_empty());
}

#[test]
fn nextests_terminate_sequence_ends_the_whole_tree() {
    let left = twenty_times(NO_TIMEOUT_EXPECTED_SECONDS, |root, pids| {
        let child = start(root, pids, true, true);
        recorded_pids(pids);
        let group = Pid::from_raw(child.id() as i32);
        // slow-timeout with terminate-after: SIGTERM to the group, grace, SIGKILL.
        killpg(group, Signal::SIGTERM).unwrap();
        let grace = Instant::now() + Duration::from_secs(2);
        let mut child = child;
        while Instant::now() < grace && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let (_, stderr) = finish(child);
        stderr
    });
    assert!(left.is_empty());
}

#[test]
fn ctrl_c_ends_the_whole_tree() {
    let left = twenty_times(NO_TIMEOUT_EXPECTED_SECONDS, |root, pids| {
        let child = start(root, pids, true, true);
        recorded_pids(pids);
        // nextest forwards the signal it got to each test's process group.
        killpg(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
        let (status, stderr) = finish(child);
        assert!(!status.success());
        stderr
    });
    assert!(left.is_empty());
}

#[test]
fn an_orphan_left_by_a_passing_test_is_ended() {
    let checkout = checkout(NO_TIMEOUT_EXPECTED_SECONDS);
    let runs = tempfile::tempdir().unwrap();
    let pids = runs.path().join("pids");
    let (status, stderr) = finish(start(checkout.root(), &pids, false, false));
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("ended 2 process(es) it left behind"),
        "{stderr}"
    );
    assert!(survivors(&recorded_pids(&pids)).is_empty());
}

/// The /proc reader the cleanup relies on, against processes whose state the kernel
/// reports independently: running, a zombie not yet reaped, reaped.
#[test]
fn the_proc_reader_sees_a_live_child_then_a_zombie_then_nothing() {
    /// Kills and reaps the child if an assertion fails first.
    struct Reaped(Child);
    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Reaped(Command::new("sleep").arg("60").spawn().unwrap());
    let pid = child.0.id() as i32;
    assert_eq!(seen(pid), Seen::Running);
    assert!(is_alive(pid), "a running child reads as not alive");
    let me = std::process::id() as i32;
    assert!(
        descendants(me).contains(&pid),
        "a running child is missing from this process's descendants"
    );

    nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    // Not waited for yet: it stays a zombie until reaped.
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen(pid) != Seen::Zombie {
        assert!(
            Instant::now() < deadline,
            "the killed child never became a zombie"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!is_alive(pid), "a zombie reads as alive");
    assert!(
        !descendants(me).contains(&pid),
        "a zombie counts as a descendant"
    );

    child.0.wait().unwrap();
    assert_eq!(seen(pid), Seen::Gone);
    assert!(!is_alive(pid), "a reaped child reads as alive");
}
