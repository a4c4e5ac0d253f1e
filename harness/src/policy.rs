//! The suite's policy: run_test.py's lists and rules, read from `test-manifests/*.toml`
//! plus an optional overlay in the checkout (`<PYTORCH_ROOT>/torch-harness.toml`).
//!
//! Every file is checked against the schema on its own, so an error names the file,
//! line and key. Layers then merge: lists append, tables merge key by key, and a
//! scalar from a later layer replaces the earlier one.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file in a checkout that extends the policy for that checkout.
pub const OVERLAY_FILE: &str = "torch-harness.toml";

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "no policy files (*.toml) in {0}; set TORCH_HARNESS_MANIFESTS to the test-manifests folder"
    )]
    Empty(PathBuf),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub discovery: Discovery,
    pub cpp: CppRules,
    pub platforms: Platforms,
    #[serde(rename = "RUN_PARALLEL_BLOCKLIST")]
    pub run_parallel_blocklist: Vec<String>,
    #[serde(rename = "RUN_PARALLEL_BLOCKLIST_PREFIXES")]
    pub run_parallel_blocklist_prefixes: Vec<String>,
    #[serde(rename = "CI_SERIAL_LIST")]
    pub ci_serial_list: Vec<String>,
    #[serde(rename = "ONNX_SERIAL_LIST")]
    pub onnx_serial_list: Vec<String>,
    #[serde(rename = "JIT_EXECUTOR_TESTS")]
    pub jit_executor_tests: Vec<String>,
    #[serde(rename = "CORE_TEST_LIST")]
    pub core_test_list: Vec<String>,
    /// Prefixes of the files `--include-cpython-tests` keeps.
    #[serde(rename = "CPYTHON_TESTS")]
    pub cpython_tests: Vec<String>,
    #[serde(rename = "PYTEST_SKIP_RETRIES")]
    pub pytest_skip_retries: Vec<String>,
    #[serde(rename = "CUSTOM_HANDLERS")]
    pub custom_handlers: BTreeMap<String, Handler>,
    #[serde(rename = "DISTRIBUTED_TESTS_CONFIG")]
    pub distributed_tests_config: BTreeMap<String, BackendRule>,
    pub distributed: DistributedRules,
    /// Files left out on some interpreter versions (test-manifests/build.toml).
    pub python_versions: Vec<PythonVersionRule>,
    /// Files left out for what the torch build lacks or is (test-manifests/build.toml).
    pub torch_build: TorchBuildRules,
    pub sharding: Sharding,
    pub timeouts: Timeouts,
    /// Variables set for every case of the checkout (overlay); `{root}` is replaced by
    /// the checkout's absolute path.
    pub environment: BTreeMap<String, String>,
    /// Expected seconds per test module, for files no times file knows yet (overlay).
    pub expected_seconds: BTreeMap<String, f64>,
    pub coverage: Coverage,
}

/// run_test.py's `--coverage`: what `coverage run --source=…` measures.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Coverage {
    /// coverage.py's `--source` (packages or folders, comma-separated): `torch` for
    /// PyTorch; a checkout without torch (the demo) names what its tests import.
    pub source: String,
}

impl Default for Coverage {
    fn default() -> Self {
        Coverage {
            source: "torch".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Discovery {
    pub blocklisted_patterns: Vec<String>,
    pub blocklisted_tests: Vec<String>,
    pub extra_tests: Vec<String>,
    /// List the cases that custom handlers make (doctests, the extension builds) as
    /// PyTorch's own tree does, though the checkout has no `torch/` folder (overlay).
    pub handler_cases: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CppRules {
    pub tests_dir: Option<String>,
    pub non_test_binaries: Vec<String>,
    /// Binaries the checkout should have; one that is missing is listed as ignored
    /// with the reason instead of vanishing (overlay).
    pub expected_binaries: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Platforms {
    pub windows: PlatformRules,
    pub rocm: PlatformRules,
    pub s390x: PlatformRules,
    pub xpu: PlatformRules,
    pub mps: MpsRules,
}

/// `--mps`: the files it runs instead of the selection, and the files that run only
/// with it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MpsRules {
    pub selection: Vec<String>,
    pub mps_only: Vec<String>,
}

/// `3.12`: an interpreter's major and minor version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct PyVersion(pub u32, pub u32);

impl TryFrom<String> for PyVersion {
    type Error = String;
    fn try_from(text: String) -> Result<PyVersion, String> {
        let bad = || format!("`{text}` is not a Python version such as \"3.12\"");
        let (major, minor) = text.split_once('.').ok_or_else(bad)?;
        Ok(PyVersion(
            major.parse().map_err(|_| bad())?,
            minor.parse().map_err(|_| bad())?,
        ))
    }
}

/// Files (prefixes) left out when the interpreter's version is at least `from` and
/// below `below` (either bound may be absent).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonVersionRule {
    pub from: Option<PyVersion>,
    pub below: Option<PyVersion>,
    pub exclude: Vec<String>,
}

impl PythonVersionRule {
    pub fn applies_to(&self, version: PyVersion) -> bool {
        self.from.is_none_or(|f| version >= f) && self.below.is_none_or(|b| version < b)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TorchBuildRules {
    /// Prefixes left out on a CUDA build.
    pub cuda_exclude: Vec<String>,
    /// Prefixes left out when torch.distributed is not available.
    pub no_distributed_exclude: Vec<String>,
    #[serde(rename = "TESTS_REQUIRING_LAPACK")]
    pub tests_requiring_lapack: Vec<String>,
    /// Exact names left out in slow-gradcheck mode.
    #[serde(rename = "TESTS_NOT_USING_GRADCHECK")]
    pub tests_not_using_gradcheck: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformRules {
    pub blocklist: Vec<String>,
    /// Windows: added to the blocklist on a GPU of compute capability 8.9 or later.
    pub sm89_blocklist: Vec<String>,
    /// Windows: added on 12.0 or later.
    pub sm120_blocklist: Vec<String>,
    pub exclude_distributed: bool,
    #[serde(rename = "XPU_TEST")]
    pub xpu_test: Vec<String>,
}

/// What a CUSTOM_HANDLERS entry does with its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handler {
    /// Plain launch plus `--subprocess`.
    Subprocess,
    /// One case per backend and init method.
    Distributed,
    CppExtensionsAot,
    Autoload,
    Openreg,
    Doctests,
    CiSanityCheck,
}

impl Handler {
    pub fn name(self) -> &'static str {
        match self {
            Handler::Subprocess => "subprocess",
            Handler::Distributed => "distributed",
            Handler::CppExtensionsAot => "cpp_extensions_aot",
            Handler::Autoload => "autoload",
            Handler::Openreg => "openreg",
            Handler::Doctests => "doctests",
            Handler::CiSanityCheck => "ci_sanity_check",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackendRule {
    #[serde(rename = "WORLD_SIZE")]
    pub world_size: String,
    pub requires: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistributedRules {
    pub init_methods: Vec<String>,
    /// Backends to treat as available instead of asking torch.distributed (a checkout
    /// whose ranks are not torch's, such as the demo's).
    pub available_backends: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sharding {
    pub split_threshold_seconds: f64,
    pub num_procs_cpu: usize,
    pub num_procs_older_gpu: usize,
    pub piece_startup_seconds: f64,
}

impl Default for Sharding {
    fn default() -> Self {
        Sharding {
            split_threshold_seconds: 600.0,
            num_procs_cpu: 3,
            num_procs_older_gpu: 2,
            piece_startup_seconds: 15.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    pub expected_time_multiplier: f64,
    pub slow_config_multiplier: f64,
    pub floor_seconds: f64,
    pub cpp_seconds: f64,
    pub unknown_time_seconds: Option<f64>,
    pub grace_seconds: f64,
    /// Limit of each build or install step a custom handler runs before its tests.
    pub build_seconds: f64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            expected_time_multiplier: 3.0,
            slow_config_multiplier: 6.0,
            floor_seconds: 1800.0,
            cpp_seconds: 1800.0,
            unknown_time_seconds: None,
            grace_seconds: 5.0,
            build_seconds: 1200.0,
        }
    }
}

impl Timeouts {
    /// An attempt's limit: a multiple of the expected time (larger under a slow
    /// config), never below the floor; for an unknown time, the policy's limit if any.
    pub fn limit(&self, expected: Option<f64>, slow: bool) -> Option<std::time::Duration> {
        let seconds = match expected {
            Some(e) => {
                let factor = if slow {
                    self.slow_config_multiplier
                } else {
                    self.expected_time_multiplier
                };
                (e * factor).max(self.floor_seconds)
            }
            None => self.unknown_time_seconds?,
        };
        std::time::Duration::try_from_secs_f64(seconds).ok()
    }
}

impl Policy {
    /// Loads every `*.toml` of `manifests` (sorted by name), then the checkout's overlay
    /// if it has one.
    pub fn load(manifests: &Path, checkout: &Path) -> Result<Policy, PolicyError> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(manifests)
            .map_err(|source| PolicyError::Io {
                path: manifests.to_path_buf(),
                source,
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        if files.is_empty() {
            return Err(PolicyError::Empty(manifests.to_path_buf()));
        }
        files.sort();
        let overlay = checkout.join(OVERLAY_FILE);
        if overlay.is_file() {
            files.push(overlay);
        }
        Self::from_files(&files)
    }

    pub fn from_files(files: &[PathBuf]) -> Result<Policy, PolicyError> {
        let mut merged = toml::Table::new();
        for path in files {
            let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
                path: path.clone(),
                source,
            })?;
            merge(&mut merged, parse_layer(path, &text)?);
        }
        // Each layer passed the schema, and merging keeps value types, so the
        // merged table passes too; still report it rather than assume it.
        Policy::deserialize(merged).map_err(|e| PolicyError::Invalid {
            path: files.last().cloned().unwrap_or_default(),
            line: 0,
            column: 0,
            message: format!("layers do not combine: {}", e.message()),
        })
    }

    /// True for files run_test.py's `must_serial` keeps off the parallel pool
    /// (research §3.9), leaving out the environment-wide rules.
    pub fn must_serial(&self, module: &str) -> bool {
        module.contains("distributed")
            || self.custom_handlers.contains_key(module)
            || self.is_run_parallel_blocklisted(module)
            || [
                &self.ci_serial_list,
                &self.jit_executor_tests,
                &self.onnx_serial_list,
            ]
            .iter()
            .any(|list| list.iter().any(|m| m == module))
    }

    pub fn is_run_parallel_blocklisted(&self, module: &str) -> bool {
        self.run_parallel_blocklist.iter().any(|m| m == module)
            || self
                .run_parallel_blocklist_prefixes
                .iter()
                .any(|p| module.starts_with(p.as_str()))
    }

    pub fn skips_pytest_retries(&self, module: &str) -> bool {
        self.pytest_skip_retries.iter().any(|m| m == module)
    }

    pub fn handler(&self, module: &str) -> Option<Handler> {
        self.custom_handlers.get(module).copied()
    }
}

/// Parses one file and checks it against the schema, so errors point into that file.
fn parse_layer(path: &Path, text: &str) -> Result<toml::Table, PolicyError> {
    let invalid = |e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map(|span| line_column(text, span.start))
            .unwrap_or((0, 0));
        let key = e
            .span()
            .and_then(|span| key_at(text, span.start))
            .map(|k| format!(" (key `{k}`)"))
            .unwrap_or_default();
        PolicyError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message: format!("{}{key}", e.message().trim_end()),
        }
    };
    let table: toml::Table = toml::from_str(text).map_err(invalid)?;
    toml::from_str::<Policy>(text).map_err(invalid)?;
    Ok(table)
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// The key written on the line of `offset`, if that line is a `key = value` line.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('#')).then(|| key.to_string())
}

fn merge(into: &mut toml::Table, layer: toml::Table) {
    for (key, value) in layer {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (Some(toml::Value::Array(a)), toml::Value::Array(b)) => a.extend(b),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_shipped_manifests_load() {
        let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-manifests");
        let policy = Policy::load(&manifests, Path::new("/nonexistent")).unwrap();
        assert!(
            policy
                .discovery
                .blocklisted_patterns
                .contains(&"jit".to_string())
        );
        assert!(policy.ci_serial_list.contains(&"test_nn".to_string()));
        assert_eq!(
            policy.handler("distributed/test_distributed_spawn"),
            Some(Handler::Distributed)
        );
        assert_eq!(policy.handler("test_cuda_trace"), Some(Handler::Subprocess));
        assert_eq!(
            policy.distributed_tests_config["gloo"].world_size,
            "gpus_or_3"
        );
        assert_eq!(policy.sharding.split_threshold_seconds, 600.0);
        assert!(policy.must_serial("distributed/fsdp/test_fsdp_core"));
        assert!(policy.is_run_parallel_blocklisted("distributed/fsdp/test_fsdp_core"));
        assert!(!policy.must_serial("test_ops"));
        assert!(policy.skips_pytest_retries("test_public_bindings"));
    }

    #[test]
    fn timeouts_scale_with_the_expected_time() {
        let t = Timeouts {
            floor_seconds: 60.0,
            ..Timeouts::default()
        };
        assert_eq!(t.limit(Some(100.0), false).unwrap().as_secs(), 300);
        assert_eq!(t.limit(Some(100.0), true).unwrap().as_secs(), 600);
        assert_eq!(t.limit(Some(1.0), false).unwrap().as_secs(), 60);
        assert_eq!(t.limit(None, false), None);
        let bounded = Timeouts {
            unknown_time_seconds: Some(3600.0),
            ..t
        };
        assert_eq!(bounded.limit(None, false).unwrap().as_secs(), 3600);
    }

    #[test]
    fn layers_append_lists_and_replace_scalars() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.toml",
            "CI_SERIAL_LIST = [\"test_nn\"]\n[sharding]\nsplit_threshold_seconds = 600.0\n",
        );
        let b = write(
            dir.path(),
            "b.toml",
            "CI_SERIAL_LIST = [\"test_slow\"]\n[sharding]\nsplit_threshold_seconds = 60.0\n[expected_seconds]\ntest_slow = 4.0\n",
        );
        let policy = Policy::from_files(&[a, b]).unwrap();
        assert_eq!(policy.ci_serial_list, ["test_nn", "test_slow"]);
        assert_eq!(policy.sharding.split_threshold_seconds, 60.0);
        assert_eq!(policy.expected_seconds["test_slow"], 4.0);
        // Unset tables keep their defaults.
        assert_eq!(policy.timeouts.expected_time_multiplier, 3.0);
    }

    #[test]
    fn a_wrong_type_names_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "scheduling.toml",
            "# comment\nCORE_TEST_LIST = [\"test_nn\"]\nCI_SERIAL_LIST = \"test_nn\"\n",
        );
        let err = Policy::from_files(&[path]).unwrap_err().to_string();
        assert!(err.contains("scheduling.toml:3:"), "{err}");
        assert!(err.contains("CI_SERIAL_LIST"), "{err}");
        assert!(err.contains("expected a sequence"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_an_error_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "discovery.toml",
            "[discovery]\nblocklisted_pattern = [\"jit\"]\n",
        );
        let err = Policy::from_files(&[path]).unwrap_err().to_string();
        assert!(err.contains("discovery.toml:2:"), "{err}");
        assert!(err.contains("blocklisted_pattern"), "{err}");
    }

    #[test]
    fn broken_toml_syntax_is_reported_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "handlers.toml",
            "[CUSTOM_HANDLERS]\ntest_x = \n",
        );
        let err = Policy::from_files(&[path]).unwrap_err().to_string();
        assert!(err.contains("handlers.toml:2:"), "{err}");
    }

    #[test]
    fn an_unknown_handler_kind_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "handlers.toml",
            "[CUSTOM_HANDLERS]\ntest_x = \"teleport\"\n",
        );
        let err = Policy::from_files(&[path]).unwrap_err().to_string();
        assert!(err.contains("handlers.toml:2:"), "{err}");
        assert!(err.contains("teleport"), "{err}");
    }

    #[test]
    fn an_empty_manifest_folder_says_what_to_set() {
        let dir = tempfile::tempdir().unwrap();
        let err = Policy::load(dir.path(), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("TORCH_HARNESS_MANIFESTS"), "{err}");
    }
}
