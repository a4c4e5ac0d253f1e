//! run_test.py's run-alone rules under plain `cargo nextest run -j 4` and `cargo test`,
//! without xtask's generated config: serial-listed, parallel-blocklisted, distributed
//! and custom-handler files, the checkout overlay's own additions, and `@serialTest`
//! tests never share the machine with another case.
//!
//! The oracle is the demo's test processes themselves: with `DEMO_TIMELINE` set, every
//! pytest session appends when its process started and ended (demo_testing's plugins),
//! and which files must run alone is written out here from the manifests, not asked of
//! the harness.

mod common;

use common::{check, clean};
use std::path::Path;
use std::process::Command;

/// One test process, as the timeline recorded it.
#[derive(Debug, Clone, serde::Deserialize)]
struct Span {
    token: String,
    pid: u32,
    start: f64,
    end: f64,
    markexpr: String,
    tests: Vec<String>,
}

impl Span {
    /// The case it ran for: the token is `<case>#<16 hex>`.
    fn case(&self) -> &str {
        self.token.split('#').next().unwrap_or_default()
    }

    fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// The demo cases that must run alone, by the suite's lists and the demo's overlay.
fn must_run_alone(span: &Span) -> bool {
    const SERIAL: &[&str] = &[
        // CI_SERIAL_LIST
        "test_nn",
        "test_torch",
        "test_sort_and_select",
        "nn::test_pooling",
        "nn::test_convolution",
        // the demo overlay's CI_SERIAL_LIST addition
        "test_memory_format",
        // RUN_PARALLEL_BLOCKLIST
        "test_multiprocessing",
    ];
    let case = span.case();
    // Every distributed file, custom handler or not, runs alone.
    SERIAL.contains(&case) || case.starts_with("distributed::") || span.markexpr == "serial"
}

struct Figures {
    alone: usize,
    /// (run-alone span, the other case's span) that ran at the same time.
    overlapped: Vec<(Span, Span)>,
    /// Pairs of processes of two different shared cases that ran side by side.
    shared_side_by_side: usize,
}

fn figures(spans: &[Span]) -> Figures {
    let mut overlapped = Vec::new();
    let mut shared_side_by_side = 0;
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            if a.case() == b.case() || !a.overlaps(b) {
                continue;
            }
            match (must_run_alone(a), must_run_alone(b)) {
                (false, false) => shared_side_by_side += 1,
                (true, _) => overlapped.push((a.clone(), b.clone())),
                (false, true) => overlapped.push((b.clone(), a.clone())),
            }
        }
    }
    Figures {
        alone: spans.iter().filter(|s| must_run_alone(s)).count(),
        overlapped,
        shared_side_by_side,
    }
}

fn read_timeline(path: &Path) -> Vec<Span> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no timeline at {}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Runs `cmd` on the demo with a timeline, prints the overlap figures and checks them.
fn assert_run_alone(what: &str, mut cmd: Command) {
    let out = tempfile::tempdir().unwrap();
    let timeline = out.path().join("timeline.jsonl");
    cmd.env("TORCH_HARNESS_OUT", out.path().join("runs"))
        .env("DEMO_TIMELINE", &timeline)
        .env_remove("CI");
    let output = cmd.output().unwrap();
    check(&output);
    let spans = read_timeline(&timeline);
    let f = figures(&spans);
    let distinct = |mut c: Vec<&str>| {
        c.sort();
        c.dedup();
        c.len()
    };
    let alone_cases = distinct(
        spans
            .iter()
            .filter(|s| must_run_alone(s))
            .map(Span::case)
            .collect(),
    );
    println!(
        "{what}: {} test processes, {} of them must run alone; {} of {alone_cases} run-alone \
         cases overlapped another case ({} pairs of processes); {} pairs of shared cases ran \
         side by side",
        spans.len(),
        f.alone,
        distinct(f.overlapped.iter().map(|(a, _)| a.case()).collect()),
        f.overlapped.len(),
        f.shared_side_by_side
    );
    for (a, b) in &f.overlapped {
        println!(
            "  {} (pid {}, -m {:?}) overlapped {} (pid {}) for {:.2} s",
            a.case(),
            a.pid,
            a.markexpr,
            b.case(),
            b.pid,
            a.end.min(b.end) - a.start.max(b.start)
        );
    }

    let cases = |pred: &dyn Fn(&Span) -> bool| {
        let mut c: Vec<&str> = spans.iter().filter(|s| pred(s)).map(Span::case).collect();
        c.sort();
        c.dedup();
        c
    };
    // Every kind of rule is exercised: a serial-listed file, an overlay one, a
    // blocklisted one, both kinds of distributed file and a @serialTest test.
    let alone = cases(&|s| must_run_alone(s));
    for expected in [
        "test_nn",
        "test_memory_format",
        "test_multiprocessing",
        "distributed::test_c10d_common",
        "distributed::test_distributed_spawn::gloo::init_env",
        "test_large_tensors",
    ] {
        assert!(alone.contains(&expected), "{expected} not in {alone:?}");
    }
    // Only the file that uses the marker pays for a second interpreter.
    assert_eq!(
        cases(&|s| s.markexpr == "serial"),
        ["test_large_tensors"],
        "{spans:#?}"
    );
    assert_eq!(
        cases(&|s| s.markexpr == "not serial"),
        ["test_large_tensors"]
    );
    // The marked test ran in the part alone, the others in the shared part.
    let tests = |expr: &str| -> Vec<String> {
        spans
            .iter()
            .filter(|s| s.markexpr == expr)
            .flat_map(|s| {
                s.tests
                    .iter()
                    .map(|t| t.rsplit("::").next().unwrap_or(t).to_string())
            })
            .collect()
    };
    assert_eq!(tests("serial"), ["test_fill_a_large_buffer"]);
    let mut rest = tests("not serial");
    rest.sort();
    assert_eq!(
        rest,
        ["test_small_buffer_round_trip", "test_views_share_memory"]
    );
    assert!(
        f.overlapped.is_empty(),
        "{what}: run-alone processes overlapped others: {:#?}",
        f.overlapped
    );
    // The rest still share the machine: a lock that ran everything alone would pass
    // the check above too.
    assert!(
        f.shared_side_by_side > 0,
        "{what}: no two shared cases ran at the same time: {spans:#?}"
    );
}

#[test]
fn plain_nextest_keeps_run_alone_cases_alone() {
    let mut cmd = clean(Command::new(env!("CARGO")));
    cmd.args([
        "nextest",
        "run",
        "--package",
        "torch-suite",
        "-j",
        "4",
        "--no-fail-fast",
    ]);
    assert_run_alone("cargo nextest run -j 4", cmd);
}

#[test]
fn cargo_test_keeps_run_alone_cases_alone() {
    let mut cmd = clean(Command::new(env!("CARGO")));
    cmd.args([
        "test",
        "--package",
        "torch-suite",
        "--",
        "--test-threads",
        "4",
    ]);
    assert_run_alone("cargo test -- --test-threads 4", cmd);
}

/// The overrides of the tool config `cargo xtask test --dry-run` wrote: (filter, table).
fn dry_run_overrides() -> Vec<(String, toml::Table)> {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    // Failed-first would put whatever failed in an earlier run of this target dir first.
    cmd.args(["test", "--dry-run", "--no-failed-first"]);
    let output = cmd.output().unwrap();
    check(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("xtask:"))
        .unwrap_or_else(|| panic!("no --tool-config-file xtask:… in:\n{stdout}"));
    let config: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
    config["profile"]["default"]["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let o = o.as_table().unwrap().clone();
            (o["filter"].as_str().unwrap().to_string(), o)
        })
        .collect()
}

#[test]
fn xtasks_tool_config_gives_run_alone_cases_every_slot_and_starts_the_longest_first() {
    let overrides = dry_run_overrides();
    let (serial, _) = overrides
        .iter()
        .find(|(_, o)| {
            o.get("threads-required").and_then(|v| v.as_str()) == Some("num-test-threads")
        })
        .expect("a threads-required override");
    for case in [
        "test_nn",
        "test_memory_format",
        "test_multiprocessing",
        "distributed::test_c10d_common",
        "distributed::test_distributed_spawn::gloo::init_env",
    ] {
        assert!(
            serial.contains(&format!("test(={case})")),
            "{case}: {serial}"
        );
    }
    // A @serialTest file shares the machine except while its marked tests run, which
    // the harness's lock sees to; nextest keeps its slots for the rest.
    assert!(!serial.contains("test(=test_large_tensors)"), "{serial}");
    // What runs alone starts first, so that no slot waits behind it: the run-alone
    // files, then the @serialTest file (its marked tests take the machine while the
    // first parallel cases wait at its gate), then the rest, test_linalg first: it is
    // the only demo file with an expected time (3 s, the overlay's).
    let priority: std::collections::BTreeMap<String, i64> = overrides
        .iter()
        .filter_map(|(f, o)| Some((f, o.get("priority")?.as_integer()?)))
        .flat_map(|(f, p)| {
            f.split(" | ")
                .map(|c| (c.to_string(), p))
                .collect::<Vec<_>>()
        })
        .collect();
    let p = |case: &str| priority[&format!("test(={case})")];
    let alone = [
        "test_nn",
        "test_memory_format",
        "distributed::test_c10d_common",
    ];
    let shared = [
        "test_linalg",
        "test_autograd",
        "test_ops",
        "test_dataloader",
    ];
    let lowest_alone = alone.iter().map(|c| p(c)).min().unwrap();
    assert!(lowest_alone > p("test_large_tensors"), "{priority:?}");
    for case in shared {
        assert!(p("test_large_tensors") > p(case), "{case}: {priority:?}");
    }
    let highest_shared = priority
        .iter()
        .filter(|(c, _)| !serial.contains(c.as_str()) && *c != "test(=test_large_tensors)")
        .max_by_key(|(_, p)| **p)
        .expect("priorities");
    assert_eq!(highest_shared.0, "test(=test_linalg)", "{priority:?}");
}
