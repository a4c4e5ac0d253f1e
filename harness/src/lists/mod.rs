//! PyTorch's disabled and slow test lists (research §4.1, §6.5): where a run takes
//! them from, resolved once per run into the run folder, and handed to common_utils as
//! `--import-disabled-tests=<file>` and `--import-slow-tests=<file>`.
//!
//! The first case of a run resolves them under a lock; every other case of the run
//! reads what it wrote, so all cases see the same lists and a download happens at most
//! once per run (and at most once in three hours, through the cache).

pub mod disabled;
pub mod fetch;

use crate::plan::test_config::TestConfig;
use crate::settings::Settings;
use disabled::{DisabledList, Platforms};
use fetch::{Fetch, Origin};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The variables this module reads.
pub mod var {
    /// A path or http(s) URL of PyTorch's condensed disabled-test list.
    pub const DISABLED: &str = "TORCH_HARNESS_DISABLED_TESTS";
    /// A path or http(s) URL of a slow-test list (`{"test (__main__.Class)": seconds}`).
    pub const SLOW: &str = "TORCH_HARNESS_SLOW_TESTS";
    /// run_test.py's switch for its rerun-disabled-tests mode.
    pub const RERUN_DISABLED: &str = "PYTORCH_TEST_RERUN_DISABLED_TESTS";
    /// Comma-separated issue numbers whose tests run again (run_test.py reads it too).
    pub const REENABLED: &str = "REENABLED_ISSUES";
}

/// Where run_test.py downloads the disabled tests from.
pub const PYTORCH_DISABLED_URL: &str =
    "https://ossci-metrics.s3.amazonaws.com/disabled-tests-condensed.json";

/// Files in `<run>/lists/`.
const DIR: &str = "lists";
const RESOLVED: &str = "resolved.json";
const DISABLED_FILE: &str = "disabled-tests.json";
const SLOW_FILE: &str = "slow-tests.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    File(PathBuf),
    Url(String),
}

impl Source {
    /// An http(s) URL, else a path (relative to `cwd`).
    pub fn parse(value: &str, cwd: &Path) -> Source {
        if value.starts_with("http://") || value.starts_with("https://") {
            Source::Url(value.to_string())
        } else {
            Source::File(cwd.join(value))
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Url(u) => f.write_str(u),
        }
    }
}

/// What a run asks for, from its environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    pub disabled: Option<Source>,
    pub slow: Option<Source>,
    pub reenabled: BTreeSet<String>,
    /// Only disabled tests run, each many times (`PYTORCH_TEST_RERUN_DISABLED_TESTS=1`).
    pub rerun_disabled: bool,
    /// What in the variables cannot be used (a `REENABLED_ISSUES` entry that is not a
    /// number), one line each; the run goes on without it.
    pub warnings: Vec<String>,
}

impl Inputs {
    /// In CI mode (`CI` set, as PyTorch's IS_CI) or rerun-disabled mode the lists are
    /// imported with run_test.py's defaults; a variable set explicitly is imported in
    /// any mode.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>, root: &Path, cwd: &Path) -> Inputs {
        let set = |name: &str| get(name).filter(|v| !v.is_empty());
        let rerun_disabled = set(var::RERUN_DISABLED).is_some_and(|v| v == "1");
        let imports = set("CI").is_some() || rerun_disabled;
        let disabled = match set(var::DISABLED) {
            Some(v) => Some(Source::parse(&v, cwd)),
            None => imports.then(|| Source::Url(PYTORCH_DISABLED_URL.into())),
        };
        let slow = match set(var::SLOW) {
            Some(v) => Some(Source::parse(&v, cwd)),
            None => imports.then(|| Source::File(root.join("test/slow_tests.json"))),
        };
        let (reenabled, bad) = disabled::reenabled_issues(&set(var::REENABLED).unwrap_or_default());
        let warnings = bad
            .iter()
            .map(|entry| {
                format!(
                    "{}: `{entry}` is not an issue number (comma-separated numbers, such as 12345,67890); it re-enables nothing",
                    var::REENABLED
                )
            })
            .collect();
        Inputs {
            disabled,
            slow,
            reenabled,
            rerun_disabled,
            warnings,
        }
    }

    pub fn from_env(root: &Path) -> Inputs {
        let cwd = std::env::current_dir().unwrap_or_else(|_| root.to_path_buf());
        Self::from_lookup(|name| std::env::var(name).ok(), root, &cwd)
    }

    pub fn is_empty(&self) -> bool {
        self.disabled.is_none() && self.slow.is_none()
    }
}

/// What a run hands to common_utils, as resolved once for the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    /// For `--import-disabled-tests=`; an empty list when the source failed.
    pub disabled: Option<PathBuf>,
    /// For `--import-slow-tests=`.
    pub slow: Option<PathBuf>,
    /// One line per list: where it came from and what it holds.
    pub summary: Vec<String>,
    /// Sources that failed; the run goes on without (or with an older copy of) them.
    pub warnings: Vec<String>,
    /// Entries that disable their test on this platform.
    pub disabled_here: usize,
}

/// The run's lists: read from `<run_dir>/lists/` when an earlier case resolved them,
/// else resolved now (under a lock, so concurrent cases resolve once). Never fails:
/// a list that cannot be had becomes a warning.
pub fn for_run(
    inputs: &Inputs,
    run_dir: &Path,
    cache_dir: &Path,
    fetch: &Fetch,
    here: &Platforms,
) -> Imported {
    if inputs.is_empty() {
        return Imported::default();
    }
    let dir = run_dir.join(DIR);
    let lock = std::fs::create_dir_all(&dir).and_then(|()| {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))?;
        file.lock()?;
        Ok(file)
    });
    let lock = match lock {
        Ok(file) => file,
        Err(e) => {
            let mut imported = resolve(inputs, &dir, cache_dir, fetch, here);
            imported
                .warnings
                .push(format!("cannot lock {}: {e}", dir.display()));
            return imported;
        }
    };
    if let Some(done) = read_resolved(run_dir) {
        return done;
    }
    let imported = resolve(inputs, &dir, cache_dir, fetch, here);
    for line in &imported.summary {
        eprintln!("torch-harness: {line}");
    }
    for line in &imported.warnings {
        eprintln!("torch-harness: warning: {line}");
    }
    if let Ok(json) = serde_json::to_vec_pretty(&imported)
        && let Err(e) = crate::util::fs::write_atomic(&dir.join(RESOLVED), &json)
    {
        eprintln!("torch-harness: warning: cannot record the run's lists: {e}");
    }
    drop(lock);
    imported
}

/// The lists of the run this process belongs to, from the environment; the test
/// config's flags for the child (TEST_CONFIG=slow sets PYTORCH_TEST_WITH_SLOW) decide
/// the platform, as common_utils sees it in the child.
pub fn for_this_run(settings: &Settings, config: &TestConfig) -> (Inputs, Imported) {
    let inputs = Inputs::from_env(&settings.root);
    let child = config.child_env("");
    let here = Platforms::detect(|name| {
        child
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .or_else(|| std::env::var(name).ok())
    });
    let imported = for_run(
        &inputs,
        &settings.out_dir,
        &settings.cache_dir(),
        &Fetch::default(),
        &here,
    );
    (inputs, imported)
}

/// What the run in `run_dir` resolved, if it imported lists.
pub fn read_resolved(run_dir: &Path) -> Option<Imported> {
    let bytes = std::fs::read(run_dir.join(DIR).join(RESOLVED)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Resolves the lists into `dir` (no lock, no reuse).
pub fn resolve(
    inputs: &Inputs,
    dir: &Path,
    cache_dir: &Path,
    fetch: &Fetch,
    here: &Platforms,
) -> Imported {
    let mut out = Imported {
        warnings: inputs.warnings.clone(),
        ..Imported::default()
    };
    if let Some(source) = &inputs.disabled {
        let check = |text: &str| {
            DisabledList::parse(text)
                .map(drop)
                .map_err(|e| e.to_string())
        };
        let list = match read(source, cache_dir, fetch, &check) {
            Ok((text, origin)) => {
                if let Some(w) = origin.warning() {
                    out.warnings.push(w);
                }
                // `read` checked that it parses.
                let list = DisabledList::parse(&text).unwrap_or_default();
                let listed = list.entries.len();
                let (list, dropped) = list.without(&inputs.reenabled);
                out.disabled_here = list.disabled_here(here);
                out.summary.push(format!(
                    "disabled tests: {listed} listed by {source} ({}), {dropped} re-enabled by {}, {} disabled on this platform ({})",
                    origin.describe(),
                    var::REENABLED,
                    out.disabled_here,
                    here.names()
                ));
                list
            }
            Err(e) => {
                out.warnings.push(format!(
                    "{e}; no test is disabled in this run (set {} to a file to use a copy)",
                    var::DISABLED
                ));
                DisabledList::default()
            }
        };
        // Written even when empty, so common_utils finds a file and every case agrees.
        out.disabled = write(dir, DISABLED_FILE, &list.to_common_utils_json(), &mut out);
    }
    if let Some(source) = &inputs.slow {
        let check = |text: &str| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
                .map(drop)
                .map_err(|e| e.to_string())
        };
        match read(source, cache_dir, fetch, &check) {
            Ok((text, origin)) => {
                if let Some(w) = origin.warning() {
                    out.warnings.push(w);
                }
                let count =
                    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
                        .map_or(0, |m| m.len());
                out.summary.push(format!(
                    "slow tests: {count} listed by {source} ({})",
                    origin.describe()
                ));
                out.slow = write(dir, SLOW_FILE, text.as_bytes(), &mut out);
            }
            // A checkout without the file (the demo) simply has no slow list.
            Err(e) if matches!(source, Source::File(p) if !p.exists()) => {
                out.summary.push(format!("slow tests: none ({e})"));
            }
            Err(e) => out
                .warnings
                .push(format!("{e}; no test is marked slow by a list in this run")),
        }
    }
    out
}

/// How a list's text was had.
enum Got {
    File,
    Url(Origin),
}

fn read(
    source: &Source,
    cache_dir: &Path,
    fetch: &Fetch,
    check: &dyn Fn(&str) -> Result<(), String>,
) -> Result<(String, Got), String> {
    match source {
        Source::Url(url) => fetch
            .get(url, cache_dir, check)
            .map(|(text, origin)| (text, Got::Url(origin)))
            .map_err(|e| e.to_string()),
        Source::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            check(&text)
                .map_err(|e| format!("{} is not the expected list: {e}", path.display()))?;
            Ok((text, Got::File))
        }
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8], out: &mut Imported) -> Option<PathBuf> {
    let path = dir.join(name);
    match crate::util::fs::write_atomic(&path, bytes) {
        Ok(()) => Some(path),
        Err(e) => {
            out.warnings
                .push(format!("cannot write {}: {e}", path.display()));
            None
        }
    }
}

impl Got {
    fn describe(&self) -> String {
        match self {
            Got::File => "read".into(),
            Got::Url(Origin::Downloaded { attempts }) => {
                format!("downloaded, attempt {attempts}")
            }
            Got::Url(Origin::Cached { age }) => {
                format!("cached {:.0} min ago", age.as_secs_f64() / 60.0)
            }
            Got::Url(Origin::Stale { age, .. }) => {
                format!("a copy from {:.1} h ago", age.as_secs_f64() / 3600.0)
            }
        }
    }

    fn warning(&self) -> Option<String> {
        match self {
            Got::Url(Origin::Stale { error, age }) => Some(format!(
                "{error}; using the copy cached {:.1} h ago",
                age.as_secs_f64() / 3600.0
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn inputs(vars: &[(&str, &str)]) -> Inputs {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        Inputs::from_lookup(
            |k| map.get(k).map(|v| v.to_string()),
            Path::new("/pt"),
            Path::new("/cwd"),
        )
    }

    #[test]
    fn ci_mode_takes_pytorchs_defaults() {
        let ci = inputs(&[("CI", "true")]);
        assert_eq!(ci.disabled, Some(Source::Url(PYTORCH_DISABLED_URL.into())));
        assert_eq!(
            ci.slow,
            Some(Source::File("/pt/test/slow_tests.json".into()))
        );
        assert!(!ci.rerun_disabled);
        assert!(inputs(&[]).is_empty(), "outside CI nothing is imported");
        assert!(inputs(&[("CI", "")]).is_empty(), "an empty CI is unset");
        let rerun = inputs(&[(var::RERUN_DISABLED, "1")]);
        assert!(rerun.rerun_disabled && rerun.disabled.is_some());
    }

    #[test]
    fn variables_name_a_file_or_a_url() {
        let i = inputs(&[
            (var::DISABLED, "lists/d.json"),
            (var::SLOW, "http://127.0.0.1:9/slow.json"),
            (var::REENABLED, "5,6"),
        ]);
        assert_eq!(i.disabled, Some(Source::File("/cwd/lists/d.json".into())));
        assert_eq!(
            i.slow,
            Some(Source::Url("http://127.0.0.1:9/slow.json".into()))
        );
        assert_eq!(i.reenabled.len(), 2);
        assert!(i.warnings.is_empty(), "{:?}", i.warnings);
    }

    #[test]
    fn a_reenabled_entry_that_is_not_a_number_is_named_in_a_warning() {
        let i = inputs(&[("CI", "1"), (var::REENABLED, "abc,7")]);
        assert_eq!(i.reenabled.iter().collect::<Vec<_>>(), ["7"]);
        assert_eq!(i.warnings.len(), 1, "{:?}", i.warnings);
        assert!(
            i.warnings[0].contains("REENABLED_ISSUES"),
            "{:?}",
            i.warnings
        );
        assert!(i.warnings[0].contains("`abc`"), "{:?}", i.warnings);
        // The run's lists carry it, so it is printed where the lists are resolved.
        let dir = tempfile::tempdir().unwrap();
        let only_reenabled = Inputs {
            disabled: Some(Source::File(dir.path().join("missing.json"))),
            ..i.clone()
        };
        let imported = resolve(
            &only_reenabled,
            dir.path(),
            dir.path(),
            &Fetch::default(),
            &Platforms::default(),
        );
        assert!(
            imported.warnings.iter().any(|w| w.contains("`abc`")),
            "{:?}",
            imported.warnings
        );
    }
}
