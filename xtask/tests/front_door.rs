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

/// The "N cases selected" count and the `shard i/n: …, K cases` lines of a dry run.
fn counts(flags: &[&str]) -> (usize, Vec<(String, usize)>) {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    cmd.args(["test", "--dry-run"]).args(flags);
    let out = ok(cmd.output().unwrap());
    let selected = out
        .lines()
        .find_map(|l| l.split_once(" cases selected"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in:\n{out}"));
    let shards = out
        .lines()
        .filter_map(|l| {
            let (shard, rest) = l.strip_prefix("shard ")?.split_once(": ")?;
            let (_, cases) = rest.split_once(" s predicted, ")?;
            Some((shard.to_string(), cases.split(' ').next()?.parse().ok()?))
        })
        .collect();
    (selected, shards)
}

#[test]
fn a_dry_run_prints_the_plan_and_counts_what_this_machine_runs() {
    let (_, all) = dry_run(&[]);
    let (selected, shards) = counts(&[]);
    assert_eq!(selected, all.len());
    assert_eq!(
        shards,
        [("1/1".to_string(), all.len())],
        "one machine, every case"
    );

    let (_, second) = dry_run(&["--shard", "2/3"]);
    let (selected, shards) = counts(&["--shard", "2/3"]);
    assert_eq!(selected, second.len(), "the count is this shard's");
    assert!(second.len() < all.len());
    assert_eq!(shards.len(), 3);
    assert_eq!(shards.iter().map(|(_, n)| n).sum::<usize>(), all.len());
    assert_eq!(shards[1], ("2/3".to_string(), second.len()));
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
    // Under --cpp, -i names C++ binaries (run_test.py's cpp/<binary>).
    let output = clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .args(["test", "--dry-run", "--cpp", "-i", "cpp/test_nope"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("--include cpp/test_nope: no C++ test binary `test_nope`"),
        "{err}"
    );
}

#[test]
fn cpp_with_include_runs_the_named_binaries_or_refuses_a_python_file() {
    // A Python file beside --cpp would run nothing: refused, with the reason.
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    let output = cmd
        .args(["test", "--dry-run", "--cpp", "-i", "test_nn"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--include test_nn beside --cpp"), "{err}");
    assert!(
        err.contains("test_death"),
        "names the binaries there are: {err}"
    );

    // A C++ binary is honoured: only its suites, and nextest's listing of the
    // filterset agrees (the demo's binaries are listed, built or not).
    let (filterset, cases) = dry_run(&["--cpp", "-i", "cpp/test_death"]);
    let filterset = filterset.expect("--cpp -i narrows the run");
    assert_eq!(filterset, "binary(cpp) & (test(/^test_death::/))");
    assert!(
        cases.iter().all(|c| c.starts_with("test_death::")),
        "{cases:?}"
    );
    if common::googletest_installed() && workspace().join("demo/build/bin/test_death").exists() {
        assert_eq!(
            cases,
            ["test_death::BoundsCheckDeathTest", "test_death::NeedsCuda"]
                .map(String::from)
                .into()
        );
    }
    assert_eq!(nextest_lists(&filterset), cases);
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

/// Expected seconds of a made-up suite shaped like PyTorch's (most files short, a few
/// very long; three on CI_SERIAL_LIST), from a fixed pseudo-random sequence.
fn made_up_times() -> Vec<(String, f64)> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        // xorshift64: the same numbers on every machine.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut times: Vec<(String, f64)> = (0..400)
        .map(|i| {
            let u = next();
            let seconds = match next() {
                r if r < 0.70 => 1.0 + 59.0 * u,
                r if r < 0.95 => 60.0 + 540.0 * u,
                _ => 600.0 + 5400.0 * u,
            };
            (
                format!("test_made_up_{i:03}"),
                (seconds * 10.0).round() / 10.0,
            )
        })
        .collect();
    times.extend([
        ("test_nn".to_string(), 1500.0),
        ("test_torch".to_string(), 800.0),
        ("nn/test_pooling".to_string(), 200.0),
    ]);
    times
}

/// The files on CI_SERIAL_LIST among [`made_up_times`]: they take the whole machine.
const SERIAL: [&str; 3] = ["test_nn", "test_torch", "nn/test_pooling"];
const THREADS: usize = 3;
/// What each extra piece of a split file costs (`piece_startup_seconds`).
const PIECE_STARTUP: f64 = 15.0;

/// A case name as its file and piece count: `nn::test_x::shard_2_of_3` → (`nn/test_x`, 3).
fn file_and_pieces(case: &str) -> (String, u32) {
    let parts: Vec<&str> = case.split("::").collect();
    match parts.split_last() {
        Some((last, file)) if last.starts_with("shard_") => {
            let count = last.rsplit("_of_").next().unwrap().parse().unwrap();
            (file.join("/"), count)
        }
        _ => (parts.join("/"), 1),
    }
}

/// A shard's wall time, computed here from its cases: serial pieces one after another,
/// the rest longest first on the least-loaded of THREADS workers; a file in n pieces
/// costs its time over n plus a start-up for each extra piece.
fn shard_seconds(cases: &[String], times: &BTreeMap<String, f64>) -> f64 {
    let mut serial = 0.0;
    let mut parallel = Vec::new();
    for case in cases {
        let (file, n) = file_and_pieces(case);
        let whole = times[&file];
        let piece = (whole + f64::from(n - 1) * PIECE_STARTUP) / f64::from(n);
        if SERIAL.contains(&file.as_str()) {
            serial += piece;
        } else {
            parallel.push(piece);
        }
    }
    parallel.sort_by(|a, b| b.total_cmp(a));
    let mut workers = [0.0f64; THREADS];
    for piece in parallel {
        let idlest = workers.iter_mut().min_by(|a, b| a.total_cmp(b)).unwrap();
        *idlest += piece;
    }
    serial + workers.iter().copied().fold(0.0, f64::max)
}

#[test]
fn plans_cover_the_selection_once_and_come_within_five_percent_of_the_best_possible() {
    let times = made_up_times();
    let checkout = tempfile::tempdir().unwrap();
    let mut json = serde_json::Map::new();
    for (name, seconds) in &times {
        let path = checkout.path().join("test").join(format!("{name}.py"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
        json.insert(name.clone(), (*seconds).into());
    }
    let times_file = checkout.path().join("times.json");
    let store = serde_json::json!({ "made-up-env": { "default": json } });
    std::fs::write(&times_file, store.to_string()).unwrap();
    let times: BTreeMap<String, f64> = times.into_iter().collect();
    let selection: BTreeSet<String> = times.keys().cloned().collect();

    // No plan beats the machine-time of all the work spread evenly over the shards.
    let machine_time: f64 = times
        .iter()
        .map(|(file, t)| {
            if SERIAL.contains(&file.as_str()) {
                *t
            } else {
                t / THREADS as f64
            }
        })
        .sum();
    for shards in [5, 10, 20] {
        let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
        cmd.args(["plan", "--shards", &shards.to_string(), "--json"])
            .args(["--threads", &THREADS.to_string(), "--times"])
            .arg(&times_file)
            .env("PYTORCH_ROOT", checkout.path())
            .env("BUILD_ENVIRONMENT", "made-up-env")
            .env("TEST_CONFIG", "default");
        let plan: serde_json::Value = serde_json::from_str(&ok(cmd.output().unwrap())).unwrap();
        let shards_json = plan["shards"].as_array().unwrap();
        assert_eq!(shards_json.len(), shards);

        // Every selected file runs exactly once: whole, or as all of its pieces.
        let mut pieces: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut longest: f64 = 0.0;
        for (i, shard) in shards_json.iter().enumerate() {
            assert_eq!(shard["shard"], i + 1);
            let cases: Vec<String> = shard["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect();
            for case in &cases {
                let (file, n) = file_and_pieces(case);
                assert!(
                    pieces.entry(file).or_default().insert(case.clone()),
                    "{case} twice"
                );
                assert!(n >= 1, "{case}");
            }
            longest = longest.max(shard_seconds(&cases, &times));
        }
        let planned: BTreeSet<String> = pieces.keys().cloned().collect();
        assert_eq!(
            planned, selection,
            "{shards} shards: the plan is not the selection"
        );
        for (file, cases) in &pieces {
            let (_, n) = file_and_pieces(cases.first().unwrap());
            let expected: BTreeSet<String> = if n == 1 {
                [file.replace('/', "::")].into()
            } else {
                (1..=n)
                    .map(|i| format!("{}::shard_{i}_of_{n}", file.replace('/', "::")))
                    .collect()
            };
            assert_eq!(cases, &expected, "{file}: pieces missing or doubled");
        }

        // The planner spends a few percent on pieces that keep shards balanced when the
        // times drift (`cargo xtask bench plan`).
        let best = machine_time / shards as f64;
        assert!(
            longest <= 1.05 * best,
            "{shards} shards: the longest shard takes {longest:.0} s, the best possible {best:.0} s"
        );
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

#[test]
fn mps_runs_its_fixed_list_with_the_device_variable_set() {
    // run_test.py's --mps: its fixed list replaces the selection (--core no longer
    // counts) and PYTORCH_TESTING_DEVICE_ONLY_FOR=mps reaches every test.
    let output = clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .args(["test", "--dry-run", "--core", "--mps", "--no-failed-first"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = String::from_utf8_lossy(&output.stdout);
    let command = out.lines().find(|l| l.starts_with("would run:")).unwrap();
    assert!(
        command.contains(" PYTORCH_TESTING_DEVICE_ONLY_FOR=mps "),
        "{command}"
    );
    // The demo has five of the list's files; test_autograd (core) is not one of them.
    assert!(out.contains("5 cases"), "{out}");
    assert!(
        command.contains("nn::test_convolution") && !command.contains("test_autograd"),
        "{command}"
    );
    // A plan file cannot carry the variable: xtask plan says to set it.
    let output = clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .args(["plan", "--mps", "--shards", "1"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("PYTORCH_TESTING_DEVICE_ONLY_FOR=mps"), "{err}");
}
