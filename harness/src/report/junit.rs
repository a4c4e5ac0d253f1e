//! Reads the XML reports test processes write: pytest's (PyTorch's conftest, with
//! `<rerun>` elements), unittest-xml-reporting's and gtest's. All are JUnit-shaped: a
//! `<testcase>` per test with `<failure>`, `<error>`, `<skipped>` and `<rerun>` children.
//! A truncated, malformed or hostile file is an error naming the file and position,
//! never a panic.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Larger reports are refused rather than read into memory.
pub const MAX_REPORT_BYTES: u64 = 256 << 20;
/// Deeper nesting than any JUnit writer produces is refused.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    Error,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestCase {
    pub file: Option<String>,
    pub classname: String,
    pub name: String,
    pub time: f64,
    pub outcome: Outcome,
    /// The failure's, error's or skip's message.
    pub message: Option<String>,
    /// Messages of the failed attempts that were rerun in the same process.
    pub reruns: Vec<String>,
}

impl TestCase {
    /// `Class.test_name`, as PyTorch's stats and expected-failure lists name tests.
    pub fn id(&self) -> String {
        if self.classname.is_empty() {
            self.name.clone()
        } else {
            format!("{}.{}", self.classname, self.name)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is {size} bytes, over the {MAX_REPORT_BYTES}-byte limit for a report")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{path}: byte {position}: not a readable XML report: {message}")]
    Malformed {
        path: PathBuf,
        position: u64,
        message: String,
    },
}

pub fn read(path: &Path) -> Result<Vec<TestCase>, ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_REPORT_BYTES {
        return Err(ReportError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    parse(&String::from_utf8_lossy(&bytes)).map_err(|(position, message)| ReportError::Malformed {
        path: path.to_path_buf(),
        position,
        message,
    })
}

/// Which child of a testcase text currently belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Child {
    Outcome,
    Rerun,
    Other,
}

/// Test cases of one report; on error, the byte position and what is wrong.
pub fn parse(text: &str) -> Result<Vec<TestCase>, (u64, String)> {
    let mut reader = Reader::from_str(text);
    let mut cases = Vec::new();
    let mut current: Option<TestCase> = None;
    let mut child: Option<Child> = None;
    let mut body = String::new();
    let mut depth = 0usize;
    let mut saw_root = false;
    // The root element, whether it says how many tests it holds, and whether any
    // <testsuite> came: what tells a test report from other XML.
    let mut root: Option<(String, bool)> = None;
    let mut suites = false;
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| (at, e.to_string()))?;
        match event {
            Event::Start(e) => {
                depth += 1;
                saw_root = true;
                if depth > MAX_DEPTH {
                    return Err((at, format!("nested deeper than {MAX_DEPTH} elements")));
                }
                note_element(&e, &mut root, &mut suites).map_err(|m| (at, m))?;
                open(&e, &mut current, &mut child, &mut body, false).map_err(|m| (at, m))?;
            }
            Event::Empty(e) => {
                saw_root = true;
                note_element(&e, &mut root, &mut suites).map_err(|m| (at, m))?;
                open(&e, &mut current, &mut child, &mut body, true).map_err(|m| (at, m))?;
                if e.local_name().as_ref() == "testcase"
                    && let Some(case) = current.take()
                {
                    cases.push(case);
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                match e.local_name().as_ref() {
                    "testcase" => {
                        if let Some(case) = current.take() {
                            cases.push(case);
                        }
                    }
                    "failure" | "error" | "skipped" | "rerun" => {
                        if let (Some(case), Some(kind)) = (current.as_mut(), child.take()) {
                            let text = std::mem::take(&mut body);
                            let first_line = || {
                                text.lines()
                                    .find(|l| !l.trim().is_empty())
                                    .map(|l| l.trim().to_string())
                            };
                            match kind {
                                Child::Outcome
                                    if case.message.as_deref().is_none_or(str::is_empty) =>
                                {
                                    case.message = first_line();
                                }
                                Child::Rerun => {
                                    if let Some(last) = case.reruns.last_mut()
                                        && last.is_empty()
                                    {
                                        *last = first_line().unwrap_or_default();
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) if child.is_some() => body.push_str(&t.xml10_content()),
            Event::CData(t) if child.is_some() => body.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if child.is_some() => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match r.as_ref() {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => format!("&{other};"),
                    },
                };
                body.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err((0, "no XML elements (an empty or truncated report)".into()));
    }
    if current.is_some() || depth != 0 {
        return Err((
            reader.buffer_position(),
            "the report ends inside an element (truncated)".into(),
        ));
    }
    match root {
        Some((name, _)) if name == "testsuite" => {}
        Some((name, counted)) if name == "testsuites" => {
            if !suites && !counted && cases.is_empty() {
                return Err((
                    0,
                    "not a test report: an empty <testsuites> (no <testsuite>, no tests count)"
                        .into(),
                ));
            }
        }
        other => {
            return Err((
                0,
                format!(
                    "not a JUnit report: its root element is <{}>, not <testsuites> or <testsuite>",
                    other.map(|(name, _)| name).unwrap_or_default()
                ),
            ));
        }
    }
    Ok(cases)
}

/// Keeps the root element's name (and whether it has a `tests` count), and whether a
/// `<testsuite>` was seen.
fn note_element(
    e: &BytesStart<'_>,
    root: &mut Option<(String, bool)>,
    suites: &mut bool,
) -> Result<(), String> {
    let local = e.local_name();
    let name: &str = local.as_ref();
    if root.is_none() {
        *root = Some((name.to_string(), attribute(e, "tests")?.is_some()));
    }
    *suites |= name == "testsuite";
    Ok(())
}

fn open(
    e: &BytesStart<'_>,
    current: &mut Option<TestCase>,
    child: &mut Option<Child>,
    body: &mut String,
    empty: bool,
) -> Result<(), String> {
    let name = e.local_name();
    match name.as_ref() {
        "testcase" => {
            let attr = |key: &str| attribute(e, key);
            let time = attr("time")?
                .and_then(|t| t.trim().parse::<f64>().ok())
                .filter(|t| t.is_finite() && *t >= 0.0)
                .unwrap_or(0.0);
            let mut case = TestCase {
                file: attr("file")?,
                classname: attr("classname")?.unwrap_or_default(),
                name: attr("name")?.unwrap_or_default(),
                time,
                outcome: Outcome::Passed,
                message: None,
                reruns: Vec::new(),
            };
            // gtest marks skipped tests on the testcase itself.
            if attr("result")?.as_deref() == Some("skipped") {
                case.outcome = Outcome::Skipped;
            }
            *current = Some(case);
        }
        kind @ ("failure" | "error" | "skipped" | "rerun") => {
            let Some(case) = current.as_mut() else {
                return Ok(());
            };
            let message = attribute(e, "message")?;
            if kind == "rerun" {
                case.reruns.push(message.unwrap_or_default());
                *child = (!empty).then_some(Child::Rerun);
            } else {
                let outcome = match kind {
                    "failure" => Outcome::Failed,
                    "error" => Outcome::Error,
                    _ => Outcome::Skipped,
                };
                // A failure outranks an error, which outranks a skip.
                let rank = |o: Outcome| match o {
                    Outcome::Failed => 3,
                    Outcome::Error => 2,
                    Outcome::Skipped => 1,
                    Outcome::Passed => 0,
                };
                if rank(outcome) > rank(case.outcome) {
                    case.outcome = outcome;
                    case.message = message;
                }
                *child = (!empty).then_some(Child::Outcome);
            }
            body.clear();
        }
        _ => {
            if current.is_some() && !empty {
                *child = child.or(Some(Child::Other));
            }
        }
    }
    Ok(())
}

fn attribute(e: &BytesStart<'_>, key: &str) -> Result<Option<String>, String> {
    for attr in e.attributes() {
        let attr = attr.map_err(|err| err.to_string())?;
        if attr.key.local_name().as_ref() == key {
            return attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| Some(v.into_owned()))
                .map_err(|err| err.to_string());
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytest_reports_with_reruns_read() {
        let xml = r#"<?xml version='1.0' encoding='utf-8'?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="TestFlaky" name="test_a" file="test_flaky.py" time="0.010" />
<testcase classname="TestFlaky" name="test_flaky" file="test_flaky.py" time="0.001"><rerun message="AssertionError: 0 not greater than 0">Traceback &lt;here&gt;
AssertionError</rerun></testcase>
<testcase classname="TestFlaky" name="test_bad" file="test_flaky.py" time="0.5"><failure message="assert 1 == 2">long
text</failure><rerun message="first">x</rerun></testcase>
<testcase classname="TestFlaky" name="test_skip" time="0"><skipped message="no CUDA" type="pytest.skip"/></testcase>
</testsuite></testsuites>"#;
        let cases = parse(xml).unwrap();
        assert_eq!(cases.len(), 4);
        assert_eq!(cases[0].outcome, Outcome::Passed);
        assert_eq!(cases[0].id(), "TestFlaky.test_a");
        assert_eq!(cases[1].reruns, ["AssertionError: 0 not greater than 0"]);
        assert_eq!(cases[1].outcome, Outcome::Passed);
        assert_eq!(cases[2].outcome, Outcome::Failed);
        assert_eq!(cases[2].message.as_deref(), Some("assert 1 == 2"));
        assert_eq!(cases[2].time, 0.5);
        assert_eq!(cases[3].outcome, Outcome::Skipped);
        assert_eq!(cases[3].message.as_deref(), Some("no CUDA"));
    }

    #[test]
    fn gtest_reports_read() {
        let xml = r#"<testsuites><testsuite name="NeedsCuda" tests="2">
<testcase name="SkipsWithoutDevice" status="run" result="skipped" time="0" classname="NeedsCuda"><skipped message="no CUDA device visible"/></testcase>
<testcase name="Works" status="run" result="completed" time="0.002" classname="Plain"><failure message="x.cpp:3&#x0A;Expected equality" type=""><![CDATA[x.cpp:3
Expected equality]]></failure></testcase>
</testsuite></testsuites>"#;
        let cases = parse(xml).unwrap();
        assert_eq!(cases[0].outcome, Outcome::Skipped);
        assert_eq!(cases[1].outcome, Outcome::Failed);
        assert_eq!(
            cases[1].message.as_deref(),
            Some("x.cpp:3\nExpected equality")
        );
    }

    #[test]
    fn bad_reports_are_errors_not_panics() {
        let good =
            r#"<testsuites><testsuite><testcase name="a" time="1"/></testsuite></testsuites>"#;
        for bad in [
            "",
            "   ",
            "not xml at all",
            &good[..good.len() / 2],
            "<testsuites><testcase name=\"a\"",
            "<testsuites></testsuite>",
            "<a><b></a></b>",
            "<testsuites><testcase name=\"&bogus;\"/></testsuites>",
            "<testsuites><testcase name='a' name='b'/></testsuites>",
            &"<a>".repeat(100),
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        // Odd but well-formed: read, with safe defaults.
        let odd = parse(
            r#"<testsuite><testcase time="NaN"/><testcase time="-1" name="x"/><failure/></testsuite>"#,
        )
        .unwrap();
        assert_eq!(odd.len(), 2);
        assert!(odd.iter().all(|c| c.time == 0.0));
    }

    #[test]
    fn a_missing_file_and_a_huge_one_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read(&dir.path().join("nope.xml")).unwrap_err().to_string();
        assert!(missing.contains("nope.xml"), "{missing}");
        let truncated = dir.path().join("t.xml");
        std::fs::write(&truncated, "<testsuites><testsuite><testcase name=\"a\">").unwrap();
        let err = read(&truncated).unwrap_err().to_string();
        assert!(err.contains("t.xml") && err.contains("truncated"), "{err}");
    }

    #[test]
    fn xml_that_is_not_a_test_report_is_refused() {
        for (xml, why) in [
            ("<foo/>", "its root element is <foo>"),
            (
                "<?xml version='1.0'?><html><body>502</body></html>",
                "its root element is <html>",
            ),
            ("<testsuites/>", "an empty <testsuites>"),
            ("<testsuites>\n</testsuites>", "an empty <testsuites>"),
        ] {
            let err = parse(xml).unwrap_err().1;
            assert!(err.contains(why), "{xml}: {err}");
        }
        // Reports of no tests, as pytest and gtest write them, are still reports.
        for xml in [
            r#"<testsuites><testsuite name="pytest" tests="0"/></testsuites>"#,
            r#"<testsuites tests="0" failures="0" name="AllTests"></testsuites>"#,
            r#"<testsuite tests="0"/>"#,
        ] {
            assert_eq!(parse(xml).unwrap(), [], "{xml}");
        }
    }
}
