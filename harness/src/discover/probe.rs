//! What a Python environment offers (pytest, pytest-rerunfailures), found by starting
//! the interpreter once and cached under `target/`, so a run of a thousand cases starts
//! Python for the probe once, not a thousand times.
//!
//! The cache entry remembers the modification times of the interpreter's `sys.path`
//! folders: installing or removing a package changes one of them, which makes the
//! entry stale and the next case probes again.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

const PROBE: &str = r#"
import importlib.util as u, json, os, sys
dist = None
if u.find_spec("torch") is not None:
    try:
        import torch.distributed as d
        ok = d.is_available()
        dist = {"available": ok}
        for name in ("gloo", "nccl", "mpi", "ucc"):
            check = getattr(d, "is_%s_available" % name, None)
            dist[name] = bool(ok and check is not None and check())
    except Exception as e:
        dist = {"available": False, "error": 1}
print(json.dumps({
    "pytest": u.find_spec("pytest") is not None,
    "rerunfailures": u.find_spec("pytest_rerunfailures") is not None,
    "version": "%d.%d.%d" % sys.version_info[:3],
    "paths": sorted({p for p in sys.path if p and os.path.isdir(p)}),
    "distributed": dist,
}))
"#;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonEnv {
    pub pytest: bool,
    pub rerunfailures: bool,
    pub version: String,
    paths: Vec<String>,
    /// What torch.distributed offers (`available`, `gloo`, `nccl`, `mpi`, `ucc`), or
    /// None when torch is not installed.
    #[serde(default)]
    pub distributed: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

impl PythonEnv {
    /// Whether torch.distributed has `backend` (`test` needs only torch.distributed).
    pub fn has_backend(&self, backend: &str) -> Result<(), String> {
        let Some(dist) = &self.distributed else {
            return Err("torch is not installed in this interpreter".into());
        };
        let yes = |key: &str| dist.get(key).and_then(serde_json::Value::as_bool) == Some(true);
        if !yes("available") {
            return Err("torch.distributed is not available in this interpreter".into());
        }
        if backend != "test" && !yes(backend) {
            return Err(format!("torch.distributed has no {backend} backend here"));
        }
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct CacheEntry {
    python: PathBuf,
    env: PythonEnv,
    stamps: Vec<(String, u128)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(
        "cannot start the interpreter `{python}`: {source}; set PYTHON to a Python 3 interpreter"
    )]
    Start {
        python: PathBuf,
        source: std::io::Error,
    },
    #[error("the interpreter `{python}` failed its probe ({status}): {stderr}")]
    Failed {
        python: PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("the interpreter `{python}` printed an unreadable probe result: {source}")]
    Unreadable {
        python: PathBuf,
        source: serde_json::Error,
    },
}

/// The environment of `python`, from the cache when it is still fresh.
pub fn python_env(python: &Path, cache_dir: &Path) -> Result<PythonEnv, ProbeError> {
    let cache_file = cache_dir.join(format!(
        "python-{:016x}.json",
        crate::util::hash::stable_hash(&python.to_string_lossy())
    ));
    if let Some(entry) = std::fs::read(&cache_file)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<CacheEntry>(&bytes).ok())
        .filter(|e| e.python == python && e.stamps == crate::util::fs::stamps(&e.env.paths))
    {
        return Ok(entry.env);
    }
    let env = run_probe(python)?;
    let entry = CacheEntry {
        python: python.to_path_buf(),
        stamps: crate::util::fs::stamps(&env.paths),
        env: env.clone(),
    };
    crate::util::fs::write_cache(&cache_file, &entry);
    Ok(env)
}

fn run_probe(python: &Path) -> Result<PythonEnv, ProbeError> {
    let output = crate::launch::process::output(Command::new(python).args(["-c", PROBE])).map_err(
        |source| ProbeError::Start {
            python: python.to_path_buf(),
            source,
        },
    )?;
    if !output.status.success() {
        return Err(ProbeError::Failed {
            python: python.to_path_buf(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    serde_json::from_slice(&output.stdout).map_err(|source| ProbeError::Unreadable {
        python: python.to_path_buf(),
        source,
    })
}
