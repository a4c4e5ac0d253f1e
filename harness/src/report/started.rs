//! When a run started, written in its folder by the run's first case: "the newest run"
//! is the one that started last, never the folder changed last (a report written into
//! an old run later must not make it the newest).

use crate::report::record::{RECORD_FILE, Record};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub const STARTED_FILE: &str = "started.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Started {
    /// nextest's run id: a folder reused by a later run (`TORCH_HARNESS_OUT`) is claimed
    /// by that run.
    run_id: Option<String>,
    /// Seconds since the Unix epoch.
    at: f64,
}

/// Records that run `run_id` started at `now` in `run_dir`, unless the folder already
/// holds that run's start.
pub fn mark(run_dir: &Path, run_id: Option<&str>, now: SystemTime) -> std::io::Result<()> {
    let path = run_dir.join(STARTED_FILE);
    if let Some(seen) = read(run_dir)
        && seen.run_id.as_deref() == run_id
    {
        return Ok(());
    }
    let started = Started {
        run_id: run_id.map(String::from),
        at: now
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    };
    let json = serde_json::to_vec(&started).map_err(std::io::Error::other)?;
    crate::util::fs::write_atomic(&path, &json)
}

/// nextest's id of the run that started in `run_dir`, when it ran under nextest.
pub fn run_id(run_dir: &Path) -> Option<String> {
    read(run_dir)?.run_id
}

fn read(run_dir: &Path) -> Option<Started> {
    serde_json::from_slice(&std::fs::read(run_dir.join(STARTED_FILE)).ok()?).ok()
}

/// When the run in `run_dir` started (seconds since the Unix epoch): its start file,
/// else (a run from before start files) its earliest recorded attempt. None for a
/// folder with neither.
pub fn started_at(run_dir: &Path) -> Option<f64> {
    if let Some(started) = read(run_dir) {
        return Some(started.at);
    }
    walkdir::WalkDir::new(run_dir)
        .min_depth(3)
        .max_depth(3)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() == RECORD_FILE)
        .filter_map(|e| Record::read(e.path()).ok()?.span)
        .map(|span| span.started_at)
        .reduce(f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::record::Span;
    use crate::report::verdict::Verdict;
    use std::time::Duration;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn the_first_case_of_a_run_marks_its_start_and_a_new_run_reclaims_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(started_at(dir.path()), None);
        mark(dir.path(), Some("run-a"), at(100)).unwrap();
        mark(dir.path(), Some("run-a"), at(150)).unwrap();
        assert_eq!(started_at(dir.path()), Some(100.0));
        mark(dir.path(), Some("run-b"), at(200)).unwrap();
        assert_eq!(started_at(dir.path()), Some(200.0));
        assert_eq!(run_id(dir.path()).as_deref(), Some("run-b"));
    }

    #[test]
    fn an_older_run_without_a_start_file_starts_at_its_first_attempt() {
        let dir = tempfile::tempdir().unwrap();
        for (case, start) in [("test_a", 70.0), ("test_b", 40.0)] {
            let folder = dir.path().join(case).join("attempt-1");
            std::fs::create_dir_all(&folder).unwrap();
            Record {
                span: Some(Span {
                    started_at: start,
                    ended_at: start + 5.0,
                    slot: None,
                }),
                ..Record::new(case, Verdict::Passed)
            }
            .write(&folder)
            .unwrap();
        }
        assert_eq!(started_at(dir.path()), Some(40.0));
    }
}
