//! The per-attempt record kept next to the log: what ran, how it ended, where the
//! evidence is. Reports are built from these, so a case that ran always has one.

use crate::launch::Launch;
use crate::verdict::Verdict;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub const RECORD_FILE: &str = "record.json";

#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub case: &'a str,
    pub attempt: u32,
    #[serde(flatten)]
    pub verdict: &'a Verdict,
    pub wall_seconds: f64,
    pub command: String,
    pub cwd: &'a Path,
    /// The devices the case held (`cuda:1`), empty on a CPU machine.
    pub devices: Vec<String>,
    pub log: PathBuf,
    /// XML reports the child wrote during this attempt.
    pub reports: Vec<PathBuf>,
}

impl Record<'_> {
    pub fn write(&self, launch: &Launch) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(launch.dir.join(RECORD_FILE), json)
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
