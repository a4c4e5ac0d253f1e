//! Distributed cases: one per file, backend and init method, each with its own
//! TEMP_DIR and port, every configuration reported, none retried.

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::Output;

/// Records what the case saw, and fails when its configuration is FAIL_CONFIG.
const DUMP: &str = r#"import json, os, sys
keys = ["BACKEND", "WORLD_SIZE", "INIT_METHOD", "MASTER_ADDR", "MASTER_PORT", "TEMP_DIR", "TEST_REPORT_SOURCE_OVERRIDE"]
info = {k: os.environ.get(k) for k in keys}
info["argv"] = sys.argv[1:]
info["dirs"] = sorted(os.listdir(os.environ["TEMP_DIR"]))
name = info["BACKEND"] + "-" + info["INIT_METHOD"].split(":")[0]
with open(os.path.join(os.environ["DUMP_DIR"], name + ".json"), "w") as f:
    json.dump(info, f)
sys.exit(1 if os.environ.get("FAIL_CONFIG") == name else 0)
"#;

fn checkout() -> common::Checkout {
    common::Checkout::new(&[
        ("test/distributed/test_distributed_spawn.py", DUMP),
        (
            "torch-harness.toml",
            "[distributed]\navailable_backends = [\"test\", \"gloo\"]\n",
        ),
    ])
}

fn harness(root: &Path, dump: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    common::harness_command()
        .arg("distributed")
        .args(args)
        .env("PYTORCH_ROOT", root)
        .env("TORCH_HARNESS_OUT", root.join("out"))
        .env("TORCH_HARNESS_MANIFESTS", common::manifests())
        .env("TORCH_HARNESS_PYTEST", "0")
        .env("TORCH_HARNESS_DEVICES", "none")
        .env("PYTHON", "python3")
        .env("NEXTEST", "1")
        .env("DUMP_DIR", dump)
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

const CASES: [&str; 4] = [
    "distributed::test_distributed_spawn::gloo::init_env",
    "distributed::test_distributed_spawn::gloo::init_file",
    "distributed::test_distributed_spawn::test::init_env",
    "distributed::test_distributed_spawn::test::init_file",
];

#[test]
fn every_backend_and_init_method_is_a_case_and_unavailable_ones_say_why() {
    let c = checkout();
    let list = harness(c.root(), c.root(), &["--list", "--format", "terse"], &[]);
    assert!(list.status.success(), "{}", common::stderr(&list));
    let names: Vec<String> = common::stdout(&list)
        .lines()
        .map(|l| l.trim_end_matches(": test").to_string())
        .collect();
    for case in CASES {
        assert!(names.contains(&case.to_string()), "{names:?}");
    }
    let ignored = harness(
        c.root(),
        c.root(),
        &["--list", "--format", "terse", "--ignored"],
        &[],
    );
    assert_eq!(
        common::stdout(&ignored).lines().collect::<Vec<_>>(),
        [
            "distributed::test_distributed_spawn::mpi::init_env: test",
            "distributed::test_distributed_spawn::mpi::init_file: test",
            "distributed::test_distributed_spawn::nccl::init_env: test",
            "distributed::test_distributed_spawn::nccl::init_file: test",
        ]
    );
    let nccl = harness(
        c.root(),
        c.root(),
        &[
            "distributed::test_distributed_spawn::nccl::init_env",
            "--exact",
            "--ignored",
        ],
        &[],
    );
    assert!(!nccl.status.success());
    assert!(
        common::stderr(&nccl).contains("needs GPUs"),
        "{}",
        common::stderr(&nccl)
    );
}

#[test]
fn each_case_gets_its_configuration_its_own_temp_dir_and_port() {
    let c = checkout();
    let dump = tempfile::tempdir().unwrap();
    std::thread::scope(|s| {
        for case in CASES {
            let (root, dump) = (c.root(), dump.path());
            s.spawn(move || {
                let run = harness(root, dump, &[case, "--exact"], &[]);
                assert!(run.status.success(), "{case}: {}", common::stderr(&run));
            });
        }
    });
    let mut ports = Vec::new();
    for (config, backend, world, init) in [
        ("gloo-env", "gloo", "3", "env"),
        ("gloo-file", "gloo", "3", "file"),
        ("test-env", "test", "1", "env"),
        ("test-file", "test", "1", "file"),
    ] {
        let seen: Value = serde_json::from_slice(
            &std::fs::read(dump.path().join(format!("{config}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(seen["BACKEND"], backend);
        assert_eq!(seen["WORLD_SIZE"], world);
        assert_eq!(
            seen["TEST_REPORT_SOURCE_OVERRIDE"],
            format!("dist-{backend}-init-{init}")
        );
        assert_eq!(seen["MASTER_ADDR"], "127.0.0.1");
        let method = seen["INIT_METHOD"].as_str().unwrap();
        let temp = seen["TEMP_DIR"].as_str().unwrap();
        match init {
            "env" => assert_eq!(method, "env://"),
            _ => assert_eq!(method, format!("file://{temp}/shared_init_file")),
        }
        assert_eq!(seen["dirs"], serde_json::json!(["barrier", "test_dir"]));
        assert!(!Path::new(temp).exists(), "{temp} was left behind");
        assert!(
            seen["argv"]
                .as_array()
                .unwrap()
                .contains(&Value::from("--subprocess"))
        );
        ports.push(seen["MASTER_PORT"].as_str().unwrap().to_string());
    }
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 4, "parallel cases shared a port: {ports:?}");
}

#[test]
fn a_failing_configuration_hides_none_of_the_others() {
    let c = checkout();
    let dump = tempfile::tempdir().unwrap();
    let fail = [("FAIL_CONFIG", "gloo-env")];
    let verdicts: Vec<bool> = CASES
        .iter()
        .map(|case| {
            harness(c.root(), dump.path(), &[case, "--exact"], &fail)
                .status
                .success()
        })
        .collect();
    assert_eq!(verdicts, [false, true, true, true]);
    assert_eq!(
        std::fs::read_dir(dump.path()).unwrap().count(),
        4,
        "every configuration ran"
    );
}

#[test]
fn a_retry_never_turns_a_distributed_failure_green() {
    let c = checkout();
    let dump = tempfile::tempdir().unwrap();
    let retry = harness(
        c.root(),
        dump.path(),
        &[CASES[0], "--exact"],
        &[("NEXTEST_ATTEMPT", "2")],
    );
    assert!(!retry.status.success());
    let err = common::stderr(&retry);
    assert!(err.contains("never retried"), "{err}");
    assert_eq!(
        std::fs::read_dir(dump.path()).unwrap().count(),
        0,
        "the retry ran nothing"
    );
}

#[test]
fn a_class_run_target_determination_scores_runs_per_backend_with_its_classes() {
    // run_test.py hands each TestRun of a per-backend file to its distributed handler,
    // which runs it for every backend with the run's class filter.
    let td = r#"{"_test_scores": [[{"test_file": "distributed/algorithms/quantization/test_quantization",
        "included": ["DistQuantizationTests"]}, 1.0]],
        "_original_tests": ["distributed/algorithms/quantization/test_quantization"]}"#;
    let c = common::Checkout::new(&[
        (
            "test/distributed/algorithms/quantization/test_quantization.py",
            DUMP,
        ),
        (".additional_ci_files/td_results.json", td),
        (
            "torch-harness.toml",
            "[distributed]\navailable_backends = [\"test\", \"gloo\"]\n",
        ),
    ]);
    let list = harness(c.root(), c.root(), &["--list", "--format", "terse"], &[]);
    assert!(list.status.success(), "{}", common::stderr(&list));
    let file = "distributed::algorithms::quantization::test_quantization";
    let mut expected = Vec::new();
    for run in ["except=DistQuantizationTests", "only=DistQuantizationTests"] {
        // Backends this machine lacks (mpi, nccl) are listed too, as ignored.
        for backend in ["gloo", "mpi", "nccl", "test"] {
            for init in ["env", "file"] {
                expected.push(format!("{file}::{run}::{backend}::init_{init}: test"));
            }
        }
    }
    assert_eq!(common::stdout(&list).lines().collect::<Vec<_>>(), expected);
    // The class run passes its class on (unittest mode: as an argument).
    let case = format!("{file}::only=DistQuantizationTests::gloo::init_env");
    let run = harness(c.root(), c.root(), &[&case, "--exact"], &[]);
    assert!(run.status.success(), "{}", common::stderr(&run));
    let info: Value =
        serde_json::from_slice(&std::fs::read(c.root().join("gloo-env.json")).unwrap()).unwrap();
    let argv: Vec<&str> = info["argv"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(argv.contains(&"DistQuantizationTests"), "{argv:?}");
}
