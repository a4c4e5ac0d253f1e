//! `cargo xtask test --changed [BASE]`: the tests for the working tree's change
//! against BASE (default: the merge base with `origin/main`), picked and ordered by
//! heuristics like PyTorch's target determination:
//! 1. test files the change edits;
//! 2. tests whose paths match the edited source paths (the folders and the file's
//!    name, as PyTorch's Filepath heuristic takes folders);
//! 3. tests historically correlated with the edited files, where the checkout has
//!    PyTorch's `td_heuristic_historical_edited_files.json` / `td_heuristic_profiling.json`
//!    (`{edited file: {test file: score}}`, scores summed over the edited files);
//! 4. cases that failed in the previous run.

use crate::plumbing::order::case_runs;
use crate::plumbing::selection::Resolved;
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// The correlation files PyTorch's CI downloads into `.additional_ci_files`.
const CORRELATION_FILES: [&str; 2] = [
    "td_heuristic_historical_edited_files.json",
    "td_heuristic_profiling.json",
];

/// Folder names too generic to say what a change touches (PyTorch's not_keyword).
const NOT_KEYWORDS: [&str; 11] = [
    "torch", "test", "tests", "util", "utils", "func", "src", "c", "ns", "tools", "internal",
];

/// Why a file was chosen, best first.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum Reason {
    Edited,
    /// Matches keywords of edited paths; how many edited files gave them.
    PathMatch {
        keywords: Vec<String>,
        hits: usize,
    },
    /// Correlated with the edited files; the summed score.
    Correlated {
        score: f64,
    },
    FailedLastRun,
}

impl Reason {
    fn tier(&self) -> u8 {
        match self {
            Reason::Edited => 0,
            Reason::PathMatch { .. } => 1,
            Reason::Correlated { .. } => 2,
            Reason::FailedLastRun => 3,
        }
    }

    /// Higher is stronger within a tier.
    fn strength(&self) -> f64 {
        match self {
            Reason::PathMatch { hits, .. } => *hits as f64,
            Reason::Correlated { score } => *score,
            _ => 0.0,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Reason::Edited => "edited by the change".into(),
            Reason::PathMatch { keywords, hits } => format!(
                "its path matches the edited source paths ({}; {hits} edited file{})",
                keywords.join(", "),
                if *hits == 1 { "" } else { "s" }
            ),
            Reason::Correlated { score } => {
                format!("historically edited together with the changed files (score {score})")
            }
            Reason::FailedLastRun => "failed in the previous run".into(),
        }
    }
}

/// The files a change touches, relative to the checkout root: committed since
/// `base`, staged, unstaged and untracked.
pub fn changed_files(root: &Path, base: Option<&str>) -> Result<(String, Vec<String>)> {
    let git = |args: &[&str]| -> Result<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .context("cannot run git; --changed needs git")?;
        if !out.status.success() {
            bail!(
                "`git {}` in {} failed: {}",
                args.join(" "),
                root.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let base = match base {
        Some(base) => base.to_string(),
        None => git(&["merge-base", "origin/main", "HEAD"])
            .context("no merge base with origin/main: name the base, as in `--changed HEAD~1`")?
            .trim()
            .to_string(),
    };
    let mut files: BTreeSet<String> = git(&["diff", "--name-only", "--relative", &base, "--"])?
        .lines()
        .map(String::from)
        .collect();
    files.extend(
        git(&["ls-files", "--others", "--exclude-standard"])?
            .lines()
            .map(String::from),
    );
    Ok((base, files.into_iter().collect()))
}

/// The keywords of an edited source file: its folders (a leading `_` dropped,
/// generic names left out) and its name without extension.
fn keywords(file: &str) -> Vec<String> {
    let parts: Vec<&str> = file.split('/').collect();
    let Some((name, folders)) = parts.split_last() else {
        return Vec::new();
    };
    let stem = name.split('.').next().unwrap_or("").trim_matches('_');
    folders
        .iter()
        .map(|f| f.trim_start_matches('_'))
        .chain(std::iter::once(stem))
        .filter(|k| k.len() > 1 && !NOT_KEYWORDS.contains(k) && *k != "init")
        .map(String::from)
        .collect()
}

/// Whether a test file's path matches a keyword: as a substring, except `nn`
/// inside `onnx` and `c10` inside `c10d` (PyTorch's custom matchers).
fn matches(test: &str, keyword: &str) -> bool {
    match keyword {
        "nn" => test.replace("onnx", "_").contains("nn"),
        "c10" => test.replace("c10d", "_").contains("c10"),
        k => test.contains(k),
    }
}

/// `{edited file: {test file: score}}` files of the checkout, summed over `edited`.
fn correlated(root: &Path, edited: &[String]) -> Result<BTreeMap<String, f64>> {
    let mut ratings = BTreeMap::new();
    for name in CORRELATION_FILES {
        let path = root.join(".additional_ci_files").join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let table: BTreeMap<String, BTreeMap<String, f64>> = serde_json::from_str(&text)
            .with_context(|| {
                format!(
                    "{} is not `{{edited file: {{test file: score}}}}`",
                    path.display()
                )
            })?;
        for file in edited {
            for (test, score) in table.get(file).into_iter().flatten() {
                *ratings.entry(test.clone()).or_insert(0.0) += score;
            }
        }
    }
    Ok(ratings)
}

/// The reason each selected test file (a TD key: module, or `cpp/<binary>`) is
/// chosen for `edited`; files not chosen are absent.
pub fn choose(
    root: &Path,
    files: &BTreeSet<String>,
    edited: &[String],
    failed_files: &BTreeSet<String>,
) -> Result<BTreeMap<String, Reason>> {
    let mut chosen = BTreeMap::new();
    for file in edited {
        let module = file
            .strip_prefix("test/")
            .and_then(|f| f.strip_suffix(".py"));
        if let Some(module) = module.filter(|m| files.contains(*m)) {
            chosen.insert(module.to_string(), Reason::Edited);
        }
    }
    let sources: Vec<&String> = edited.iter().filter(|f| !f.starts_with("test/")).collect();
    for test in files {
        if chosen.contains_key(test) {
            continue;
        }
        let mut hit_keywords = BTreeSet::new();
        let mut hits = 0;
        for source in &sources {
            let matched: Vec<String> = keywords(source)
                .into_iter()
                .filter(|k| matches(test, k))
                .collect();
            if !matched.is_empty() {
                hits += 1;
                hit_keywords.extend(matched);
            }
        }
        if hits > 0 {
            let keywords = hit_keywords.into_iter().collect();
            chosen.insert(test.clone(), Reason::PathMatch { keywords, hits });
        }
    }
    for (test, score) in correlated(root, edited)? {
        if files.contains(&test) && score > 0.0 && !chosen.contains_key(&test) {
            chosen.insert(test, Reason::Correlated { score });
        }
    }
    for test in failed_files {
        if files.contains(test) && !chosen.contains_key(test) {
            chosen.insert(test.clone(), Reason::FailedLastRun);
        }
    }
    Ok(chosen)
}

/// What `--changed` chose: the cases in the order they start, each with its reason.
pub struct Chosen {
    pub base: String,
    pub edited: Vec<String>,
    pub cases: Vec<(String, Reason)>,
}

/// The dry run's account: the change, then each chosen case and why.
pub fn describe(chosen: &Chosen) -> Vec<String> {
    let mut lines = vec![format!(
        "changed since {}: {} file{}",
        chosen.base,
        chosen.edited.len(),
        if chosen.edited.len() == 1 { "" } else { "s" }
    )];
    lines.extend(chosen.edited.iter().map(|f| format!("  edited: {f}")));
    lines.extend(
        chosen
            .cases
            .iter()
            .map(|(case, reason)| format!("chosen: {case}: {}", reason.describe())),
    );
    lines
}

/// Narrows the selection to the cases the change calls for, and orders them.
pub fn apply(resolved: &mut Resolved, base: Option<&str>, failed: &[String]) -> Result<Chosen> {
    let root = resolved.settings.root.clone();
    let (base, edited) = changed_files(&root, base)?;
    let runs = case_runs(resolved);
    let files: BTreeSet<String> = runs.iter().map(|(_, r)| r.file.clone()).collect();
    let failed_files: BTreeSet<String> = runs
        .iter()
        .filter(|(name, _)| failed.contains(name))
        .map(|(_, r)| r.file.clone())
        .collect();
    let reasons = choose(&root, &files, &edited, &failed_files)?;
    let mut cases: Vec<(String, Reason)> = runs
        .into_iter()
        .filter_map(|(name, run)| Some((name, reasons.get(&run.file)?.clone())))
        .collect();
    cases.sort_by(|(a, ra), (b, rb)| {
        ra.tier()
            .cmp(&rb.tier())
            .then(rb.strength().total_cmp(&ra.strength()))
            .then_with(|| a.cmp(b))
    });
    let keep: BTreeSet<String> = cases.iter().map(|(n, _)| n.clone()).collect();
    resolved.keep_only(&keep);
    Ok(Chosen {
        base,
        edited,
        cases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_folders_and_the_name_minus_generic_words() {
        assert_eq!(
            keywords("torch/nn/modules/linear.py"),
            ["nn", "modules", "linear"]
        );
        assert_eq!(keywords("torch/_inductor/__init__.py"), ["inductor"]);
        assert_eq!(
            keywords("torch/csrc/utils/python_arg.cpp"),
            ["csrc", "python_arg"]
        );
    }

    #[test]
    fn nn_does_not_match_onnx_nor_c10_c10d() {
        assert!(matches("nn/test_pooling", "nn"));
        assert!(!matches("onnx/test_models", "nn"));
        assert!(matches("test_c10", "c10"));
        assert!(!matches("distributed/test_c10d_gloo", "c10"));
        assert!(matches("test_linalg", "linalg"));
    }
}
