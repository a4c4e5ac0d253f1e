//! The per-attempt record kept next to the log: what ran, how it ended, where the
//! evidence is. Reports are built from these, so a case that ran always has one.

use crate::report::verdict::Verdict;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const RECORD_FILE: &str = "record.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub case: String,
    /// The key of the case's file in PyTorch's test-times data (`nn/test_pooling`,
    /// `cpp/test_api`); a file's pieces and configurations share it.
    pub times_key: String,
    /// nextest's attempt number.
    pub attempt: u32,
    #[serde(flatten)]
    pub verdict: Verdict,
    pub wall_seconds: f64,
    /// Processes the attempt ran (the stepcurrent loop reruns failing tests alone).
    pub runs: usize,
    /// Seconds the attempt waited for the run lock (a case running alone, or others to
    /// finish before it could); not part of `wall_seconds`.
    #[serde(default)]
    pub waited_seconds: f64,
    /// The child's command as one shell line, its directory and variables included.
    pub command: String,
    /// The variables that shaped the child (the harness's and PyTorch's switches it
    /// passed on: `PYTHONPATH`, `PYTORCH_TEST_WITH_DYNAMO`, `CUDA_VISIBLE_DEVICES`…).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    pub cwd: PathBuf,
    /// The devices the case held (`cuda:1`), empty on a CPU machine.
    pub devices: Vec<String>,
    pub log: PathBuf,
    /// XML reports the child wrote during this attempt.
    pub reports: Vec<PathBuf>,
    /// Tests that failed, then passed when rerun.
    pub flaky_tests: Vec<String>,
    pub failed_tests: Vec<FailedTest>,
    /// Why the attempt stopped early, or what else it noticed.
    pub note: Option<String>,
    /// One shell line that runs this case again under nextest, with the variables that
    /// shaped this run.
    pub repro: String,
    /// The plan and shard this attempt ran under (`TORCH_HARNESS_PLAN`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::plan::document::PlanMark>,
    /// When the attempt ran and on which worker slot, for the run's timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// Ran in rerun-disabled-tests mode: its reports hold many runs of each disabled test.
    #[serde(default)]
    pub rerun_disabled: bool,
    /// How long the attempt held the run, alone and beside other cases (absent in
    /// records written before it was kept). The report's bound of the rules is built
    /// from it: an `@serialTest` phase runs alone, the rest of its file does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
}

/// Seconds an attempt held the run lock, by how it held it (`launch::run_lock`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Held {
    pub alone: f64,
    pub shared: f64,
}

/// An attempt's place in time: seconds since the Unix epoch, so the attempts of one
/// machine line up; and nextest's global slot (its worker), when nextest ran it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub started_at: f64,
    pub ended_at: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u32>,
}

impl Span {
    /// From `started` to `ended`, on the slot nextest gave this attempt.
    pub fn between(started: std::time::SystemTime, ended: std::time::SystemTime) -> Span {
        let unix = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        };
        Span {
            started_at: unix(started),
            ended_at: unix(ended),
            slot: std::env::var("NEXTEST_TEST_GLOBAL_SLOT")
                .ok()
                .and_then(|s| s.parse().ok()),
        }
    }

    pub fn seconds(&self) -> f64 {
        (self.ended_at - self.started_at).max(0.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedTest {
    /// `Class.test_name`.
    pub test: String,
    pub message: Option<String>,
}

impl Record {
    /// A first attempt of `case` with `verdict` and nothing else known yet: no time,
    /// command, log or reports. Readers (reports, the timeline, the times store) fill in
    /// what they test.
    pub fn new(case: &str, verdict: Verdict) -> Record {
        Record {
            case: case.into(),
            times_key: case.into(),
            attempt: 1,
            verdict,
            wall_seconds: 0.0,
            runs: 1,
            waited_seconds: 0.0,
            command: String::new(),
            env: Default::default(),
            cwd: PathBuf::new(),
            devices: Vec::new(),
            log: PathBuf::new(),
            reports: Vec::new(),
            flaky_tests: Vec::new(),
            failed_tests: Vec::new(),
            note: None,
            repro: String::new(),
            plan: None,
            span: None,
            rerun_disabled: false,
            held: None,
        }
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::util::fs::write_atomic(&dir.join(RECORD_FILE), &json)
    }

    pub fn read(path: &Path) -> Result<Record, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a case record: {e}", path.display()))
    }
}

/// Every `*.xml` under `dir`, sorted.
pub fn xml_reports(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "xml"))
        .map(|e| e.into_path())
        .collect();
    found.sort();
    found
}
