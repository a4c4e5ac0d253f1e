//! The xtask front door: selection flags as filtersets, and plans on PyTorch's times.

mod common;

use common::{clean, kept, listed, nextest_list, ok, workspace};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// (filterset, cases) from `cargo xtask test --dry-run <flags>`.
fn dry_run(flags: &[&str]) -> (Option<String>, BTreeSet<String>) {
    dry_run_in(None, flags)
}

/// The same, on the checkout at `root` (default: the demo).
fn dry_run_in(root: Option<&Path>, flags: &[&str]) -> (Option<String>, BTreeSet<String>) {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(["test", "--dry-run"]).args(flags);
    if let Some(root) = root {
        // As the plan below: CI's default config (no distributed or JIT-executor files).
        cmd.env("PYTORCH_ROOT", root).env("TEST_CONFIG", "default");
    }
    let out = ok(cmd.output().unwrap());
    let filterset = out
        .lines()
        .find_map(|l| l.strip_prefix("filterset: "))
        .filter(|f| !f.starts_with("all"))
        .map(String::from);
    let cases = out
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .map(String::from)
        .collect();
    (filterset, cases)
}

/// What nextest lists for `filterset`.
fn nextest_lists(filterset: &str) -> BTreeSet<String> {
    kept(&nextest_list(&["-E", filterset]))
        .into_iter()
        .map(|(_, case)| case)
        .collect()
}

#[test]
fn selection_flags_and_their_filterset_pick_the_same_cases() {
    for flags in [
        &["-x", "distributed", "test_nn"][..],
        &["--core"],
        &["--distributed-tests"],
        &["-i", "nn", "test_ops.py"],
        &["--exclude-distributed-tests", "--exclude-inductor-tests"],
    ] {
        let (filterset, cases) = dry_run(flags);
        let filterset = filterset.unwrap_or_else(|| panic!("{flags:?} narrows the run"));
        assert!(!cases.is_empty(), "{flags:?}");
        assert_eq!(nextest_lists(&filterset), cases, "{flags:?}: {filterset}");
    }
    // run_test.py's prefix rule: -x test_nn does not keep test_nn's neighbours by accident,
    // and --core keeps only CORE_TEST_LIST.
    let (_, core) = dry_run(&["--core"]);
    assert_eq!(
        core,
        ["test_autograd", "test_nn", "test_ops", "test_torch"]
            .map(String::from)
            .into()
    );
    let (_, dist) = dry_run(&["--distributed-tests"]);
    assert!(
        dist.iter().all(|c| c.starts_with("distributed::")),
        "{dist:?}"
    );
}

#[test]
fn an_unknown_include_is_a_clear_error() {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    let output = cmd
        .args(["test", "--dry-run", "-i", "test_nope"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--include test_nope"), "{err}");
}

#[test]
fn plans_on_pytorchs_times_are_within_five_percent_of_the_lower_bound() {
    // PyTorch's CI times for one build environment (harness/tests/fixtures/README.md).
    let data = workspace().join("harness/tests/fixtures/pytorch-test-times.json");
    let json: BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>> =
        serde_json::from_slice(&std::fs::read(&data).unwrap()).unwrap();
    let env = "linux-jammy-cuda13.0-py3.10-gcc11";
    let files = &json[env]["default"];
    // Counted from the file with python, independently of the planner.
    assert_eq!(files.len(), 799);
    let total: f64 = files.values().sum();
    assert!((total - 70_668.82).abs() < 0.01, "{total}");
    let checkout = tempfile::tempdir().unwrap();
    for name in files.keys() {
        let path = checkout.path().join("test").join(format!("{name}.py"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
    }
    let modules: BTreeSet<String> = files.keys().map(|f| f.replace('/', "::")).collect();
    // What discovery keeps of them under TEST_CONFIG=default.
    let (_, selected) = dry_run_in(Some(checkout.path()), &[]);
    let unknown: Vec<_> = selected.difference(&modules).collect();
    assert!(unknown.is_empty(), "{unknown:?}");
    // 656 of the 799 are outside distributed/ (python); a few more are blocklisted.
    assert!((640..=656).contains(&selected.len()), "{}", selected.len());
    assert!(selected.iter().all(|c| !c.starts_with("distributed::")));
    let threads = 3.0;
    for shards in [5, 10, 20] {
        let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
        cmd.args(["plan", "--shards", &shards.to_string(), "--threads", "3"])
            .args(["--json", "--times"])
            .arg(&data)
            .env("PYTORCH_ROOT", checkout.path())
            .env("BUILD_ENVIRONMENT", env)
            .env("TEST_CONFIG", "default");
        let plan: serde_json::Value = serde_json::from_str(&ok(cmd.output().unwrap())).unwrap();
        let lower = plan["lower_bound_seconds"].as_f64().unwrap();
        // No plan beats every file's time shared evenly over every thread of every shard.
        assert!(lower >= total / (threads * shards as f64), "{lower}");
        let shards_json = plan["shards"].as_array().unwrap();
        assert_eq!(shards_json.len(), shards);
        let longest = shards_json
            .iter()
            .map(|s| s["predicted_seconds"].as_f64().unwrap())
            .fold(0.0, f64::max);
        // The planner spends a few percent of the predicted length on extra pieces
        // that keep shards balanced when the times drift (`cargo xtask bench plan`).
        assert!(
            longest <= 1.05 * lower,
            "{shards} shards: {longest} vs {lower}"
        );
        let mut seen = BTreeSet::new();
        for (i, shard) in shards_json.iter().enumerate() {
            assert_eq!(shard["shard"], i + 1);
            for case in shard["cases"].as_array().unwrap() {
                assert!(
                    seen.insert(case.as_str().unwrap().to_string()),
                    "{case} twice"
                );
            }
        }
        // Every selected file is planned, whole or in pieces (`test_ops::shard_2_of_9`).
        let planned: BTreeSet<String> = seen
            .iter()
            .map(|c| c.split("::shard_").next().unwrap().to_string())
            .collect();
        let differ: Vec<_> = planned.symmetric_difference(&selected).collect();
        assert!(differ.is_empty(), "planned or selected only: {differ:?}");
        assert!(seen.iter().any(|c| c.starts_with("test_ops::shard_")));
    }
}

#[test]
fn nextest_lists_every_case_with_its_binary_for_tools() {
    // Ignored cases too (`test_death::NOT_BUILT` where the demo's C++ is not built).
    let listed = listed(&nextest_list(&[]));
    for (binary, example) in [
        ("torch-suite::python", "nn::test_pooling"),
        (
            "torch-suite::distributed",
            "distributed::test_distributed_spawn::gloo::init_env",
        ),
        ("torch-suite::cpp", "test_death"),
    ] {
        assert!(
            listed
                .iter()
                .any(|(b, case)| b == binary && case.starts_with(example)),
            "{binary}: {listed:?}"
        );
    }
}

#[test]
fn xdoctest_command_reaches_the_doctests_case_through_its_variable() {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args([
        "test",
        "--dry-run",
        "-i",
        "test_nn",
        "--xdoctest-command",
        "list",
    ]);
    let out = ok(cmd.output().unwrap());
    let line = out
        .lines()
        .find(|l| l.starts_with("would run: "))
        .unwrap_or_default();
    assert!(
        line.contains("TORCH_HARNESS_XDOCTEST_COMMAND=list "),
        "{out}"
    );
}
