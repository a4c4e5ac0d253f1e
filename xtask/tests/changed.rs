//! `cargo xtask test --changed [BASE]` on synthetic git checkouts: which tests a change
//! picks, in which order, and why; and a real run on a copy of the demo.

mod common;

use common::{clean, ok, recorded};
use std::path::Path;
use std::process::Command;
use torch_harness::report::record::Record;
use torch_harness::report::verdict::Verdict;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(dir: &Path, path: &str, text: &str) {
    let to = dir.join(path);
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::write(to, text).unwrap();
}

/// A failed record of `case` in `out`, as a previous run leaves it.
fn failed_record(out: &Path, case: &str) {
    let folder = out.join(case.replace("::", ".")).join("attempt-1");
    std::fs::create_dir_all(&folder).unwrap();
    Record {
        wall_seconds: 1.0,
        cwd: out.to_path_buf(),
        log: folder.join("output.log"),
        ..Record::new(case, Verdict::Failed { exit_code: 1 })
    }
    .write(&folder)
    .unwrap();
}

#[test]
fn a_change_picks_edited_tests_then_path_matches_then_correlated_then_failed() {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    for test in [
        "test_autograd",
        "test_linalg",
        "test_nn",
        "test_optim",
        "test_serialization",
        "test_sparse",
        "test_torch",
        "nn/test_pooling",
        "onnx/test_models",
    ] {
        write(dir, &format!("test/{test}.py"), "");
    }
    write(dir, "torch/linalg.py", "");
    write(dir, "torch/nn/functional.py", "");
    // PyTorch's correlation data: {edited file: {test file: score}}.
    write(
        dir,
        ".additional_ci_files/td_heuristic_historical_edited_files.json",
        r#"{"torch/linalg.py": {"test_torch": 2.5, "test_linalg": 1.0},
            "torch/unrelated.py": {"test_autograd": 9.0}}"#,
    );
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "base"]);
    // origin/main is the base by default.
    let base = git(dir, &["rev-parse", "HEAD"]);
    git(dir, &["update-ref", "refs/remotes/origin/main", &base]);
    // The change: one commit, one unstaged edit, one untracked file.
    write(dir, "test/test_optim.py", "# edited\n");
    git(dir, &["commit", "-qam", "edit a test"]);
    write(dir, "torch/linalg.py", "# edited\n");
    write(dir, "torch/nn/functional.py", "# edited\n");
    write(dir, "torch/sparse/_impl.py", "");
    let out_dir = tempfile::tempdir().unwrap();
    failed_record(out_dir.path(), "test_serialization");

    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(["test", "--dry-run", "--changed"])
        .env("PYTORCH_ROOT", dir)
        .env("TORCH_HARNESS_OUT", out_dir.path());
    let out = ok(cmd.output().unwrap());
    assert!(
        out.contains(&format!("changed since {base}: 4 files")),
        "{out}"
    );
    let chosen: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("chosen: "))
        .collect();
    assert_eq!(
        chosen,
        [
            "test_optim: edited by the change",
            "nn::test_pooling: its path matches the edited source paths (nn; 1 edited file)",
            "test_linalg: its path matches the edited source paths (linalg; 1 edited file)",
            "test_nn: its path matches the edited source paths (nn; 1 edited file)",
            "test_sparse: its path matches the edited source paths (sparse; 1 edited file)",
            "test_torch: historically edited together with the changed files (score 2.5)",
            "test_serialization: failed in the previous run",
        ],
        "{out}"
    );
    // Only the chosen cases run (onnx's `nn` is no match): the run-alone ones first
    // (run_test.py's must-serial nn/test_pooling, test_nn, test_torch), so no slot waits
    // behind one, then the rest; each group in the order chosen.
    let cases: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("    ")).collect();
    assert_eq!(
        cases,
        [
            "nn::test_pooling",
            "test_nn",
            "test_torch",
            "test_optim",
            "test_linalg",
            "test_sparse",
            "test_serialization",
        ],
        "{out}"
    );

    // An explicit base: only what changed since the edit commit.
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args([
        "test",
        "--dry-run",
        "--no-failed-first",
        "--changed",
        "HEAD",
    ])
    .env("PYTORCH_ROOT", dir)
    .env("TORCH_HARNESS_OUT", out_dir.path());
    let out = ok(cmd.output().unwrap());
    assert!(!out.contains("chosen: test_optim"), "{out}");
    assert!(!out.contains("chosen: test_serialization"), "{out}");
    assert!(out.contains("chosen: test_linalg"), "{out}");
}

#[test]
fn a_checkout_without_origin_main_asks_for_a_base() {
    let repo = tempfile::tempdir().unwrap();
    write(repo.path(), "test/test_a.py", "");
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "one"]);
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(["test", "--dry-run", "--changed"])
        .env("PYTORCH_ROOT", repo.path());
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--changed HEAD~1"), "{stderr}");
}

#[test]
fn the_demo_runs_only_the_tests_for_its_change() {
    // A copy of the demo's Python side, committed, then one test file edited.
    let copy = common::demo_copy();
    git(copy.path(), &["init", "-q"]);
    git(copy.path(), &["add", "-A"]);
    git(copy.path(), &["commit", "-qm", "demo"]);
    let path = copy.path().join("test/test_sort_and_select.py");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n# edited\n")).unwrap();

    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(["test", "--changed", "HEAD"])
        .env("PYTORCH_ROOT", copy.path())
        .env("PYTHON", common::demo_python())
        .env("TORCH_HARNESS_OUT", out_dir.path());
    common::check(&cmd.output().unwrap());
    assert_eq!(recorded(out_dir.path()), ["test_sort_and_select"]);
}
