//! The torch lane's check of PyTorch's disabled and slow lists in CI mode, on the real
//! common_utils: a list served from a loopback server (127.0.0.1 only, stopped when the
//! step ends), REENABLED_ISSUES, the checkout's slow_tests.json, a source that never
//! answers, and a rerun of the disabled tests with its re-enable candidates.

use super::lane::{Lane, find, tests};
use anyhow::{Context, Result};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use torch_harness::report::junit::{Outcome, TestCase};

const ISSUES: &str = "https://github.com/pytorch/pytorch/issues";

/// PyTorch's condensed shape: `{"test (__main__.Class)": [issue, url, [platforms]]}`.
fn condensed() -> String {
    let entry = |test: &str, issue: u32, platforms: &[&str]| {
        (
            test.to_string(),
            serde_json::json!([issue.to_string(), format!("{ISSUES}/{issue}"), platforms]),
        )
    };
    let map: serde_json::Map<String, serde_json::Value> = [
        entry(
            "test_disabled_on_linux (__main__.TestDisabledLists)",
            90001,
            &["linux"],
        ),
        entry(
            "test_disabled_everywhere (__main__.TestDisabledLists)",
            90002,
            &[],
        ),
        entry(
            "test_disabled_elsewhere (__main__.TestDisabledLists)",
            90003,
            &["win", "mac"],
        ),
        entry("test_reenabled (__main__.TestDisabledLists)", 90004, &[]),
        entry("test_mul (__main__.TestDisabledDevice)", 90005, &["linux"]),
        // Another file's test: nothing here matches it.
        entry("test_conv (__main__.TestNN)", 90006, &[]),
    ]
    .into_iter()
    .collect();
    serde_json::Value::Object(map).to_string()
}

/// Serves one body on 127.0.0.1 until dropped; counts requests.
struct Loopback {
    url: String,
    hits: Arc<AtomicUsize>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Loopback {
    fn serve(body: String) -> Result<Loopback> {
        let server = tiny_http::Server::http("127.0.0.1:0")
            .map_err(|e| anyhow::anyhow!("cannot serve on 127.0.0.1: {e}"))?;
        let server = Arc::new(server);
        let port = server
            .server_addr()
            .to_ip()
            .context("the loopback server has no port")?
            .port();
        let hits = Arc::new(AtomicUsize::new(0));
        let (s, h) = (Arc::clone(&server), Arc::clone(&hits));
        let thread = std::thread::spawn(move || {
            for request in s.incoming_requests() {
                h.fetch_add(1, Ordering::SeqCst);
                let _ = request.respond(tiny_http::Response::from_string(body.clone()));
            }
        });
        Ok(Loopback {
            url: format!("http://127.0.0.1:{port}/disabled-tests-condensed.json"),
            hits,
            server,
            thread: Some(thread),
        })
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn outcome(tests: &[TestCase], name: &str) -> Vec<(Outcome, String)> {
    tests
        .iter()
        .filter(|t| t.name == name)
        .map(|t| (t.outcome, t.message.clone().unwrap_or_default()))
        .collect()
}

fn skipped_naming(tests: &[TestCase], name: &str, issue: u32) -> bool {
    let found = outcome(tests, name);
    found.len() == 1
        && found[0].0 == Outcome::Skipped
        && found[0].1.contains(&format!(
            "Test is disabled because an issue exists disabling it: {ISSUES}/{issue}"
        ))
}

fn ran(tests: &[TestCase], name: &str) -> bool {
    outcome(tests, name) == [(Outcome::Passed, String::new())]
}

pub fn check(lane: &Lane, check: &mut impl FnMut(bool, String)) -> Result<()> {
    let served = Loopback::serve(condensed())?;
    let ci = [
        ("CI", "1"),
        ("TORCH_HARNESS_DISABLED_TESTS", served.url.as_str()),
        ("REENABLED_ISSUES", "90004"),
    ];

    // Two cases of one run read one download.
    let run = lane.run(
        "lists",
        &["-i", "test_disabled_lists", "test_basic_ops"],
        &ci,
    )?;
    let records = crate::suite::report::records(&run.dir)?;
    check(
        run.passed && records.len() == 2,
        format!(
            "CI mode with a served disabled list passes ({} cases)",
            records.len()
        ),
    );
    check(
        served.hits.load(Ordering::SeqCst) == 1,
        format!(
            "the list was fetched once for the run ({} request(s))",
            served.hits.load(Ordering::SeqCst)
        ),
    );
    let t = tests(find(&records, "test_disabled_lists")?)?;
    let skipped = t.iter().filter(|c| c.outcome == Outcome::Skipped).count();
    let passed = t.iter().filter(|c| c.outcome == Outcome::Passed).count();
    println!(
        "lists: test_disabled_lists: {skipped} skipped, {passed} ran and passed, of {}",
        t.len()
    );
    check(
        skipped_naming(&t, "test_disabled_on_linux", 90001),
        "a test disabled on linux is skipped with common_utils' message naming its issue".into(),
    );
    check(
        skipped_naming(&t, "test_disabled_everywhere", 90002),
        "a test disabled on every platform is skipped".into(),
    );
    check(
        skipped_naming(&t, "test_mul_cpu_float32", 90005),
        "the generic name disables the device and dtype variant".into(),
    );
    check(
        ran(&t, "test_disabled_elsewhere"),
        format!(
            "a test disabled only on win and mac runs: {:?}",
            outcome(&t, "test_disabled_elsewhere")
        ),
    );
    check(
        ran(&t, "test_reenabled"),
        format!(
            "a test whose issue is in REENABLED_ISSUES runs: {:?}",
            outcome(&t, "test_reenabled")
        ),
    );
    check(
        outcome(&t, "test_listed_slow")
            .first()
            .is_some_and(|(o, m)| *o == Outcome::Skipped && m.contains("test is slow")),
        "a test in the checkout's test/slow_tests.json is skipped as slow".into(),
    );

    // A source that accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0")?;
    let silent_url = format!("http://{}/list.json", silent.local_addr()?);
    let offline = lane.run(
        "lists-offline",
        &["-i", "test_disabled_lists"],
        &[
            ("CI", "1"),
            ("TORCH_HARNESS_DISABLED_TESTS", silent_url.as_str()),
        ],
    )?;
    drop(silent);
    let log = std::fs::read_to_string(&offline.log)?;
    let lost = log
        .lines()
        .find_map(|l| l.strip_prefix("lists resolved in "))
        .unwrap_or("?");
    println!("lists: a source that never answers cost {lost}");
    check(
        offline.passed && log.contains("warning: cannot fetch") && log.contains(&silent_url),
        "a source that never answers is a warning, not a failed run".into(),
    );
    let t = tests(find(
        &crate::suite::report::records(&offline.dir)?,
        "test_disabled_lists",
    )?)?;
    check(
        ran(&t, "test_disabled_on_linux"),
        "without the list the disabled test runs".into(),
    );

    // Only the disabled tests, 50 times each; the report names those that always passed.
    let rerun = lane.run(
        "lists-rerun",
        &["--rerun-disabled-tests", "-i", "test_disabled_lists"],
        &ci,
    )?;
    let t = tests(find(
        &crate::suite::report::records(&rerun.dir)?,
        "test_disabled_lists",
    )?)?;
    let count = |name: &str, o: Outcome| {
        t.iter()
            .filter(|c| c.name == name && c.outcome == o)
            .count()
    };
    println!(
        "lists: rerun: test_disabled_on_linux passed {} times; test_disabled_everywhere passed {} and failed {}",
        count("test_disabled_on_linux", Outcome::Passed),
        count("test_disabled_everywhere", Outcome::Passed),
        count("test_disabled_everywhere", Outcome::Failed)
    );
    check(
        rerun.passed
            && count("test_disabled_on_linux", Outcome::Passed) == 50
            && count("test_disabled_everywhere", Outcome::Failed) == 25
            && count("test_disabled_elsewhere", Outcome::Passed) == 0,
        "--rerun-disabled-tests runs only the disabled tests, 50 times each, and passes".into(),
    );
    let report = std::process::Command::new(std::env::current_exe()?)
        .arg("report")
        .arg(&rerun.dir)
        .output()?;
    let text = String::from_utf8_lossy(&report.stdout);
    for line in text
        .lines()
        .filter(|l| l.contains("candidate") || l.contains("still failing"))
    {
        println!("lists: report: {}", line.trim());
    }
    check(
        text.contains(
            "re-enable candidate: test_disabled_lists TestDisabledLists.test_disabled_on_linux (passed 50 of 50 runs)",
        ) && text.contains(
            "still failing: test_disabled_lists TestDisabledLists.test_disabled_everywhere (failed 25 of 50 runs)",
        ) && !text.contains("test_reenabled"),
        "cargo xtask report lists the disabled tests that passed every run".into(),
    );
    Ok(())
}
