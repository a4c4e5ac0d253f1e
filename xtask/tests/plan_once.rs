//! Plan once, run every shard from that file, check the union: `cargo xtask plan --json`,
//! `cargo xtask test --plan FILE --shard I/N` (and plain nextest with TORCH_HARNESS_PLAN),
//! and `cargo xtask report --plan FILE RUN...` naming what is dropped, doubled or run
//! under another plan.

mod common;

use common::{clean, kept, nextest_list_with, ok, recorded};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn xtask() -> Command {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.env_remove("PYTORCH_ROOT")
        .env_remove("TORCH_HARNESS_OUT")
        .env_remove("TORCH_HARNESS_SHARD");
    cmd
}

fn write_plan(path: &Path, extra: &[&str]) -> serde_json::Value {
    let json = ok(xtask()
        .args(["plan", "--shards", "2", "--json"])
        .args(extra)
        .output()
        .unwrap());
    std::fs::write(path, &json).unwrap();
    serde_json::from_str(&json).unwrap()
}

fn shard_cases(plan: &serde_json::Value, shard: usize) -> Vec<String> {
    plan["shards"][shard - 1]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

fn report(plan: &Path, runs: &[&Path]) -> (Output, String) {
    let timeline = plan.with_extension("html");
    let out = xtask()
        .args(["report", "--plan"])
        .arg(plan)
        .arg("--timeline")
        .arg(&timeline)
        .args(runs)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

fn union_lines(stdout: &str) -> BTreeSet<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("UNION: "))
        .map(String::from)
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let dest = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

#[test]
fn shards_run_from_one_plan_and_the_report_checks_their_union() {
    let scratch = tempfile::tempdir().unwrap();
    let plan_path = scratch.path().join("plan.json");
    let plan = write_plan(&plan_path, &[]);
    let fingerprint = plan["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(fingerprint.len(), 64);
    // Each planned case says its shard, expected seconds and whether it runs alone.
    let cases = plan["cases"].as_array().unwrap();
    let (one, two) = (shard_cases(&plan, 1), shard_cases(&plan, 2));
    assert_eq!(cases.len(), one.len() + two.len());
    for case in cases {
        let name = case["name"].as_str().unwrap().to_string();
        let shard = case["shard"].as_u64().unwrap() as usize;
        assert!(shard_cases(&plan, shard).contains(&name), "{name}");
        assert!(case["serial"].is_boolean() && case.get("seconds").is_some());
    }
    // run_test.py's rules: distributed configurations run alone.
    let spawn = cases
        .iter()
        .find(|c| c["name"] == "distributed::test_distributed_spawn::gloo::init_env")
        .unwrap();
    assert_eq!(spawn["serial"], true);

    let mut outs: Vec<PathBuf> = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = scratch.path().join(format!("run-{}", &shard[..1]));
        ok(xtask()
            .args(["test", "--plan"])
            .arg(&plan_path)
            .args(["--shard", shard])
            .env("TORCH_HARNESS_OUT", &out)
            .output()
            .unwrap());
        outs.push(out);
    }
    let folder = |c: &String| c.replace("::", ".").replace('/', ".");
    let expect = |cases: &[String]| {
        let mut names: Vec<String> = cases.iter().map(folder).collect();
        names.sort();
        names
    };
    assert_eq!(recorded(&outs[0]), expect(&one));
    assert_eq!(recorded(&outs[1]), expect(&two));
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(outs[1].join(folder(&two[0])).join("attempt-1/record.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["plan"]["fingerprint"], fingerprint.as_str());
    assert_eq!(record["plan"]["shard"], 2);
    let span = &record["span"];
    assert!(span["ended_at"].as_f64().unwrap() >= span["started_at"].as_f64().unwrap());

    // Every shard once: whole.
    let (out, stdout) = report(&plan_path, &[&outs[0], &outs[1]]);
    assert!(out.status.success(), "{stdout}");
    let total = one.len() + two.len();
    assert!(
        stdout.contains(&format!(
            "{total} of {total} planned cases ran exactly once, where planned"
        )),
        "{stdout}"
    );
    let page = std::fs::read_to_string(plan_path.with_extension("html")).unwrap();
    for case in one.iter().chain(&two) {
        assert!(page.contains(case.as_str()), "{case} not on the timeline");
    }

    // A shard's own report finds the plan its records name and draws the planned lengths.
    let timed = cases
        .iter()
        .find(|c| c["seconds"].is_f64())
        .expect("the demo plans some case with an expected time");
    let shard = timed["shard"].as_u64().unwrap() as usize;
    let own = scratch.path().join("own.html");
    ok(xtask()
        .arg("report")
        .arg(&outs[shard - 1])
        .arg("--timeline")
        .arg(&own)
        .output()
        .unwrap());
    let page = std::fs::read_to_string(&own).unwrap();
    let title = format!("{}: ", timed["name"].as_str().unwrap());
    let planned = format!(", planned {:.1} s", timed["seconds"].as_f64().unwrap());
    let bar = page
        .split("<title>")
        .find(|t| t.starts_with(&title))
        .unwrap_or_else(|| panic!("no bar titled {title}"));
    assert!(bar.contains(&planned), "{bar}");

    // A dropped shard: each of its cases is named.
    let (out, stdout) = report(&plan_path, &[&outs[0]]);
    assert!(!out.status.success(), "{stdout}");
    let dropped: BTreeSet<String> = two
        .iter()
        .map(|c| format!("{c}: planned for shard 2, ran on no shard"))
        .collect();
    assert_eq!(union_lines(&stdout), dropped);
    assert!(
        stdout.contains("NO SHARD RUN: shard 2/2 ran no case of this plan"),
        "{stdout}"
    );

    // Shard 1's results given twice (a rerun job uploaded beside the first): doubled.
    let again = scratch.path().join("run-1-again");
    copy_dir(&outs[0], &again);
    let (out, stdout) = report(&plan_path, &[&outs[0], &again, &outs[1]]);
    assert!(!out.status.success(), "{stdout}");
    let doubled: BTreeSet<String> = one
        .iter()
        .map(|c| {
            format!(
                "{c}: ran on 2 shards: {}, {}",
                outs[0].display(),
                again.display()
            )
        })
        .collect();
    assert_eq!(union_lines(&stdout), doubled);

    // Checked against a plan made from other times, every case ran under another plan.
    let times = scratch.path().join("times.json");
    std::fs::write(&times, r#"{"default": {"default": {"test_ops": 100.0}}}"#).unwrap();
    let other_path = scratch.path().join("other-plan.json");
    let other = write_plan(&other_path, &["--times", times.to_str().unwrap()]);
    assert_ne!(other["fingerprint"], plan["fingerprint"]);
    let (out, stdout) = report(&other_path, &[&outs[0], &outs[1]]);
    assert!(!out.status.success(), "{stdout}");
    let short = &fingerprint[..12];
    let lines = union_lines(&stdout);
    for (shard, cases, out) in [(1, &one, &outs[0]), (2, &two, &outs[1])] {
        for case in cases {
            let line = format!(
                "{case}: ran under another plan (fingerprint {short}, shard {shard}/2) in {}",
                out.display()
            );
            assert!(lines.contains(&line), "{line} missing from\n{stdout}");
        }
    }
}

#[test]
fn plain_nextest_lists_the_shard_that_torch_harness_plan_and_shard_name() {
    let scratch = tempfile::tempdir().unwrap();
    let plan_path = scratch.path().join("plan.json");
    let plan = write_plan(&plan_path, &[]);
    for shard in [1, 2] {
        let shard_name = format!("{shard}/2");
        let listed = nextest_list_with(
            &[],
            &[
                ("TORCH_HARNESS_PLAN", plan_path.as_os_str()),
                ("TORCH_HARNESS_SHARD", shard_name.as_ref()),
            ],
        );
        let cases: BTreeSet<String> = kept(&listed).into_iter().map(|(_, case)| case).collect();
        let planned: BTreeSet<String> = shard_cases(&plan, shard).into_iter().collect();
        assert_eq!(cases, planned, "shard {shard}");
    }
    // A shard count that is not the plan's is refused, naming the file.
    let out = clean(Command::new(env!("CARGO")))
        .args(["nextest", "list", "--package", "torch-suite"])
        .env("TORCH_HARNESS_PLAN", &plan_path)
        .env("TORCH_HARNESS_SHARD", "1/3")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plan.json") && err.contains("the plan has 2 shards"),
        "{err}"
    );
    // A shard without a plan is refused rather than running every case.
    let out = clean(Command::new(env!("CARGO")))
        .args(["nextest", "list", "--package", "torch-suite"])
        .env("TORCH_HARNESS_SHARD", "1/2")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "TORCH_HARNESS_SHARD=1/2 names a shard, but TORCH_HARNESS_PLAN names no plan file"
        ),
        "{err}"
    );
}

#[test]
fn an_explicit_times_file_that_cannot_be_read_is_an_error() {
    let scratch = tempfile::tempdir().unwrap();
    let bad = scratch.path().join("times.json");
    std::fs::write(&bad, "{\"default\": {\"default\": {\"test_ops\": ").unwrap();
    let missing = scratch.path().join("nope.json");
    for args in [
        vec!["plan", "--shards", "2", "--times"],
        vec!["test", "--dry-run", "--shard", "1/2", "--times"],
    ] {
        for (file, what) in [(&bad, "times.json:1:"), (&missing, "nope.json")] {
            let out = xtask().args(&args).arg(file).output().unwrap();
            assert!(!out.status.success(), "{args:?} {}", file.display());
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("--times cannot be used") && err.contains(what),
                "{args:?}: {err}"
            );
        }
    }
}
