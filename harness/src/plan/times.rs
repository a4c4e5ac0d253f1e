//! Expected seconds per test file, from PyTorch's test-times JSON
//! (`build environment → test config → file → seconds`), looked up as run_test.py does
//! (research §4.4): the job is `JOB_NAME` cut at " / test (", else `BUILD_ENVIRONMENT`;
//! then `TEST_CONFIG` under that job, else under `default`, else `default/default`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File → expected seconds, for one job and test config.
pub type FileTimes = BTreeMap<String, f64>;

#[derive(Debug, thiserror::Error)]
pub enum TimesError {
    #[error("cannot read test times {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}:{column}: not PyTorch's test-times JSON ({message}); expected {{\"<build env>\": {{\"<test config>\": {{\"<file>\": seconds}}}}}}"
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path} has no times for job `{job}` config `{config}` and no `default` entry to fall back on"
    )]
    NoEntry {
        path: PathBuf,
        job: String,
        config: String,
    },
}

/// Which entry of the file to use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobKey {
    pub job: String,
    pub config: String,
}

impl JobKey {
    /// From `JOB_NAME`, `BUILD_ENVIRONMENT` and `TEST_CONFIG`.
    pub fn from_env() -> JobKey {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        JobKey::new(
            &var("JOB_NAME"),
            &var("BUILD_ENVIRONMENT"),
            &var("TEST_CONFIG"),
        )
    }

    pub fn new(job_name: &str, build_environment: &str, test_config: &str) -> JobKey {
        let job = match job_name.split_once(" / test (") {
            _ if job_name.is_empty() => build_environment,
            Some((job, _)) => job,
            None => job_name,
        };
        JobKey {
            job: job.to_string(),
            config: test_config.to_string(),
        }
    }
}

type Data = BTreeMap<String, BTreeMap<String, FileTimes>>;

pub fn load(path: &Path, key: &JobKey) -> Result<FileTimes, TimesError> {
    let text = std::fs::read_to_string(path).map_err(|source| TimesError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, key, path)
}

/// The times of `key` in test-times JSON read from `path`.
pub fn parse(text: &str, key: &JobKey, path: &Path) -> Result<FileTimes, TimesError> {
    let data: Data = serde_json::from_str(text).map_err(|e| TimesError::Malformed {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let times = lookup(&data, key).ok_or_else(|| TimesError::NoEntry {
        path: path.to_path_buf(),
        job: key.job.clone(),
        config: key.config.clone(),
    })?;
    // Times are durations: a negative or non-finite one would poison the planner.
    Ok(times
        .iter()
        .filter(|(_, t)| t.is_finite() && **t >= 0.0)
        .map(|(k, t)| (k.clone(), *t))
        .collect())
}

fn lookup<'d>(data: &'d Data, key: &JobKey) -> Option<&'d FileTimes> {
    let default = data.get("default");
    data.get(&key.job)
        .and_then(|configs| configs.get(&key.config))
        .or_else(|| default.and_then(|d| d.get(&key.config)))
        .or_else(|| default.and_then(|d| d.get("default")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Data {
        serde_json::from_str(
            r#"{
                "linux-jammy-py3.10-gcc11": {"default": {"test_nn": 265.5}, "distributed": {"distributed/test_c10d_gloo": 900.0}},
                "default": {"default": {"test_nn": 100.0}, "slow": {"test_nn": 5000.0}}
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn the_job_comes_from_job_name_before_build_environment() {
        let key = JobKey::new(
            "linux-jammy-py3.10-gcc11 / test (default, 1, 5, linux.2xlarge)",
            "other",
            "default",
        );
        assert_eq!(key.job, "linux-jammy-py3.10-gcc11");
        assert_eq!(JobKey::new("", "linux-x", "default").job, "linux-x");
    }

    #[test]
    fn lookup_falls_back_as_run_test_does() {
        let d = data();
        let hit = JobKey::new("", "linux-jammy-py3.10-gcc11", "distributed");
        assert_eq!(
            lookup(&d, &hit).unwrap()["distributed/test_c10d_gloo"],
            900.0
        );
        // Unknown job: the config under `default`.
        let slow = JobKey::new("", "unknown-env", "slow");
        assert_eq!(lookup(&d, &slow).unwrap()["test_nn"], 5000.0);
        // Unknown job and config (or no TEST_CONFIG): default/default.
        let none = JobKey::new("", "unknown-env", "");
        assert_eq!(lookup(&d, &none).unwrap()["test_nn"], 100.0);
    }

    #[test]
    fn malformed_and_missing_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("times.json");
        std::fs::write(&bad, "{\"env\": {\"default\": {\"test_nn\": \"fast\"}}}").unwrap();
        let err = load(&bad, &JobKey::default()).unwrap_err().to_string();
        assert!(err.contains("times.json:1:"), "{err}");
        let missing = load(&dir.path().join("nope.json"), &JobKey::default()).unwrap_err();
        assert!(missing.to_string().contains("nope.json"));
        let no_default = dir.path().join("riscv.json");
        std::fs::write(
            &no_default,
            "{\"riscv\": {\"default\": {\"test_nn\": 1.0}}}",
        )
        .unwrap();
        let err = load(&no_default, &JobKey::new("", "x86", "default")).unwrap_err();
        assert!(err.to_string().contains("no `default` entry"), "{err}");
    }

    #[test]
    fn the_real_ci_data_loads() {
        // PyTorch's CI times for one build environment (tests/fixtures/README.md); the
        // figures were counted from the file with python.
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch-test-times.json");
        let env = "linux-jammy-cuda13.0-py3.10-gcc11";
        let times = load(&path, &JobKey::new("", env, "default")).unwrap();
        assert_eq!(times.len(), 799);
        assert_eq!(times["test_ops"], 5268.485745501122);
        assert_eq!(times["test_nn"], 185.4631415912549);
        let distributed = load(&path, &JobKey::new("", env, "distributed")).unwrap();
        assert_eq!(distributed.len(), 268);
        assert_eq!(
            distributed["distributed/test_c10d_gloo"],
            1505.1052429676056
        );
    }
}
