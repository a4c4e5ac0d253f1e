//! No process outlives its case: a test whose tree includes a grandchild in its own
//! session (`setsid`), ended by the harness's timeout, by nextest's way of ending a
//! slow test (SIGTERM to the process group, grace, SIGKILL) and by Ctrl-C (SIGINT to
//! the group), 20 times each; and one that exits leaving an orphan behind.

mod common;

use common::Checkout;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use torch_harness::launch::process::is_alive;

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

fn checkout() -> Checkout {
    Checkout::new(&[
        ("test/test_tree.py", TREE),
        (
            "torch-harness.toml",
            "[timeouts]\nfloor_seconds = 0.0\ngrace_seconds = 0.5\n[expected_seconds]\ntest_tree = 0.3\n",
        ),
    ])
}

fn start(root: &Path, pids: &Path, hang: bool, own_group: bool) -> Child {
    let out = tempfile::tempdir().unwrap().keep();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_torch-harness"));
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

/// Pids of the tree still alive a moment after the harness is gone.
fn survivors(pids: &[i32]) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left: Vec<i32> = pids.iter().copied().filter(|p| is_alive(*p)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            for pid in &left {
                let _ = nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGKILL);
            }
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `scenario` 20 times, 4 at once, and returns every survivor.
fn twenty_times(scenario: impl Fn(&Path, &Path) -> String + Sync) -> Vec<i32> {
    let checkout = checkout();
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
    let left = twenty_times(|root, pids| {
        let (status, stderr) = finish(start(root, pids, true, false));
        assert!(!status.success());
        assert!(
            stderr.contains("Error: test_tree timed out after"),
            "{stderr}"
        );
        assert!(stderr.contains("(expected 0 s)"), "{stderr}");
        stderr
    });
    assert!(left.is_empty());
}

#[test]
fn nextests_terminate_sequence_ends_the_whole_tree() {
    let left = twenty_times(|root, pids| {
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
    let left = twenty_times(|root, pids| {
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
    let checkout = checkout();
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
