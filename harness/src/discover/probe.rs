//! What a Python environment offers (pytest, pytest-rerunfailures, its version, and
//! what its torch build has: CUDA, LAPACK, torch.distributed), found by starting the
//! interpreter once and cached under `target/`, so a run of a thousand cases starts
//! Python for the probe once, not a thousand times.
//!
//! `TORCH_HARNESS_PROBE` names a JSON file holding the answer instead (the shape of
//! [`PythonEnv`], every field optional): tests and parity checks stub the interpreter
//! and torch build with it, and no Python starts.
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
build = None
if u.find_spec("torch") is not None:
    try:
        import torch
        # What run_test.py's get_selected_tests asks of the build.
        build = {"cuda": torch.version.cuda, "lapack": bool(torch._C.has_lapack)}
        if sys.platform == "win32" and torch.cuda.is_available():
            # common_cuda's SM89OrLater / SM120OrLater, read only where a blocklist uses them.
            build["capability"] = list(torch.cuda.get_device_capability())
    except Exception:
        build = {"error": 1}
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
    "torch": build,
}))
"#;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PythonEnv {
    pub pytest: bool,
    pub rerunfailures: bool,
    /// `3.12.4`.
    pub version: String,
    pub paths: Vec<String>,
    /// What torch.distributed offers (`available`, `gloo`, `nccl`, `mpi`, `ucc`), or
    /// None when torch is not installed.
    pub distributed: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// What the torch build is, or None when torch is not installed.
    pub torch: Option<TorchBuild>,
}

/// The facts about the torch build that run_test.py's selection reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TorchBuild {
    /// `torch.version.cuda`: None on a CPU or ROCm build.
    pub cuda: Option<String>,
    /// `torch._C.has_lapack`.
    pub lapack: bool,
    /// The first GPU's compute capability, probed on Windows only (its blocklist grows
    /// on SM89 and SM120 and later).
    pub capability: Option<(u32, u32)>,
    /// Set when importing torch failed: nothing above is known.
    pub error: Option<u8>,
}

impl PythonEnv {
    /// `(major, minor)` of the interpreter, when its version reads as one.
    pub fn version_tuple(&self) -> Option<(u32, u32)> {
        let mut parts = self.version.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }

    /// The torch build, when torch imported.
    pub fn torch_build(&self) -> Option<&TorchBuild> {
        self.torch.as_ref().filter(|t| t.error.is_none())
    }

    /// Whether torch.distributed is available: None when torch is not installed.
    pub fn distributed_available(&self) -> Option<bool> {
        let dist = self.distributed.as_ref()?;
        Some(dist.get("available").and_then(serde_json::Value::as_bool) == Some(true))
    }

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
    #[error("cannot read {path} (TORCH_HARNESS_PROBE): {message}")]
    Stub { path: PathBuf, message: String },
}

/// The environment of `python`: TORCH_HARNESS_PROBE's answer when it is set, else from
/// the cache when it is still fresh, else by starting the interpreter.
pub fn python_env(python: &Path, cache_dir: &Path) -> Result<PythonEnv, ProbeError> {
    if let Some(path) = std::env::var_os(crate::settings::var::PROBE).filter(|p| !p.is_empty()) {
        return stubbed(Path::new(&path));
    }
    // The probe's text is part of the key, so an entry an older probe wrote (without
    // a field this one asks for) is never read back.
    let cache_file = cache_dir.join(format!(
        "python-{:016x}.json",
        crate::util::hash::stable_hash(&format!("{}\0{PROBE}", python.to_string_lossy()))
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

/// The probe answer a JSON file holds (TORCH_HARNESS_PROBE).
pub fn stubbed(path: &Path) -> Result<PythonEnv, ProbeError> {
    let stub = |message: String| ProbeError::Stub {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| stub(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| stub(e.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stub_answer_needs_only_the_fields_it_sets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("probe.json");
        std::fs::write(
            &path,
            r#"{"version": "3.13.1", "torch": {"cuda": "12.6", "lapack": false},
                "distributed": {"available": false}}"#,
        )
        .unwrap();
        let env = stubbed(&path).unwrap();
        assert_eq!(env.version_tuple(), Some((3, 13)));
        let build = env.torch_build().unwrap();
        assert_eq!(build.cuda.as_deref(), Some("12.6"));
        assert!(!build.lapack);
        assert_eq!(env.distributed_available(), Some(false));
        assert!(!env.pytest);
        std::fs::write(&path, "{\"version\": 3}").unwrap();
        let err = stubbed(&path).unwrap_err().to_string();
        assert!(
            err.contains("probe.json") && err.contains("TORCH_HARNESS_PROBE"),
            "{err}"
        );
    }

    #[test]
    fn no_torch_means_nothing_is_known_of_the_build() {
        let env = PythonEnv {
            version: "3.11.9".into(),
            ..Default::default()
        };
        assert_eq!(env.version_tuple(), Some((3, 11)));
        assert_eq!(env.torch_build(), None);
        assert_eq!(env.distributed_available(), None);
        let broken = PythonEnv {
            torch: Some(TorchBuild {
                error: Some(1),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(broken.torch_build(), None);
    }
}
