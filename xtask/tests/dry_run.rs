//! `cargo xtask test --dry-run` prints what the run will run: the filters after `--` and
//! a plan file's own selection count, not the selection flags alone.

mod common;

use common::{clean, ok};
use std::process::Command;

fn xtask() -> Command {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.env_remove("PYTORCH_ROOT");
    cmd
}

/// The cases a dry run lists (its indented lines), in order.
fn listed(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .collect()
}

fn dry_run(args: &[&str]) -> String {
    ok(xtask()
        .args(["test", "--dry-run", "--no-failed-first"])
        .args(args)
        .output()
        .unwrap())
}

#[test]
fn the_filters_after_dashes_narrow_the_dry_run() {
    let out = dry_run(&["-i", "nn", "--", "-E", "test(/pool/)"]);
    assert_eq!(listed(&out), ["nn::test_pooling"], "{out}");
    assert!(
        out.contains("1 cases selected (2 before the filters after --)"),
        "{out}"
    );
    assert!(
        out.contains("and the filters after --: test(/pool/)"),
        "{out}"
    );
    assert!(out.contains("shard 1/1: 0 s predicted, 1 cases"), "{out}");
    // Without them, both of nn's files.
    let out = dry_run(&["-i", "nn"]);
    assert_eq!(
        listed(&out),
        ["nn::test_convolution", "nn::test_pooling"],
        "{out}"
    );
    assert!(out.contains("2 cases selected\n"), "{out}");
}

#[test]
fn a_plan_files_dry_run_counts_the_plans_cases() {
    let scratch = tempfile::tempdir().unwrap();
    let plan = scratch.path().join("plan.json");
    let json = ok(xtask()
        .args(["plan", "--shards", "1", "--json", "-i", "nn"])
        .output()
        .unwrap());
    std::fs::write(&plan, json).unwrap();
    let plan = plan.to_str().unwrap();

    let out = dry_run(&["--plan", plan, "--shard", "1/1"]);
    assert!(
        out.contains("2 cases selected (shard 1/1; 2 in the whole selection)"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "filterset: the cases of the plan {plan} (2 in all)"
        )),
        "{out}"
    );
    let mut cases = listed(&out);
    cases.sort();
    assert_eq!(cases, ["nn::test_convolution", "nn::test_pooling"], "{out}");

    let out = dry_run(&["--plan", plan, "--shard", "1/1", "--", "-E", "test(/conv/)"]);
    assert_eq!(listed(&out), ["nn::test_convolution"], "{out}");
    assert!(
        out.contains("1 cases selected (shard 1/1; 2 in the whole selection)"),
        "{out}"
    );
}
