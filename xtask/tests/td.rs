//! Target determination and failed-first: run_test.py's td_results.json on a synthetic
//! checkout (order, `--enable-td`'s cut, the exclusions file, class-level runs), and
//! on a copy of the demo run for real.

mod common;

use common::{check, clean, demo_python, ok, workspace};
use std::path::Path;
use std::process::Command;

/// Twenty test files, as run_test.py would name them.
const FILES: [&str; 20] = [
    "nn/test_pooling",
    "test_autograd",
    "test_binary_ufuncs",
    "test_cuda",
    "test_dataloader",
    "test_fx",
    "test_jit",
    "test_linalg",
    "test_meta",
    "test_modules",
    "test_nn",
    "test_ops",
    "test_optim",
    "test_quantization",
    "test_reductions",
    "test_serialization",
    "test_sparse",
    "test_tensor_creation_ops",
    "test_torch",
    "test_transformers",
];

/// Scores for some of them: a class of test_ops, every class of test_torch but one,
/// a tie (test_nn, test_linalg), a negative score, and a file the checkout lacks.
const TD_RESULTS: &str = r#"{
  "_test_scores": [
    [{"test_file": "test_ops", "included": ["TestCommon"]}, 0.9],
    [{"test_file": "test_nn"}, 0.8],
    [{"test_file": "test_linalg"}, 0.8],
    [{"test_file": "test_torch", "excluded": ["TestTorchDeviceType"]}, 0.5],
    [{"test_file": "nn/test_pooling"}, 0.3],
    [{"test_file": "test_gone"}, 5.0],
    [{"test_file": "test_fx"}, -0.5]
  ],
  "_original_tests": ["nn/test_pooling", "test_autograd", "test_binary_ufuncs", "test_cuda",
    "test_dataloader", "test_fx", "test_gone", "test_jit", "test_linalg", "test_meta",
    "test_modules", "test_nn", "test_ops", "test_optim", "test_quantization", "test_reductions",
    "test_serialization", "test_sparse", "test_tensor_creation_ops", "test_torch",
    "test_transformers"]
}"#;

/// run_test.py's order for TD_RESULTS over FILES, worked out by hand: score
/// descending, then `str(TestRun)` ascending.
const EXPECTED_ORDER: [&str; 22] = [
    "test_ops, TestCommon (0.9)",
    "test_linalg (0.8)",
    "test_nn (0.8)",
    "test_torch, not (TestTorchDeviceType) (0.5)",
    "nn/test_pooling (0.3)",
    "test_autograd (0.0)",
    "test_binary_ufuncs (0.0)",
    "test_cuda (0.0)",
    "test_dataloader (0.0)",
    "test_jit (0.0)",
    "test_meta (0.0)",
    "test_modules (0.0)",
    "test_ops, not (TestCommon) (0.0)",
    "test_optim (0.0)",
    "test_quantization (0.0)",
    "test_reductions (0.0)",
    "test_serialization (0.0)",
    "test_sparse (0.0)",
    "test_tensor_creation_ops (0.0)",
    "test_torch, TestTorchDeviceType (0.0)",
    "test_transformers (0.0)",
    "test_fx (-0.5)",
];

fn synthetic_checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in FILES {
        let path = dir.path().join("test").join(format!("{file}.py"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "").unwrap();
    }
    let td = dir.path().join(".additional_ci_files/td_results.json");
    std::fs::create_dir_all(td.parent().unwrap()).unwrap();
    std::fs::write(td, TD_RESULTS).unwrap();
    dir
}

fn xtask(checkout: &Path) -> Command {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.env("PYTORCH_ROOT", checkout);
    cmd
}

/// The lines of a dry run that start with `prefix`, without it.
fn lines_after(out: &str, prefix: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|l| l.trim_start().to_string())
        .collect()
}

fn ranked(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("td "))
        .filter_map(|l| l.trim_start().split_once(". ").map(|(_, r)| r.to_string()))
        .collect()
}

/// Each case's priority in the tool config a dry run's nextest command names.
fn tool_config_priorities(out: &str) -> std::collections::BTreeMap<String, i64> {
    let line = out.lines().find(|l| l.starts_with("would run:")).unwrap();
    let path = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("xtask:"))
        .unwrap();
    let config: toml::Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut priorities = std::collections::BTreeMap::new();
    for o in config["profile"]["default"]["overrides"]
        .as_array()
        .unwrap()
    {
        let Some(p) = o.get("priority").and_then(|p| p.as_integer()) else {
            continue;
        };
        for case in o["filter"].as_str().unwrap().split(" | ") {
            let name = case.trim_start_matches("test(=").trim_end_matches(')');
            priorities.insert(name.to_string(), p);
        }
    }
    priorities
}

#[test]
fn the_td_order_is_run_test_pys_and_enable_td_keeps_the_top_quarter() {
    let checkout = synthetic_checkout();
    let out = ok(xtask(checkout.path())
        .args(["test", "--dry-run", "--no-failed-first"])
        .output()
        .unwrap());
    assert_eq!(ranked(&out), EXPECTED_ORDER);
    // Without --enable-td every case runs. What runs alone starts first (so that no
    // slot waits behind it), then the rest; within each, the scored ones first, in
    // score order, and a negative score last.
    let cases = lines_after(&out, "    ");
    assert_eq!(cases.len(), 22, "{out}");
    assert_eq!(
        cases[..3],
        [
            "test_nn",
            "test_torch::except=TestTorchDeviceType",
            "nn::test_pooling"
        ]
    );
    // test_fx is on CI_SERIAL_LIST: it ends the run-alone cases; then the others.
    assert_eq!(
        cases[6..9],
        ["test_fx", "test_ops::only=TestCommon", "test_linalg"],
        "{out}"
    );
    assert!(lines_after(&out, "td excluded:").is_empty());
    // nextest gets the order as priorities in the tool config xtask wrote.
    let priorities = tool_config_priorities(&out);
    let p = |case: &str| priorities[case];
    assert!(p("test_nn") > p("test_torch::except=TestTorchDeviceType"));
    assert!(p("test_torch::except=TestTorchDeviceType") > p("nn::test_pooling"));
    assert!(p("nn::test_pooling") > p("test_reductions"));
    assert!(p("test_reductions") > p("test_fx"));
    assert!(p("test_fx") > p("test_ops::only=TestCommon"));
    assert!(p("test_ops::only=TestCommon") > p("test_linalg"));
    assert!(p("test_linalg") > p("test_autograd"));

    let out = ok(xtask(checkout.path())
        .args(["test", "--dry-run", "--enable-td", "--no-failed-first"])
        .output()
        .unwrap());
    // 25 * 22 / 100 + 1 = 6: runs 1-6 run; runs 7-22 are listed as excluded, as
    // run_test.py's get_top_per_tests cuts (`tests[:6], tests[6:]`).
    // They start run-alone ones first, each group in score order.
    let cases = lines_after(&out, "    ");
    assert_eq!(
        cases,
        [
            "test_nn",
            "test_torch::except=TestTorchDeviceType",
            "nn::test_pooling",
            "test_ops::only=TestCommon",
            "test_linalg",
            "test_autograd",
        ]
    );
    let excluded = lines_after(&out, "td excluded:");
    let expected: Vec<String> = EXPECTED_ORDER[6..]
        .iter()
        .map(|r| r.rsplit_once(" (").unwrap().0.to_string())
        .collect();
    assert_eq!(excluded, expected);
    // The filterset nextest gets names exactly the kept cases.
    let filterset = lines_after(&out, "filterset:").join("");
    for case in &cases {
        assert!(filterset.contains(&format!("test(={case})")), "{filterset}");
    }
    assert!(!filterset.contains("test_binary_ufuncs"), "{filterset}");
}

#[test]
fn in_ci_the_exclusions_file_lists_both_sides() {
    let checkout = synthetic_checkout();
    let out = ok(xtask(checkout.path())
        .args(["test", "--dry-run", "--enable-td", "--no-failed-first"])
        .env("CI", "true")
        .output()
        .unwrap());
    let reports = checkout.path().join("test/test-reports");
    let files: Vec<_> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("td_exclusions-") && name.len() == 14 + 20 + 5,
        "{name}"
    );
    assert!(out.contains(&name), "{out}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let included = json["included"].as_array().unwrap();
    let excluded = json["excluded"].as_array().unwrap();
    assert_eq!((included.len(), excluded.len()), (6, 16));
    assert_eq!(
        included[0],
        serde_json::json!({"test_file": "test_ops", "included": ["TestCommon"]})
    );
    assert_eq!(
        included[3],
        serde_json::json!({"test_file": "test_torch", "excluded": ["TestTorchDeviceType"]})
    );
    assert_eq!(
        excluded[0],
        serde_json::json!({"test_file": "test_binary_ufuncs"})
    );
}

#[test]
fn a_pull_request_job_in_ci_gets_td_without_the_flag_as_run_test_py_does() {
    let checkout = synthetic_checkout();
    let pull = |cmd: &mut Command| {
        cmd.args(["test", "--dry-run", "--no-failed-first"])
            .env("CI", "true")
            .env("PR_NUMBER", "170001")
            .env("GITHUB_WORKFLOW", "pull");
    };
    let mut cmd = xtask(checkout.path());
    pull(&mut cmd);
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let out = ok(output);
    assert!(
        stderr
            .contains("--enable-td is on by default here (CI, pull request 170001, workflow pull)"),
        "{stderr}"
    );
    // The same top quarter as with --enable-td: 6 of the 22 runs.
    assert_eq!(lines_after(&out, "    ").len(), 6, "{out}");
    assert_eq!(lines_after(&out, "td excluded:").len(), 16, "{out}");
    // NO_TD=1 turns the default off; every case runs.
    let mut cmd = xtask(checkout.path());
    pull(&mut cmd);
    let out = ok(cmd.env("NO_TD", "1").output().unwrap());
    assert_eq!(lines_after(&out, "    ").len(), 22, "{out}");
    assert!(lines_after(&out, "td excluded:").is_empty(), "{out}");
}

#[test]
fn a_plan_made_with_td_holds_the_cut_and_its_shards_run_only_that() {
    let checkout = synthetic_checkout();
    let plan_file = checkout.path().join("plan.json");
    let json = ok(xtask(checkout.path())
        .args(["plan", "--shards", "2", "--json", "--enable-td"])
        .output()
        .unwrap());
    std::fs::write(&plan_file, &json).unwrap();
    let document: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut planned: Vec<String> = document["shards"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap().clone())
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    planned.sort();
    // The same top quarter `test --enable-td` runs.
    let mut kept = vec![
        "test_ops::only=TestCommon",
        "test_linalg",
        "test_nn",
        "test_torch::except=TestTorchDeviceType",
        "nn::test_pooling",
        "test_autograd",
    ];
    kept.sort();
    assert_eq!(planned, kept);
    // A shard of that plan runs its share of the cut and cuts nothing again.
    let mut ran = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = ok(xtask(checkout.path())
            .args([
                "test",
                "--dry-run",
                "--no-failed-first",
                "--shard",
                shard,
                "--plan",
            ])
            .arg(&plan_file)
            .output()
            .unwrap());
        assert!(lines_after(&out, "td excluded:").is_empty(), "{out}");
        ran.extend(lines_after(&out, "    "));
    }
    ran.sort();
    assert_eq!(ran, kept);
    // Beside a plan, --enable-td is refused: the plan already says what runs.
    let refused = xtask(checkout.path())
        .args(["test", "--enable-td", "--shard", "1/2", "--plan"])
        .arg(&plan_file)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--enable-td"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[test]
fn nextest_lists_the_class_runs_of_a_split_file() {
    let checkout = synthetic_checkout();
    let mut list = clean(Command::new(env!("CARGO")));
    list.args([
        "nextest",
        "list",
        "--package",
        "torch-suite",
        "--test",
        "python",
    ])
    .env("PYTORCH_ROOT", checkout.path());
    let out = ok(list.output().unwrap());
    let cases: Vec<&str> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("torch-suite::python "))
        .collect();
    for case in [
        "test_ops::only=TestCommon",
        "test_ops::except=TestCommon",
        "test_torch::only=TestTorchDeviceType",
        "test_torch::except=TestTorchDeviceType",
        "test_nn",
    ] {
        assert!(cases.contains(&case), "{case} not in {cases:?}");
    }
    assert!(!cases.contains(&"test_ops"), "{cases:?}");
    assert_eq!(cases.len(), 22, "{cases:?}");
}

#[test]
fn a_broken_td_results_file_is_an_error_naming_it() {
    let checkout = synthetic_checkout();
    let td = checkout.path().join(".additional_ci_files/td_results.json");
    std::fs::write(&td, r#"{"_test_scores": 3}"#).unwrap();
    let out = xtask(checkout.path())
        .args(["test", "--dry-run"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("td_results.json") && stderr.contains("TestPrioritizations"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A copy of the demo (its Python side) with `extra` files written into it.
fn demo_copy(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let copy = common::demo_copy();
    for (path, text) in extra {
        let to = copy.path().join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, text).unwrap();
    }
    copy
}

/// The cases in the order nextest first reported them done (passed, failed, or a
/// failed try before a retry).
fn finished(stderr: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for line in stderr.lines().map(str::trim_start) {
        let status = ["PASS [", "FAIL [", "TRY "]
            .iter()
            .any(|s| line.starts_with(s));
        let Some((_, rest)) = line.split_once(" torch-suite::") else {
            continue;
        };
        let Some((_, case)) = rest.split_once(' ') else {
            continue;
        };
        if status && !seen.iter().any(|c| c == case) {
            seen.push(case.to_string());
        }
    }
    seen
}

#[test]
fn the_demo_runs_its_td_selection_class_runs_included_in_score_order() {
    // test_nn's TestLinear scores highest, then test_torch, then test_ops; the rest
    // of the demo's files score nothing.
    let td = r#"{"_test_scores": [
        [{"test_file": "test_nn", "included": ["TestLinear"]}, 3],
        [{"test_file": "test_torch"}, 2],
        [{"test_file": "test_ops"}, 1]],
      "_original_tests": ["test_nn", "test_torch", "test_ops"]}"#;
    // test_nn gets a second class, which TestLinear's class run must leave out.
    let test_nn = std::fs::read_to_string(workspace().join("demo/test/test_nn.py"))
        .unwrap()
        .replace(
            "class TestLinear(TestCase):",
            "class TestOther(TestCase):\n    def test_left_out(self):\n        pass\n\n\nclass TestLinear(TestCase):",
        );
    let copy = demo_copy(&[
        (".additional_ci_files/td_results.json", td),
        ("test/test_nn.py", &test_nn),
    ]);
    let out_dir = tempfile::tempdir().unwrap();
    let out = xtask(copy.path())
        .args([
            "test",
            "--enable-td",
            "--no-failed-first",
            "--",
            "--test-threads=1",
        ])
        .env("PYTHON", demo_python())
        .env("TORCH_HARNESS_OUT", out_dir.path())
        .output()
        .unwrap();
    check(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ran = finished(&stderr);
    // The demo's Python files and distributed configurations, ranked: the three
    // scored runs lead, then the zero-score ones by name; the top quarter runs.
    // The run-alone ones (distributed files too) start before the others.
    let not_distributed: Vec<&String> = ran
        .iter()
        .filter(|c| !c.starts_with("distributed::"))
        .collect();
    assert_eq!(
        not_distributed[..3],
        ["test_nn::only=TestLinear", "test_torch", "test_ops"],
        "{stderr}"
    );
    assert_eq!(ran.last().map(String::as_str), Some("test_ops"), "{stderr}");
    assert!(
        !ran.iter().any(|c| c == "test_nn::except=TestLinear"),
        "{ran:?}"
    );
    // TestLinear's tests ran, as its class run's log says.
    let record = out_dir
        .path()
        .join("test_nn.only=TestLinear/attempt-1/record.json");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    let log = std::fs::read_to_string(record["log"].as_str().unwrap()).unwrap();
    let command = record["command"].as_str().unwrap();
    assert!(command.contains("-k TestLinear"), "{command}");
    assert!(log.contains("TestLinear::test_forward"), "{log}");
    // The class the run leaves out was collected (the shard lists every item) but not run.
    assert!(log.contains("1 deselected"), "{log}");
    assert!(!log.contains("TestOther::test_left_out PASSED"), "{log}");
}

#[test]
fn cases_that_failed_in_the_previous_run_start_first() {
    let failing = "from demo_testing import TestCase, run_tests\n\n\
                   class TestBroken(TestCase):\n    def test_fails(self):\n        self.assertEqual(1, 2)\n\n\
                   if __name__ == \"__main__\":\n    run_tests()\n";
    let copy = demo_copy(&[("test/test_zz_broken.py", failing)]);
    let out_dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        xtask(copy.path())
            .arg("test")
            .args(args)
            .env("PYTHON", demo_python())
            .env("TORCH_HARNESS_OUT", out_dir.path())
            .output()
            .unwrap()
    };
    let first = run(&[
        "-i",
        "test_nn",
        "test_autograd",
        "test_zz_broken",
        "--keep-going",
        "--",
        "--test-threads=1",
    ]);
    assert!(!first.status.success(), "test_zz_broken fails");
    // Alphabetical and by time, it would run last; now it starts first of the cases
    // that share the machine, right after test_nn, which runs alone: what runs alone
    // starts first, so that no slot waits behind it.
    let dry = ok(run(&[
        "-i",
        "test_nn",
        "test_autograd",
        "test_zz_broken",
        "--dry-run",
    ]));
    assert!(
        dry.contains("first (failed in the previous run): test_zz_broken"),
        "{dry}"
    );
    assert_eq!(
        lines_after(&dry, "    "),
        ["test_nn", "test_zz_broken", "test_autograd"],
        "{dry}"
    );
    let second = run(&[
        "-i",
        "test_nn",
        "test_autograd",
        "test_zz_broken",
        "--keep-going",
        "--",
        "--test-threads=1",
    ]);
    let ran = finished(&String::from_utf8_lossy(&second.stderr));
    assert_eq!(
        ran,
        ["test_nn", "test_zz_broken", "test_autograd"],
        "{ran:?}"
    );
    let off = ok(run(&[
        "-i",
        "test_nn",
        "test_autograd",
        "test_zz_broken",
        "--dry-run",
        "--no-failed-first",
    ]));
    assert!(!off.contains("first (failed"), "{off}");
}

#[test]
fn class_runs_follow_their_file_into_filtersets_and_shard_plans() {
    let checkout = synthetic_checkout();
    let out = ok(xtask(checkout.path())
        .args(["test", "--dry-run", "--no-failed-first", "-i", "test_ops"])
        .output()
        .unwrap());
    let filterset = lines_after(&out, "filterset:").join("");
    let mut list = clean(Command::new(env!("CARGO")));
    list.args([
        "nextest",
        "list",
        "--package",
        "torch-suite",
        "-E",
        &filterset,
    ])
    .env("PYTORCH_ROOT", checkout.path());
    let listed = ok(list.output().unwrap());
    let mut cases: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.trim().strip_prefix("torch-suite::python "))
        .collect();
    cases.sort();
    assert_eq!(
        cases,
        ["test_ops::except=TestCommon", "test_ops::only=TestCommon"],
        "{filterset}"
    );

    // Two shards hold every case once, class runs included.
    let mut planned = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = ok(xtask(checkout.path())
            .args(["test", "--dry-run", "--no-failed-first", "--shard", shard])
            .output()
            .unwrap());
        planned.extend(lines_after(&out, "    "));
    }
    planned.sort();
    let mut expected: Vec<String> = FILES
        .iter()
        .filter(|f| !["test_ops", "test_torch"].contains(f))
        .map(|f| f.replace('/', "::"))
        .collect();
    expected.extend(
        [
            "test_ops::only=TestCommon",
            "test_ops::except=TestCommon",
            "test_torch::only=TestTorchDeviceType",
            "test_torch::except=TestTorchDeviceType",
        ]
        .map(String::from),
    );
    expected.sort();
    assert_eq!(planned, expected);
}

#[test]
fn enable_td_keeps_a_distributed_class_run_on_every_backend_and_not_the_rest_of_its_file() {
    // run_test.py cuts the TestRuns (the class run, the rest of the file, each plain
    // file) and its distributed handler runs each kept run on every backend.
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in [
        (
            "test/distributed/algorithms/quantization/test_quantization.py",
            "",
        ),
        ("test/test_a.py", ""),
        ("test/test_b.py", ""),
        ("test/test_c.py", ""),
        (
            "torch-harness.toml",
            "[distributed]\navailable_backends = [\"test\", \"gloo\"]\n",
        ),
        (
            ".additional_ci_files/td_results.json",
            r#"{"_test_scores": [
                [{"test_file": "distributed/algorithms/quantization/test_quantization",
                  "included": ["DistQuantizationTests"]}, 1.0],
                [{"test_file": "test_b"}, 0.5]],
              "_original_tests": ["distributed/algorithms/quantization/test_quantization",
                "test_a", "test_b", "test_c"]}"#,
        ),
    ] {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let out = ok(xtask(dir.path())
        .args(["test", "--dry-run", "--enable-td", "--no-failed-first"])
        .output()
        .unwrap());
    // Five runs: 25 * 5 / 100 + 1 = 2 kept, the class run and test_b.
    let file = "distributed::algorithms::quantization::test_quantization";
    let mut cases = lines_after(&out, "    ");
    cases.sort();
    assert_eq!(
        cases,
        [
            format!("{file}::only=DistQuantizationTests::gloo::init_env"),
            format!("{file}::only=DistQuantizationTests::gloo::init_file"),
            format!("{file}::only=DistQuantizationTests::test::init_env"),
            format!("{file}::only=DistQuantizationTests::test::init_file"),
            "test_b".to_string(),
        ],
        "{out}"
    );
    let excluded = lines_after(&out, "td excluded:");
    assert_eq!(
        excluded,
        [
            "distributed/algorithms/quantization/test_quantization, not (DistQuantizationTests)",
            "test_a",
            "test_c",
        ],
        "{out}"
    );
}
