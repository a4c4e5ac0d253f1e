//! `cargo xtask e2e-torch`: the harness against the real runners of
//! `torch.testing._internal`, with the torch wheel from PyPI, on the checkout in
//! `e2e-torch/` (written here). It runs that checkout as CI would, then checks what the
//! real runner wrote and did: report layout, configs, exit codes, skip reasons, pieces,
//! a flaky and a failing test, and ranks that a timeout must end.

mod handlers;
mod lane;
mod lists;
mod serial;

use anyhow::{Result, bail};
use lane::{Lane, find, tests};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;
use torch_harness::report::junit::Outcome;
use torch_harness::report::record::Record;
use torch_harness::report::verdict::Verdict;

const VENV: &str = "torch-harness/torch-venv";

pub fn run() -> Result<()> {
    let root = crate::plumbing::workspace::root();
    let checkout = root.join("e2e-torch");
    let target = crate::plumbing::workspace::target_dir(&root)?;
    let started = Instant::now();
    let python = crate::suite::setup::venv(
        &root,
        VENV,
        &checkout.join("requirements.txt"),
        "the real-torch environment (the torch wheel is several GB)",
    )?;
    let venv_size = folder_size(&target.join(VENV));
    eprintln!(
        "torch environment: {} ({:.1} GB) ready after {:.0} s",
        target.join(VENV).display(),
        venv_size as f64 / 1e9,
        started.elapsed().as_secs_f64()
    );
    let out = target.join("torch-harness/e2e");
    let _ = std::fs::remove_dir_all(&out);
    let lane = Lane {
        checkout,
        python,
        out,
    };
    let mut failures = Vec::new();
    let mut check = |ok: bool, what: String| {
        println!("{} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            failures.push(what);
        }
    };

    // 1. The whole checkout, as a CI shard runs it (a plan splits test_big into pieces),
    // its test processes writing when they ran (demo_testing's timeline); the set-up
    // handlers' cases are `handlers`' run below.
    let timeline = lane.out.join("main-timeline.jsonl");
    let timeline_var = timeline.display().to_string();
    let main = lane.run(
        "main",
        &[
            "--shard",
            "1/1",
            "-x",
            "doctests",
            "test_cpp_extensions_aot",
            "test_autoload_",
        ],
        &[("DEMO_TIMELINE", timeline_var.as_str())],
    )?;
    let records = crate::suite::report::records(&main.dir)?;
    check(
        main.passed,
        format!("every case passes ({} cases)", records.len()),
    );
    print_cases(&records);
    let pieces: Vec<&Record> = records
        .iter()
        .filter(|r| r.case.starts_with("test_big::shard_"))
        .collect();
    check(
        pieces.len() >= 2,
        format!("test_big ran in {} pieces", pieces.len()),
    );
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for piece in &pieces {
        for case in tests(piece)? {
            total += 1;
            seen.insert(case.name);
        }
    }
    check(
        seen.len() == 40 && total == 40,
        format!(
            "its pieces ran its 40 tests once each ({} distinct, {total} runs)",
            seen.len()
        ),
    );
    let basic = find(&records, "test_basic_ops")?;
    check(
        basic.reports.iter().any(|r| {
            r.to_string_lossy()
                .contains("test-reports/python-pytest/test_basic_ops/test_basic_ops-")
        }),
        "common_utils wrote test-reports/python-pytest/test_basic_ops/test_basic_ops-<hex>.xml"
            .into(),
    );
    let basic_tests = tests(basic)?;
    let skip = |name: &str| basic_tests.iter().find(|t| t.name == name).cloned();
    check(
        skip("test_big_reduction").is_some_and(|t| {
            t.outcome == Outcome::Skipped
                && t.message
                    .as_deref()
                    .unwrap_or("")
                    .contains("PYTORCH_TEST_WITH_SLOW")
        }),
        "a @slowTest test is skipped with common_utils' reason by default".into(),
    );
    check(
        skip("test_skipped_with_reason").is_some_and(|t| {
            t.message
                .as_deref()
                .unwrap_or("")
                .contains("needs a feature")
        }),
        "a skip keeps its reason in the XML".into(),
    );
    check(
        basic_tests.iter().any(|t| t.name == "test_add_cpu"),
        "instantiate_device_type_tests made the CPU variant".into(),
    );
    let gloo = find(
        &records,
        "distributed::test_distributed_spawn::gloo::init_env",
    )?;
    check(
        gloo.reports.iter().any(|r| {
            r.to_string_lossy()
                .contains("test-reports/dist-gloo-init-env/distributed.test_distributed_spawn/")
        }),
        "the distributed handler's reports are under dist-gloo-init-env/".into(),
    );
    serial::check(&timeline, &mut check)?;
    let subprocess = find(&records, "test_in_subprocess")?;
    check(
        subprocess.reports.len() == 2,
        format!(
            "--subprocess ran each test in its own interpreter ({} reports)",
            subprocess.reports.len()
        ),
    );

    // 2. TEST_CONFIG=slow sets PYTORCH_TEST_WITH_SLOW: the slow test runs.
    let slow = lane.run(
        "slow",
        &["-i", "test_basic_ops"],
        &[("TEST_CONFIG", "slow")],
    )?;
    let slow_tests = tests(find(
        &crate::suite::report::records(&slow.dir)?,
        "test_basic_ops",
    )?)?;
    check(
        slow_tests
            .iter()
            .any(|t| t.name == "test_big_reduction" && t.outcome == Outcome::Passed),
        "TEST_CONFIG=slow runs the @slowTest test".into(),
    );

    // 3. A flaky and a failing test.
    let trouble = lane.run(
        "trouble",
        &["-i", "test_flaky_and_failing"],
        &[("E2E_INJECT_FAILURE", "1")],
    )?;
    let rec = crate::suite::report::records(&trouble.dir)?;
    let rec = find(&rec, "test_flaky_and_failing")?;
    check(!trouble.passed, "an injected failure fails the run".into());
    check(
        matches!(rec.verdict, Verdict::Failed { .. }) && rec.runs == 3,
        format!(
            "it fails consistently after three processes: {} in {} runs",
            rec.verdict.describe(),
            rec.runs
        ),
    );
    check(
        rec.flaky_tests == ["TestTrouble.test_a_flaky"],
        format!("the flaky test is named: {:?}", rec.flaky_tests),
    );
    check(
        rec.failed_tests.iter().any(|f| {
            f.test == "TestTrouble.test_b_injected"
                && f.message
                    .as_deref()
                    .unwrap_or("")
                    .contains("failure injected")
        }),
        "the failing test is named with its message".into(),
    );

    // 4. Ranks that hang: the harness's timeout ends every process.
    let hang = lane.run(
        "hang",
        &["-i", "distributed/test_hang"],
        &[("E2E_HANG", "1")],
    )?;
    let rec = crate::suite::report::records(&hang.dir)?;
    let rec = find(&rec, "distributed::test_hang")?;
    check(
        matches!(rec.verdict, Verdict::TimedOut { .. }),
        format!("hung gloo ranks time out: {}", rec.verdict.describe()),
    );
    let left = processes_with_env("E2E_HANG=1");
    check(
        left.is_empty(),
        format!("no process of the hung case is left ({left:?})"),
    );

    // 5. Disabled and slow lists in CI mode, served from a loopback server.
    lists::check(&lane, &mut check)?;
    handlers::check(&lane, &mut check)?;

    if !failures.is_empty() {
        bail!("{} checks failed: {}", failures.len(), failures.join("; "));
    }
    println!(
        "e2e-torch: all checks passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn print_cases(records: &[Record]) {
    println!("{:<60} {:<34} {:>8}", "case", "verdict", "wall s");
    for r in records {
        println!(
            "{:<60} {:<34} {:>8.1}",
            r.case,
            r.verdict.describe(),
            r.wall_seconds
        );
    }
}

/// Live processes whose environment holds `needle`.
fn processes_with_env(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|pid| *pid != me)
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/environ"))
                        .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == needle.as_bytes()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn folder_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
