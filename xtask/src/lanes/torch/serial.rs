//! The torch lane's check of `@serialTest` on the real wheel: from the timeline the test
//! processes wrote (`DEMO_TIMELINE`, demo_testing's pytest plugin), the file that uses
//! common_utils' marker ran its marked test alone under `-m serial` and the rest under
//! `-m "not serial"`, and no other file paid for a second interpreter.

use anyhow::{Context, Result};
use std::path::Path;

/// The e2e-torch file whose test is marked `@serialTest()`.
pub const FILE: &str = "test_large_alloc";
const MARKED: &str = "TestLargeAlloc::test_large_zeros_sum";

/// One test process, as the timeline recorded it.
#[derive(Debug, serde::Deserialize)]
struct Span {
    token: String,
    start: f64,
    end: f64,
    markexpr: String,
    tests: Vec<String>,
}

impl Span {
    fn case(&self) -> &str {
        self.token.split('#').next().unwrap_or_default()
    }
}

/// Runs the checks on `timeline`, reporting each through `check`.
pub fn check(timeline: &Path, check: &mut dyn FnMut(bool, String)) -> Result<()> {
    let text = std::fs::read_to_string(timeline)
        .with_context(|| format!("no timeline at {}", timeline.display()))?;
    let spans: Vec<Span> = text
        .lines()
        .map(|l| serde_json::from_str(l).with_context(|| format!("timeline line {l}")))
        .collect::<Result<_>>()?;
    let of = |expr: &str| -> Vec<&Span> { spans.iter().filter(|s| s.markexpr == expr).collect() };

    let serial = of("serial");
    let ran_marked =
        |s: &&Span| s.case() == FILE && s.tests.len() == 1 && s.tests[0].ends_with(MARKED);
    check(
        serial.len() == 1 && serial.iter().all(ran_marked),
        format!(
            "`-m serial` ran only {FILE}'s @serialTest test, once ({:?})",
            serial
                .iter()
                .map(|s| (s.case(), &s.tests))
                .collect::<Vec<_>>()
        ),
    );
    let rest = of("not serial");
    check(
        rest.len() == 1
            && rest[0].case() == FILE
            && rest[0].tests.len() == 2
            && !rest[0].tests.iter().any(|t| t.ends_with(MARKED)),
        format!(
            "`-m \"not serial\"` ran {FILE}'s other two tests ({:?})",
            rest.iter().map(|s| &s.tests).collect::<Vec<_>>()
        ),
    );
    let overlapped: Vec<&str> = serial
        .iter()
        .flat_map(|a| {
            spans
                .iter()
                .filter(move |b| b.case() != a.case() && a.start < b.end && b.start < a.end)
                .map(Span::case)
        })
        .collect();
    check(
        overlapped.is_empty() && !serial.is_empty(),
        format!(
            "the @serialTest test shared the machine with no other case (overlapped: {overlapped:?})"
        ),
    );
    Ok(())
}
