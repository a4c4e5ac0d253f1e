//! The disabled and slow lists from a loopback server: download, the three-hour cache,
//! one resolution per run, and sources that cannot be reached.

mod common;

use common::loopback::Served;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};
use torch_harness::lists::disabled::Platforms;
use torch_harness::lists::fetch::{Fetch, Origin, cache_file};
use torch_harness::lists::{Imported, Inputs, Source, for_run};

const CONDENSED: &str = r#"{
  "test_here (__main__.TestLists)": ["201", "https://github.com/pytorch/pytorch/issues/201", ["linux"]],
  "test_elsewhere (__main__.TestLists)": ["202", "https://github.com/pytorch/pytorch/issues/202", ["win"]],
  "test_back (__main__.TestLists)": ["203", "https://github.com/pytorch/pytorch/issues/203", []]
}"#;

fn accept_all(_: &str) -> Result<(), String> {
    Ok(())
}

fn quick() -> Fetch {
    Fetch {
        connect: Duration::from_millis(500),
        attempt: Duration::from_millis(500),
        budget: Duration::from_millis(1500),
        ..Fetch::default()
    }
}

fn linux() -> Platforms {
    Platforms {
        linux: true,
        ..Platforms::default()
    }
}

#[test]
fn a_download_is_cached_for_three_hours_then_fetched_again() {
    let server = Served::new(CONDENSED);
    let cache = tempfile::tempdir().unwrap();
    let fetch = Fetch::default();
    let (text, origin) = fetch.get(&server.url, cache.path(), accept_all).unwrap();
    assert_eq!(text, CONDENSED);
    assert_eq!(origin, Origin::Downloaded { attempts: 1 });
    let (_, origin) = fetch.get(&server.url, cache.path(), accept_all).unwrap();
    assert!(matches!(origin, Origin::Cached { .. }), "{origin:?}");
    assert_eq!(server.hits(), 1, "the second read came from the cache");

    // Older than three hours: downloaded again.
    let file = std::fs::File::options()
        .write(true)
        .open(cache_file(cache.path(), &server.url))
        .unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(3 * 3600 + 60))
        .unwrap();
    let (_, origin) = fetch.get(&server.url, cache.path(), accept_all).unwrap();
    assert_eq!(origin, Origin::Downloaded { attempts: 1 });
    assert_eq!(server.hits(), 2);
}

#[test]
fn a_body_that_is_not_the_list_is_retried_and_never_cached() {
    let server = Served::new("<html>rate limited</html>");
    let cache = tempfile::tempdir().unwrap();
    let check = |t: &str| {
        serde_json::from_str::<serde_json::Value>(t)
            .map(drop)
            .map_err(|e| e.to_string())
    };
    let err = quick().get(&server.url, cache.path(), check).unwrap_err();
    assert_eq!(err.attempts, 3);
    assert_eq!(server.hits(), 3);
    assert!(err.error.contains("not the expected list"), "{err}");
    assert!(!cache_file(cache.path(), &server.url).exists());
}

/// A port that accepts connections (the kernel's backlog) and never answers.
fn silent_port() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, format!("http://127.0.0.1:{port}/list.json"))
}

#[test]
fn a_silent_server_costs_the_budget_and_an_error_naming_it() {
    let (_listener, url) = silent_port();
    let cache = tempfile::tempdir().unwrap();
    // A budget a little over one attempt: the first times out after 1 s, a second
    // gets the 0.2 s left, and no third starts (three are allowed without the budget).
    let fetch = Fetch {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(1),
        budget: Duration::from_millis(1200),
        ..quick()
    };
    let started = Instant::now();
    let err = fetch.get(&url, cache.path(), accept_all).unwrap_err();
    let took = started.elapsed();
    eprintln!(
        "silent server: gave up after {took:?} and {} attempts",
        err.attempts
    );
    assert!(err.to_string().contains(&url), "{err}");
    assert!((1..=2).contains(&err.attempts), "{err}");
    // The server never answers, so the first attempt waits out its 1 s, and the budget
    // cuts the rest short: about 1.2 s, where two whole attempts take at least 2 s (the
    // margin up to 2 s is for a loaded machine).
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn an_unreachable_source_falls_back_to_an_older_copy() {
    let (_listener, url) = silent_port();
    let cache = tempfile::tempdir().unwrap();
    let cached = cache_file(cache.path(), &url);
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    std::fs::write(&cached, CONDENSED).unwrap();
    let file = std::fs::File::options().write(true).open(&cached).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(5 * 3600))
        .unwrap();
    let (text, origin) = quick().get(&url, cache.path(), accept_all).unwrap();
    assert_eq!(text, CONDENSED);
    assert!(matches!(origin, Origin::Stale { .. }), "{origin:?}");
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_run_resolves_once_drops_reenabled_issues_and_every_case_reads_the_same_files() {
    let server = Served::new(CONDENSED);
    let run = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let inputs = Inputs {
        disabled: Some(Source::Url(server.url.clone())),
        reenabled: ["203".to_string()].into(),
        ..Inputs::default()
    };
    // Eight cases of one run at once.
    let results: Vec<Imported> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    for_run(
                        &inputs,
                        run.path(),
                        cache.path(),
                        &Fetch::default(),
                        &linux(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(server.hits(), 1, "one download for the run");
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    let imported = &results[0];
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    assert_eq!(
        imported.disabled_here, 1,
        "only test_here is disabled on linux"
    );
    let json = read_json(imported.disabled.as_ref().unwrap());
    assert_eq!(
        json,
        serde_json::json!({
            "test_here (__main__.TestLists)": ["https://github.com/pytorch/pytorch/issues/201", ["linux"]],
            "test_elsewhere (__main__.TestLists)": ["https://github.com/pytorch/pytorch/issues/202", ["win"]]
        })
    );
    assert!(
        imported.summary[0].contains("3 listed") && imported.summary[0].contains("1 re-enabled"),
        "{:?}",
        imported.summary
    );
}

#[test]
fn an_unreachable_list_is_a_warning_and_an_empty_list_not_a_failure() {
    // A port nothing listens on: refused at once.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/gone.json");
    let run = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let checkout = tempfile::tempdir().unwrap();
    let inputs = Inputs {
        disabled: Some(Source::Url(url.clone())),
        slow: Some(Source::File(checkout.path().join("test/slow_tests.json"))),
        ..Inputs::default()
    };
    let imported = for_run(&inputs, run.path(), cache.path(), &quick(), &linux());
    assert_eq!(imported.warnings.len(), 1, "{:?}", imported.warnings);
    assert!(imported.warnings[0].contains(&url));
    assert!(imported.warnings[0].contains("no test is disabled"));
    assert_eq!(
        read_json(imported.disabled.as_ref().unwrap()),
        serde_json::json!({})
    );
    // A checkout without slow_tests.json has no slow list, without a warning.
    assert_eq!(imported.slow, None);
    assert!(
        imported
            .summary
            .iter()
            .any(|l| l.starts_with("slow tests: none"))
    );
}

#[test]
fn a_local_slow_list_is_used_and_a_broken_one_is_a_warning() {
    let checkout = tempfile::tempdir().unwrap();
    let slow = checkout.path().join("slow_tests.json");
    std::fs::write(&slow, r#"{"test_big (__main__.TestX)": 120.5}"#).unwrap();
    let inputs = Inputs {
        slow: Some(Source::File(slow.clone())),
        ..Inputs::default()
    };
    let run = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let imported = for_run(&inputs, run.path(), cache.path(), &quick(), &linux());
    assert_eq!(
        read_json(imported.slow.as_ref().unwrap()),
        serde_json::json!({"test_big (__main__.TestX)": 120.5})
    );
    std::fs::write(&slow, "[1, 2").unwrap();
    let run = tempfile::tempdir().unwrap();
    let imported = for_run(&inputs, run.path(), cache.path(), &quick(), &linux());
    assert_eq!(imported.slow, None);
    assert!(
        imported.warnings[0].contains("slow_tests.json is not the expected list"),
        "{:?}",
        imported.warnings
    );
}
