//! What `cargo xtask report` will not count: a `--junit` file that cannot be used is an
//! error naming it, and a run's own XML that is not a test report is named in the
//! report and fails it.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use torch_harness::report::record::Record;
use torch_harness::report::verdict::Verdict;

const REPORT: &str = r#"<testsuites><testsuite name="pytest" tests="1"><testcase classname="TestA" name="test_a" time="0.5"/></testsuite></testsuites>"#;

/// A run folder named `run-1` with a passed case `test_a` whose attempt wrote `xml`
/// (file name and text).
fn run_with(dir: &Path, xml: &[(&str, &str)]) -> std::path::PathBuf {
    let run = dir.join("run-1");
    let folder = run.join("test_a/attempt-1");
    let reports = folder.join("test-reports/python-pytest/test_a");
    std::fs::create_dir_all(&reports).unwrap();
    let mut paths = Vec::new();
    for (name, text) in xml {
        let path = reports.join(name);
        std::fs::write(&path, text).unwrap();
        paths.push(path);
    }
    Record {
        wall_seconds: 1.0,
        log: folder.join("output.log"),
        reports: paths,
        ..Record::new("test_a", Verdict::Passed)
    }
    .write(&folder)
    .unwrap();
    run
}

fn report(run: &Path, extra: &[&str]) -> Output {
    common::clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .arg("report")
        .arg(run)
        .arg("--timeline")
        .arg(run.join("t.html"))
        .args(extra)
        .output()
        .unwrap()
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// nextest's JUnit of run `id` with test_a passed.
fn nextest_junit(id: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="torch-nextest" tests="1" failures="0" errors="0" uuid="{id}" timestamp="2026-01-01T00:00:00Z" time="1.0">
<testsuite name="torch-suite::python" tests="1" disabled="0" errors="0" failures="0">
<testcase name="test_a" classname="torch-suite::python" timestamp="2026-01-01T00:00:00Z" time="1.0"/>
</testsuite>
</testsuites>"#
    )
}

#[test]
fn a_given_junit_that_cannot_be_used_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_with(dir.path(), &[("a.xml", REPORT)]);
    // nextest's JUnit of this very run is read and agrees.
    let own = dir.path().join("own.xml");
    std::fs::write(&own, nextest_junit("run-1")).unwrap();
    let ok = report(&run, &["--junit", own.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", said(&ok));
    assert!(said(&ok).contains("tests 1: 1 passed"), "{}", said(&ok));

    for (name, text, why) in [
        ("missing.xml", None, "cannot read it"),
        (
            "garbled.xml",
            Some("<testsuites><testsuite name=\"x\">"),
            "truncated",
        ),
        ("foo.xml", Some("<foo/>"), "its root element is <foo>"),
        ("empty.xml", Some("<testsuites/>"), "an empty <testsuites>"),
        (
            "other.xml",
            Some(nextest_junit("another-run").as_str()),
            "not nextest's JUnit of this run (no uuid=\"<run id>\" of run-1)",
        ),
    ] {
        let path = dir.path().join(name);
        if let Some(text) = text {
            std::fs::write(&path, text).unwrap();
        }
        let out = report(&run, &["--junit", path.to_str().unwrap()]);
        let said = said(&out);
        assert!(!out.status.success(), "{name}: {said}");
        assert!(
            said.contains(&format!("--junit {}", path.display())) && said.contains(why),
            "{name}: {said}"
        );
    }
}

#[test]
fn a_runs_xml_that_is_not_a_test_report_fails_the_report_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_with(
        dir.path(),
        &[
            ("a.xml", REPORT),
            ("foo.xml", "<foo/>"),
            ("empty.xml", "<testsuites/>"),
        ],
    );
    let out = report(&run, &[]);
    let said = said(&out);
    assert!(!out.status.success(), "{said}");
    // The real report still counts.
    assert!(said.contains("tests 1: 1 passed"), "{said}");
    assert!(
        said.contains("not counted: the tests of 2 report(s)"),
        "{said}"
    );
    let unreadable: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("UNREADABLE: "))
        .collect();
    assert_eq!(unreadable.len(), 2, "{said}");
    assert!(
        unreadable
            .iter()
            .any(|l| l.contains("foo.xml") && l.contains("its root element is <foo>")),
        "{said}"
    );
    assert!(
        unreadable
            .iter()
            .any(|l| l.contains("empty.xml") && l.contains("an empty <testsuites>")),
        "{said}"
    );
}
