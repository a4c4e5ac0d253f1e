//! End to end: the demo through cargo-nextest, as users run it.

mod common;

use common::{check, clean, demo_copy, kept, nextest_list, recorded};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every case of the demo, as written out in `common`.
fn demo_cases() -> Vec<String> {
    common::demo_cases().into_iter().map(String::from).collect()
}

/// The demo's cases as nextest lists them now (run by discovery, not written out).
fn listed_cases() -> Vec<String> {
    let mut list = clean(Command::new(env!("CARGO")));
    list.args(["nextest", "list", "--package", "torch-suite"]);
    let out = common::ok(list.output().unwrap());
    out.lines()
        .filter_map(|l| l.split_once(' ').map(|(_, case)| case.to_string()))
        .collect()
}

#[test]
fn the_demo_lists_exactly_its_cases() {
    let mut setup = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    check(&setup.arg("setup").output().unwrap());
    let mut listed = listed_cases();
    listed.sort();
    let mut expected = demo_cases();
    expected.sort();
    assert_eq!(listed, expected);
}

#[test]
fn the_demo_has_cpp_cases_whenever_googletest_is_installed() {
    let gtest = common::googletest_installed();
    // xtask's set-up builds them (cargo xtask check runs it first).
    let mut setup = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    check(&setup.arg("setup").output().unwrap());
    let cpp: Vec<String> = listed_cases()
        .into_iter()
        .filter(|c| c.starts_with("c10_typed_test::") || c.starts_with("test_death::"))
        .collect();
    if gtest {
        for suite in [
            "c10_typed_test::SaturatingAdd/0",
            "c10_typed_test::Sizes/PrefixSum",
            "test_death::BoundsCheckDeathTest",
            "test_death::NeedsCuda",
        ] {
            assert!(cpp.contains(&suite.to_string()), "{cpp:?}");
        }
    } else {
        assert!(cpp.is_empty(), "{cpp:?}");
        let listed = kept(&nextest_list(&["--run-ignored", "only"]));
        assert!(
            listed.contains(&(
                "torch-suite::cpp".to_string(),
                "c10_typed_test::NOT_BUILT".to_string()
            )),
            "{listed:?}"
        );
    }
}

#[test]
fn a_filterset_on_the_folder_runs_exactly_its_cases() {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = clean(Command::new(env!("CARGO")));
    cmd.args([
        "nextest",
        "run",
        "--package",
        "torch-suite",
        "-E",
        "test(/^nn::/)",
    ])
    .env("TORCH_HARNESS_OUT", out.path());
    let output = cmd.output().unwrap();
    check(&output);
    assert_eq!(
        recorded(out.path()),
        ["nn.test_convolution", "nn.test_pooling"]
    );
}

#[test]
fn xtask_test_passes_every_demo_case_with_one_junit_testcase_each() {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.arg("test").env("TORCH_HARNESS_OUT", out.path());
    let output = cmd.output().unwrap();
    check(&output);
    let cases = demo_cases();
    let expected: Vec<String> = cases.iter().map(|c| common::case_folder(c)).collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(recorded(out.path()), expected_sorted);

    let junit = std::fs::read_to_string(common::ci_junit()).unwrap();
    for case in &cases {
        let element = format!("<testcase name=\"{case}\"");
        assert_eq!(junit.matches(&element).count(), 1, "{case} in {junit}");
    }
    assert_eq!(junit.matches("<testcase ").count(), cases.len());
    assert!(!junit.contains("<failure"), "{junit}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&common::ci_junit().display().to_string()),
        "{stderr}"
    );
}

#[test]
fn three_shards_run_every_demo_case_exactly_once() {
    let mut ran = Vec::new();
    for k in 1..=3 {
        let out = tempfile::tempdir().unwrap();
        let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
        cmd.args(["test", "--shard", &format!("{k}/3")])
            .env("TORCH_HARNESS_OUT", out.path());
        let output = cmd.output().unwrap();
        check(&output);
        ran.extend(recorded(out.path()));
    }
    ran.sort();
    let mut expected: Vec<String> = demo_cases()
        .iter()
        .map(|c| common::case_folder(c))
        .collect();
    expected.sort();
    assert_eq!(ran, expected);
}

#[test]
fn selection_flags_and_a_users_filterset_must_both_hold() {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(["test", "-i", "nn", "--", "-E", "test(/pool/)"])
        .env("TORCH_HARNESS_OUT", out.path());
    check(&cmd.output().unwrap());
    assert_eq!(recorded(out.path()), ["nn.test_pooling"]);
}

#[test]
fn an_empty_shard_passes_and_says_so() {
    // Wider than the demo: some shards get no case.
    let (_, shards, empty) = common::plan_with_an_empty_shard();
    let out = tempfile::tempdir().unwrap();
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(["test", "--shard", &format!("{empty}/{shards}")])
        .env("TORCH_HARNESS_OUT", out.path());
    let stdout = common::ok(cmd.output().unwrap());
    assert!(stdout.contains("has no cases"), "{stdout}");
    assert!(recorded(out.path()).is_empty());
}

/// The folder `cargo xtask test` said it wrote to.
fn run_folder(stderr: &str) -> PathBuf {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("logs and reports: "))
        .unwrap_or_else(|| panic!("no run folder in:\n{stderr}"));
    PathBuf::from(line.trim())
}

#[test]
fn the_report_adds_up_the_xml_and_agrees_with_nextest() {
    let mut test = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    let out = test
        .args(["test"])
        .env("DEMO_INJECT_FAILURE", "1")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the injected failure fails the run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A real failure reads once: no second try that only says it was refused.
    assert!(!stderr.contains("TRY 2"), "{stderr}");
    assert!(!stderr.contains("not run"), "{stderr}");
    assert!(
        stderr.contains("Error: test_dataloader exited with code 1"),
        "the failure says what failed:\n{stderr}"
    );
    let run = run_folder(&stderr);
    let json = tempfile::NamedTempFile::new().unwrap();
    let mut report = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    let printed = report
        .arg("report")
        .arg(&run)
        .arg("--json")
        .arg(json.path())
        .output()
        .unwrap();
    check(&printed);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(json.path()).unwrap()).unwrap();

    // The totals are the sum of every XML file the run's cases wrote (their first
    // attempts), counted here apart from the report's own reader.
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    let mut files = 0;
    for entry in walkdir::WalkDir::new(&run) {
        let entry = entry.unwrap();
        let path = entry.path();
        let first_attempt = path.components().any(|c| c.as_os_str() == "attempt-1");
        if !first_attempt || path.extension().is_none_or(|x| x != "xml") {
            continue;
        }
        files += 1;
        for case in common::count_testcases(&std::fs::read_to_string(path).unwrap()) {
            tests += 1;
            match case.outcome {
                "failure" => failures += 1,
                "error" => errors += 1,
                "skipped" => skipped += 1,
                _ => {}
            }
        }
    }
    assert!(files >= demo_cases().len() / 2, "{files} XML files");
    assert_eq!(report["totals"]["tests"], tests);
    assert_eq!(report["totals"]["failures"], failures);
    assert_eq!(report["totals"]["errors"], errors);
    assert_eq!(report["totals"]["skipped"], skipped);
    assert!(failures >= 1);
    assert_eq!(report["missing_records"], serde_json::json!([]));
    assert_eq!(report["junit_mismatches"], serde_json::json!([]));
    assert_eq!(
        report["flaky_tests"],
        serde_json::json!([[
            "test_dataloader",
            "TestDataLoader.test_worker_timeout_flaky"
        ]])
    );
    let failed: Vec<&str> = report["failed_cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["test_dataloader"]);

    // nextest's JUnit fails exactly that case, once.
    let junit = std::fs::read_to_string(common::ci_junit()).unwrap();
    let cases = common::count_testcases(&junit);
    let failing: Vec<&str> = cases
        .iter()
        .filter(|c| c.outcome == "failure")
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failing, ["test_dataloader"]);
    assert!(!junit.contains("<flakyFailure"), "{junit}");
    assert!(!junit.contains("<rerunFailure"), "{junit}");

    // A report that cannot be read is a lost result too: the report names it and fails.
    let autograd = torch_harness::report::record::Record::read(
        &run.join("test_autograd/attempt-1/record.json"),
    )
    .unwrap();
    let xml = autograd
        .reports
        .first()
        .expect("test_autograd wrote XML")
        .clone();
    let original = std::fs::read(&xml).unwrap();
    std::fs::write(
        &xml,
        "<testsuites><testsuite name=\"x\"><testcase name=\"a\"></testsuite>",
    )
    .unwrap();
    let mut cut = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    let cut = cut.arg("report").arg(&run).output().unwrap();
    let printed = String::from_utf8_lossy(&cut.stdout);
    assert!(!cut.status.success(), "{printed}");
    assert!(
        printed
            .lines()
            .any(|l| l.starts_with("UNREADABLE: ") && l.contains(&*xml.to_string_lossy())),
        "{printed}"
    );
    std::fs::write(&xml, &original).unwrap();

    // A case without a record is a lost result: the report says so and fails.
    std::fs::remove_dir_all(run.join("test_nn")).unwrap();
    let mut again = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    let lost = again.arg("report").arg(&run).output().unwrap();
    assert!(!lost.status.success());
    assert!(String::from_utf8_lossy(&lost.stdout).contains("NO RECORD: test_nn"));
}

#[test]
fn a_dynamo_run_updates_the_expected_failure_lists() {
    let copy = demo_copy();
    let lists = copy.path().join("test/dynamo_expected_failures");
    // Forget the real expected failure, and claim a passing test fails.
    std::fs::remove_file(lists.join("TestTensorOps.test_inplace_aliasing")).unwrap();
    std::fs::write(lists.join("TestTensorOps.test_identity"), "").unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let mut test = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    // As PyTorch advises for list updates: keep going, so every test runs.
    test.args([
        "test",
        "--dynamo",
        "--keep-going",
        "--",
        "-E",
        "test(=test_torch)",
    ])
    .env("PYTORCH_ROOT", copy.path())
    .env("PYTHON", common::demo_python())
    .env("TORCH_HARNESS_OUT", out_dir.path());
    assert!(
        !test.output().unwrap().status.success(),
        "both list errors fail the run"
    );

    let update = |write: bool| {
        let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
        cmd.args(["expected-failures", "update"])
            .arg(out_dir.path())
            .env("PYTORCH_ROOT", copy.path());
        if write {
            cmd.arg("--write");
        }
        let out = cmd.output().unwrap();
        check(&out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The run was dynamo's: it says nothing about the inductor lists.
    let mut wrong = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    let wrong = wrong
        .args(["expected-failures", "update", "--family", "inductor"])
        .arg(out_dir.path())
        .env("PYTORCH_ROOT", copy.path())
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert!(said.contains("is not a run in inductor mode"), "{said}");

    let proposal = update(false);
    assert!(
        proposal.contains("add    dynamo_expected_failures/TestTensorOps.test_inplace_aliasing"),
        "{proposal}"
    );
    assert!(
        proposal.contains("remove dynamo_expected_failures/TestTensorOps.test_identity"),
        "{proposal}"
    );
    assert!(
        lists.join("TestTensorOps.test_identity").exists(),
        "no --write, no change"
    );
    update(true);
    assert!(lists.join("TestTensorOps.test_inplace_aliasing").exists());
    assert!(!lists.join("TestTensorOps.test_identity").exists());
    let mut check_cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    check(
        &check_cmd
            .args(["expected-failures", "check"])
            .env("PYTORCH_ROOT", copy.path())
            .output()
            .unwrap(),
    );
}

/// A dynamo-mode failure of the demo (its expected-failure entry removed), and the
/// record of the failing case.
fn a_dynamo_failure(copy: &Path, out: &Path) -> torch_harness::report::record::Record {
    std::fs::remove_file(
        copy.join("test/dynamo_expected_failures/TestTensorOps.test_inplace_aliasing"),
    )
    .unwrap();
    let mut test = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    test.args(["test", "--dynamo", "--", "-E", "test(=test_torch)"])
        .env("PYTORCH_ROOT", copy)
        .env("PYTHON", common::demo_python())
        .env("TORCH_HARNESS_OUT", out);
    let run = test.output().unwrap();
    assert!(
        !run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    torch_harness::report::record::Record::read(&out.join("test_torch/attempt-1/record.json"))
        .unwrap()
}

#[test]
fn a_records_command_and_repro_reproduce_the_case() {
    let copy = demo_copy();
    let out = tempfile::tempdir().unwrap();
    let record = a_dynamo_failure(copy.path(), out.path());
    assert!(!record.verdict.is_pass());
    assert_eq!(
        record
            .env
            .get("PYTORCH_TEST_WITH_DYNAMO")
            .map(String::as_str),
        Some("1")
    );

    // The command, from a shell with nothing of this run's environment: the same
    // failure, not a missing module.
    let direct = Command::new("sh")
        .args(["-c", &record.command])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&direct.stdout),
        String::from_utf8_lossy(&direct.stderr)
    );
    assert!(!direct.status.success(), "{}\n{said}", record.command);
    assert!(
        !said.contains("No module named"),
        "{}\n{said}",
        record.command
    );
    assert!(
        said.contains("test_inplace_aliasing"),
        "{}\n{said}",
        record.command
    );

    // The repro, from a shell without the run's variables: nextest runs the case again
    // and it fails the same way.
    let again = clean(Command::new("sh"))
        .args(["-c", &record.repro])
        .current_dir("/")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success(), "{}\n{said}", record.repro);
    assert!(
        said.contains("Error: test_torch exited with code 1: TestTensorOps.test_inplace_aliasing"),
        "{}\n{said}",
        record.repro
    );
}

#[test]
fn a_plain_run_cannot_update_the_expected_failure_lists() {
    let copy = demo_copy();
    let out = tempfile::tempdir().unwrap();
    let mut test = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    // A plain run with a real failure in it.
    test.args(["test", "--", "-E", "test(=test_dataloader)"])
        .env("DEMO_INJECT_FAILURE", "1")
        .env("PYTORCH_ROOT", copy.path())
        .env("PYTHON", common::demo_python())
        .env("TORCH_HARNESS_OUT", out.path());
    assert!(!test.output().unwrap().status.success());
    let lists = copy.path().join("test/dynamo_expected_failures");
    let before = std::fs::read_dir(&lists).unwrap().count();
    let mut update = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    let update = update
        .args(["expected-failures", "update", "--write"])
        .arg(out.path())
        .env("PYTORCH_ROOT", copy.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&update.stderr);
    assert!(
        !update.status.success(),
        "{}",
        String::from_utf8_lossy(&update.stdout)
    );
    assert!(said.contains("is not a run in dynamo mode"), "{said}");
    assert!(
        said.contains("cargo xtask test --dynamo --keep-going"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_dir(&lists).unwrap().count(),
        before,
        "nothing written"
    );
}
