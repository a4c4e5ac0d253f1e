//! Real nextest ending a case whose tree has a grandchild in its own session: by
//! `slow-timeout` with `terminate-after`, and by SIGINT to nextest (Ctrl-C); 20 times
//! each, 4 at a time.

mod common;

use common::clean;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TREE: &str = r#"import os, subprocess, sys, time
sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
orphan = subprocess.Popen(sleeper, start_new_session=True)
with open(os.environ["PIDS_FILE"], "w") as f:
    f.write(f"{os.getpid()} {orphan.pid}\n")
time.sleep(600)
"#;

fn nextest(checkout: &Path, pids: &Path, tool_config: Option<&Path>) -> Command {
    let mut cmd = clean(Command::new(env!("CARGO")));
    cmd.args([
        "nextest",
        "run",
        "--package",
        "torch-suite",
        "-E",
        "test(=test_tree)",
    ])
    .env("PYTORCH_ROOT", checkout)
    .env("PYTHON", "python3")
    .env("TORCH_HARNESS_PYTEST", "0")
    .env("TORCH_HARNESS_OUT", checkout.join("out"))
    .env("PIDS_FILE", pids)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(config) = tool_config {
        cmd.arg("--tool-config-file")
            .arg(format!("test:{}", config.display()));
    }
    cmd
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("test")).unwrap();
    std::fs::write(dir.path().join("test/test_tree.py"), TREE).unwrap();
    let pids = dir.path().join("pids");
    (dir, pids)
}

fn wait_for_pids(file: &Path) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(file)
            && text.ends_with('\n')
        {
            return text
                .split_whitespace()
                .map(|p| p.parse().unwrap())
                .collect();
        }
        assert!(Instant::now() < deadline, "the case never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_gone(pids: &[i32]) {
    let alive = common::survivors::survivors(pids, Duration::from_secs(5));
    assert!(alive.is_empty(), "survivors: {alive:?}");
}

/// Runs `scenario` 20 times, 4 at once.
fn twenty_times(scenario: fn()) {
    for _ in 0..5 {
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(scenario);
            }
        });
    }
}

#[test]
fn slow_timeout_with_terminate_after_leaves_no_process() {
    twenty_times(slow_timeout_once);
}

#[test]
fn sigint_to_nextest_leaves_no_process() {
    twenty_times(sigint_once);
}

fn slow_timeout_once() {
    let (dir, pids) = setup();
    let config = dir.path().join("tool.toml");
    // The period is the time the harness and Python get to start the tree before
    // nextest ends the case: enough on a loaded machine, or the tree is never seen.
    std::fs::write(
        &config,
        "[[profile.default.overrides]]\nfilter = 'test(=test_tree)'\nslow-timeout = { period = \"6s\", terminate-after = 1, grace-period = \"2s\" }\n",
    )
    .unwrap();
    let out = nextest(dir.path(), &pids, Some(&config)).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("TIMEOUT"), "{stderr}");
    assert_gone(&wait_for_pids(&pids));
}

fn sigint_once() {
    let (dir, pids) = setup();
    let child = nextest(dir.path(), &pids, None).spawn().unwrap();
    let tree = wait_for_pids(&pids);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert_gone(&tree);
}
