//! run_test.py's `--coverage` (research §2.2): every Python case runs under
//! `coverage run --parallel-mode --source=torch` (the policy's `[coverage] source`), each process writing its own data
//! file into the run folder; at the end of the run they are combined into one report.

use std::path::{Path, PathBuf};
use std::process::Command;

/// run_test.py's switch (its `--coverage` default): any non-empty value.
pub const VAR: &str = "PYTORCH_COLLECT_COVERAGE";

const DIR: &str = "coverage";
/// The interpreter the cases ran under, for combining without knowing the settings.
const PYTHON_FILE: &str = "python";

pub fn enabled() -> bool {
    std::env::var_os(VAR).is_some_and(|v| !v.is_empty())
}

/// `<run>/coverage`: the data files of a run.
pub fn data_dir(run_dir: &Path) -> PathBuf {
    run_dir.join(DIR)
}

/// Notes the run's interpreter beside its data, for [`combine`] without settings.
/// Best effort: without it, combining needs the interpreter named.
pub fn note_python(run_dir: &Path, python: &Path) {
    let _ = crate::util::fs::write_atomic(
        &data_dir(run_dir).join(PYTHON_FILE),
        python.display().to_string().as_bytes(),
    );
}

/// The interpreter arguments that replace `-bb`, and the variable naming the data file;
/// `source` is what is measured (the policy's `[coverage] source`, `torch` for PyTorch).
pub fn wrap(run_dir: &Path, source: &str) -> (Vec<String>, (String, String)) {
    let dir = data_dir(run_dir);
    let mut args: Vec<String> = ["-m", "coverage", "run", "--parallel-mode"]
        .map(String::from)
        .to_vec();
    args.push(format!("--source={source}"));
    let file = (
        "COVERAGE_FILE".to_string(),
        dir.join(".coverage").display().to_string(),
    );
    (args, file)
}

#[derive(Debug)]
pub struct Combined {
    /// The combined data file.
    pub data: PathBuf,
    /// `coverage report`'s text.
    pub report: PathBuf,
    /// `coverage json`'s output.
    pub json: PathBuf,
    /// The TOTAL line of the report.
    pub total: String,
    /// Data files combined.
    pub parts: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    #[error("no coverage data under {0}: did the run use --coverage?")]
    NoData(PathBuf),
    #[error("cannot tell which interpreter to combine with: {0} is missing")]
    NoPython(PathBuf),
    #[error("`{command}` failed: {output}")]
    Tool { command: String, output: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Combines the run's data files into `<run>/coverage/.coverage` and writes its
/// report (`report.txt`) and JSON (`coverage.json`) beside it.
pub fn combine(run_dir: &Path, python: Option<&Path>) -> Result<Combined, CoverageError> {
    let dir = data_dir(run_dir);
    let parts = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(".coverage."))
                .count()
        })
        .unwrap_or(0);
    let data = dir.join(".coverage");
    if parts == 0 && !data.exists() {
        return Err(CoverageError::NoData(dir));
    }
    let python = match python {
        Some(p) => p.to_path_buf(),
        None => {
            let file = dir.join(PYTHON_FILE);
            let text = std::fs::read_to_string(&file).map_err(|_| CoverageError::NoPython(file))?;
            PathBuf::from(text.trim())
        }
    };
    let tool = |args: &[&str]| -> Result<String, CoverageError> {
        let out = crate::launch::process::output(
            Command::new(&python)
                .args(["-m", "coverage"])
                .args(args)
                .env("COVERAGE_FILE", &data)
                .current_dir(&dir),
        )?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(CoverageError::Tool {
                command: format!("{} -m coverage {}", python.display(), args.join(" ")),
                output: format!("{text}{}", String::from_utf8_lossy(&out.stderr)),
            })
        }
    };
    if parts > 0 {
        // Appends to an earlier combination, so combining twice loses nothing.
        tool(&["combine", "--append", dir.to_str().unwrap_or(".")])?;
    }
    let report_text = tool(&["report"])?;
    let report = dir.join("report.txt");
    std::fs::write(&report, &report_text)?;
    let json = dir.join("coverage.json");
    tool(&["json", "-o", json.to_str().unwrap_or("coverage.json")])?;
    let total = report_text
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap_or("")
        .to_string();
    Ok(Combined {
        data,
        report,
        json,
        total,
        parts,
    })
}
