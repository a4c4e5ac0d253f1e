//! A record's repro line, pasted into a fresh shell, runs the same tests with the same
//! lists as the run that wrote it: a piece of a file under its plan, and a case of a
//! CI-mode run with a disabled list of its own.

mod common;

use common::{check, clean, recorded};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use torch_harness::report::record::Record;

fn xtask() -> Command {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.env_remove("PYTORCH_ROOT");
    cmd
}

/// The repro line run by a shell that has none of the run's variables, writing its
/// run to `out`.
fn run_repro(repro: &str, out: &Path) -> Output {
    clean(Command::new("sh"))
        .args(["-c", repro])
        .env_remove("CARGO_TARGET_DIR")
        .env("TORCH_HARNESS_OUT", out)
        .current_dir("/")
        .output()
        .unwrap()
}

/// The tests a case's first attempt reported, each with whether it was skipped, read
/// from its XML with a plain scan (not the harness's JUnit reader).
fn tests_of(run: &Path, case: &str) -> BTreeSet<(String, bool)> {
    let reports = run
        .join(common::case_folder(case))
        .join("attempt-1/test-reports");
    let mut tests = BTreeSet::new();
    for entry in walkdir::WalkDir::new(&reports) {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|e| e != "xml") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        for chunk in text.split("<testcase ").skip(1) {
            // ` name=`, not `classname=`.
            let name = format!(" {chunk}")
                .split_once(" name=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(name, _)| name.to_string())
                .unwrap();
            let body = chunk.split("</testcase>").next().unwrap();
            tests.insert((name, body.contains("<skipped")));
        }
    }
    tests
}

fn record(run: &Path, case: &str) -> Record {
    let path = run
        .join(common::case_folder(case))
        .join("attempt-1/record.json");
    Record::read(&path).unwrap()
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_pieces_repro_runs_the_same_tests_under_the_same_plan() {
    let scratch = tempfile::tempdir().unwrap();
    // test_ops at 100 s is cut into two pieces, one per shard.
    let times = scratch.path().join("times.json");
    std::fs::write(&times, r#"{"default": {"default": {"test_ops": 100.0}}}"#).unwrap();
    let plan = scratch.path().join("plan.json");
    let json = common::ok(
        xtask()
            .args([
                "plan", "--shards", "2", "--json", "-i", "test_ops", "--times",
            ])
            .arg(&times)
            .output()
            .unwrap(),
    );
    std::fs::write(&plan, json).unwrap();
    let case = "test_ops::shard_2_of_2";
    let first = scratch.path().join("first");
    check(
        &xtask()
            .args(["test", "--plan"])
            .arg(&plan)
            .args(["--shard", "2/2"])
            .env("TORCH_HARNESS_OUT", &first)
            .output()
            .unwrap(),
    );
    assert_eq!(recorded(&first), [common::case_folder(case)]);
    let record = record(&first, case);
    println!("repro: {}", record.repro);
    // The command is the first process as it started, stepcurrent flags included.
    assert!(
        record.command.contains(" --sc=test_ops_2_") && record.command.ends_with(" --print-items"),
        "{}",
        record.command
    );

    let again = scratch.path().join("again");
    let repro = run_repro(&record.repro, &again);
    println!("{}", said(&repro));
    check(&repro);
    assert_eq!(recorded(&again), [common::case_folder(case)]);
    let (before, after) = (tests_of(&first, case), tests_of(&again, case));
    // test_ops generates 20 tests; its second piece holds some of them, none skipped.
    assert!(!before.is_empty() && before.len() < 20, "{before:?}");
    assert!(before.iter().all(|(_, skipped)| !skipped), "{before:?}");
    assert_eq!(before, after);
}

#[test]
fn a_ci_mode_repro_reads_the_same_disabled_list() {
    let scratch = tempfile::tempdir().unwrap();
    let case = "test_sort_and_select";
    let first = scratch.path().join("first");
    // The guide's example (docs/ci-mode.md): the demo's own list disables test_kthvalue on linux.
    check(
        &xtask()
            .args(["test", "-i", case])
            .env("CI", "1")
            .env(
                "TORCH_HARNESS_DISABLED_TESTS",
                "demo/disabled-tests-condensed.json",
            )
            .env("TORCH_HARNESS_OUT", &first)
            .output()
            .unwrap(),
    );
    let record = record(&first, case);
    println!("repro: {}", record.repro);
    let before = tests_of(&first, case);
    assert!(
        before.contains(&("test_kthvalue".to_string(), true)),
        "{before:?}"
    );
    assert!(
        before.contains(&("test_topk".to_string(), false)),
        "{before:?}"
    );

    let again = scratch.path().join("again");
    let repro = run_repro(&record.repro, &again);
    println!("{}", said(&repro));
    check(&repro);
    assert_eq!(recorded(&again), [case]);
    assert_eq!(tests_of(&again, case), before);
}
