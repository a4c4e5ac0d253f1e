//! Target determination as run_test.py reads it (research §2.6 steps 4 and 8-10):
//! `.additional_ci_files/td_results.json` holds a TestPrioritizations, a score for
//! each TestRun (a test file, or a file restricted to some of its classes). The runs
//! of a file are disjoint and together cover the whole file. Tests run by descending
//! score, ties broken by the run's name; `--enable-td` keeps the top 25 %.
//!
//! Pure functions of the JSON and the selected files, so every machine agrees.

use crate::case::{ClassFilter, is_class_name};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where run_test.py finds the scores, relative to the checkout.
pub const RESULTS_FILE: &str = ".additional_ci_files/td_results.json";

/// The share of the ordered runs that `--enable-td` keeps.
pub const TD_PERCENT: usize = 25;

/// A test file, or some of its classes: run_test.py's TestRun. `classes` None is the
/// whole file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TestRun {
    pub file: String,
    pub classes: Option<ClassFilter>,
}

/// What an operation on two runs of a file leaves: nothing, or some classes.
type Classes = Option<Option<ClassFilter>>;

fn only(set: BTreeSet<String>) -> Classes {
    (!set.is_empty()).then_some(Some(ClassFilter::Only(set)))
}

fn except(set: BTreeSet<String>) -> Classes {
    Some((!set.is_empty()).then_some(ClassFilter::Except(set)))
}

/// The classes both runs cover.
fn intersect(a: &Option<ClassFilter>, b: &Option<ClassFilter>) -> Classes {
    use ClassFilter::{Except, Only};
    match (a, b) {
        (None, x) | (x, None) => Some(x.clone()),
        (Some(Only(a)), Some(Only(b))) => only(a & b),
        (Some(Only(a)), Some(Except(b))) | (Some(Except(b)), Some(Only(a))) => only(a - b),
        (Some(Except(a)), Some(Except(b))) => except(a | b),
    }
}

/// The classes `a` covers and `b` does not.
fn minus(a: &Option<ClassFilter>, b: &Option<ClassFilter>) -> Classes {
    use ClassFilter::{Except, Only};
    match (a, b) {
        (_, None) => None,
        (None, Some(Only(b))) => except(b.clone()),
        (None, Some(Except(b))) => only(b.clone()),
        (Some(Only(a)), Some(Only(b))) => only(a - b),
        (Some(Only(a)), Some(Except(b))) => only(a & b),
        (Some(Except(a)), Some(Only(b))) => except(a | b),
        (Some(Except(a)), Some(Except(b))) => only(b - a),
    }
}

impl TestRun {
    pub fn whole(file: &str) -> TestRun {
        TestRun {
            file: file.to_string(),
            classes: None,
        }
    }

    fn overlaps(&self, other: &TestRun) -> bool {
        self.file == other.file && intersect(&self.classes, &other.classes).is_some()
    }

    /// This run without what `other` covers; None when nothing is left.
    fn without(&self, other: &TestRun) -> Option<TestRun> {
        if self.file != other.file {
            return Some(self.clone());
        }
        minus(&self.classes, &other.classes).map(|classes| TestRun {
            file: self.file.clone(),
            classes,
        })
    }

    /// run_test.py's JSON for a TestRun: `{"test_file", "included"?, "excluded"?}`.
    pub fn to_json(&self) -> TestRunJson {
        let list = |c: &BTreeSet<String>| c.iter().cloned().collect::<Vec<_>>();
        TestRunJson {
            test_file: self.file.clone(),
            included: match &self.classes {
                Some(ClassFilter::Only(c)) => list(c),
                _ => Vec::new(),
            },
            excluded: match &self.classes {
                Some(ClassFilter::Except(c)) => list(c),
                _ => Vec::new(),
            },
        }
    }

    fn from_json(json: TestRunJson) -> Result<TestRun, String> {
        let TestRunJson {
            mut test_file,
            mut included,
            excluded,
        } = json;
        if !included.is_empty() && !excluded.is_empty() {
            return Err(format!(
                "the run of `{test_file}` has both included and excluded classes"
            ));
        }
        // `file::Class` names one class (TestRun's constructor).
        if let Some((file, class)) = test_file.split_once("::") {
            if !included.is_empty() || !excluded.is_empty() {
                return Err(format!(
                    "`{test_file}` names a class and also lists included or excluded classes"
                ));
            }
            included.push(class.to_string());
            test_file = file.to_string();
        }
        if test_file.is_empty() {
            return Err("a run has an empty test_file".into());
        }
        for class in included.iter().chain(&excluded) {
            if !is_class_name(class) {
                return Err(format!(
                    "the run of `{test_file}` names `{class}`, which is not a Python class name"
                ));
            }
        }
        let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>();
        let classes = if !included.is_empty() {
            Some(ClassFilter::Only(set(included)))
        } else if !excluded.is_empty() {
            Some(ClassFilter::Except(set(excluded)))
        } else {
            None
        };
        Ok(TestRun {
            file: test_file,
            classes,
        })
    }
}

/// run_test.py's `str(TestRun)`, the tie-breaker of the order: `file`,
/// `file, A or B`, or `file, not (A or B)`.
impl fmt::Display for TestRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.classes {
            None => f.write_str(&self.file),
            Some(filter) => write!(f, "{}, {}", self.file, filter.pytest_k()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRunJson {
    pub test_file: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ResultsJson {
    #[serde(rename = "_test_scores")]
    test_scores: Vec<(TestRunJson, f64)>,
    #[serde(rename = "_original_tests")]
    original_tests: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TdError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a TestPrioritizations (`{{\"_test_scores\": [[run, score], ...], \"_original_tests\": [...]}}`): {message}"
    )]
    Parse { path: PathBuf, message: String },
}

/// Scores per run: run_test.py's TestPrioritizations. Every file it ranks is covered
/// by its runs exactly once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prioritizations {
    files: BTreeSet<String>,
    scores: BTreeMap<TestRun, f64>,
}

impl Prioritizations {
    /// Reads the checkout's `td_results.json`; None when there is none (run_test.py
    /// then ranks nothing and turns `--enable-td` off).
    pub fn load(root: &Path) -> Result<Option<Prioritizations>, TdError> {
        let path = root.join(RESULTS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(TdError::Read { path, source }),
        };
        Prioritizations::from_json(&text)
            .map(Some)
            .map_err(|message| TdError::Parse { path, message })
    }

    pub fn from_json(text: &str) -> Result<Prioritizations, String> {
        let json: ResultsJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut td = Prioritizations::ranking(json.original_tests);
        // In the file's order: a later run's score wins where runs overlap.
        for (run, score) in json.test_scores {
            td.set_score(TestRun::from_json(run)?, score);
        }
        Ok(td)
    }

    /// Every file whole, with score 0.
    fn ranking(files: impl IntoIterator<Item = String>) -> Prioritizations {
        let files: BTreeSet<String> = files.into_iter().collect();
        let scores = files.iter().map(|f| (TestRun::whole(f), 0.0)).collect();
        Prioritizations { files, scores }
    }

    /// Gives `run` the score, splitting the runs it overlaps so the rest of them keep
    /// theirs (TestPrioritizations.set_test_score).
    fn set_score(&mut self, run: TestRun, score: f64) {
        if !self.files.contains(&run.file) {
            return;
        }
        let overlapping: Vec<TestRun> = self
            .scores
            .keys()
            .filter(|r| **r != run && r.overlaps(&run))
            .cloned()
            .collect();
        for old in overlapping {
            if let Some(old_score) = self.scores.remove(&old)
                && let Some(rest) = old.without(&run)
            {
                self.scores.insert(rest, old_score);
            }
        }
        self.scores.insert(run, score);
    }

    /// Whether it ranks any file; run_test.py turns `--enable-td` off when not.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Ranks exactly `selected`: files it did not know join whole with score 0, files
    /// not selected leave (TestPrioritizations.amend_tests).
    pub fn amend(&mut self, selected: &[String]) {
        let keep: BTreeSet<String> = selected.iter().cloned().collect();
        self.scores.retain(|run, _| keep.contains(&run.file));
        for file in &keep {
            if !self.files.contains(file) {
                self.scores.insert(TestRun::whole(file), 0.0);
            }
        }
        self.files = keep;
    }

    /// The runs by descending score, then by name.
    pub fn ordered(&self) -> Vec<(TestRun, f64)> {
        let mut runs: Vec<(String, &TestRun, f64)> = self
            .scores
            .iter()
            .map(|(run, score)| (run.to_string(), run, *score))
            .collect();
        runs.sort_by(|a, b| {
            b.2.partial_cmp(&a.2)
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.0.cmp(&b.0))
        });
        runs.into_iter().map(|(_, r, s)| (r.clone(), s)).collect()
    }

    /// The top `percent` of the ordered runs and the rest, cut as run_test.py's
    /// `TestPrioritizations.get_top_per_tests` does (tools/testing/target_determination/
    /// heuristics/interface.py): `index = p·n/100 + 1`, `tests[:index], tests[index:]`,
    /// so the run at the cut is kept and the two lists never share a run.
    pub fn top_percent(&self, percent: usize) -> (Vec<TestRun>, Vec<TestRun>) {
        let mut runs: Vec<TestRun> = self.ordered().into_iter().map(|(r, _)| r).collect();
        let cut = (percent * runs.len() / 100 + 1).min(runs.len());
        let exclude = runs.split_off(cut);
        (runs, exclude)
    }

    /// The class filters `file` is split into, when target determination scores some
    /// of its classes apart from the rest; None when it runs whole.
    pub fn class_runs(&self, file: &str) -> Option<Vec<ClassFilter>> {
        let runs: Vec<ClassFilter> = self
            .scores
            .keys()
            .filter(|r| r.file == file)
            .filter_map(|r| r.classes.clone())
            .collect();
        (!runs.is_empty()).then_some(runs)
    }
}

/// run_test.py's CI artifact: `test/test-reports/td_exclusions-<20 hex>.json` holding
/// `{"included": [run, ...], "excluded": [run, ...]}`. Returns the path written.
pub fn write_exclusions(
    root: &Path,
    included: &[TestRun],
    excluded: &[TestRun],
) -> std::io::Result<PathBuf> {
    #[derive(Serialize)]
    struct Exclusions {
        included: Vec<TestRunJson>,
        excluded: Vec<TestRunJson>,
    }
    let json = Exclusions {
        included: included.iter().map(TestRun::to_json).collect(),
        excluded: excluded.iter().map(TestRun::to_json).collect(),
    };
    let bytes = serde_json::to_vec(&json).map_err(std::io::Error::other)?;
    let path = root
        .join("test/test-reports")
        .join(format!("td_exclusions-{}.json", random_hex20()));
    crate::util::fs::write_atomic(&path, &bytes)?;
    Ok(path)
}

/// 20 hex digits (run_test.py's 10 random bytes).
fn random_hex20() -> String {
    use crate::util::hash::random_u64;
    let hex = format!("{:016x}{:016x}", random_u64(), random_u64());
    hex[..20].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn run(file: &str, classes: Option<ClassFilter>) -> TestRun {
        TestRun {
            file: file.into(),
            classes,
        }
    }

    fn names(runs: &[TestRun]) -> Vec<String> {
        runs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn runs_print_as_run_test_py_names_them() {
        assert_eq!(run("test_nn", None).to_string(), "test_nn");
        let only = Some(ClassFilter::Only(set(&["TestB", "TestA"])));
        assert_eq!(run("test_nn", only).to_string(), "test_nn, TestA or TestB");
        let except = Some(ClassFilter::Except(set(&["TestA"])));
        assert_eq!(run("test_nn", except).to_string(), "test_nn, not (TestA)");
    }

    #[test]
    fn set_algebra_matches_the_classes_each_run_covers() {
        // Model each run as the classes it covers out of a universe {A, B, C, D}
        // (D stands for the classes nobody named) and check every operation on it.
        let universe = ["A", "B", "C", "D"];
        let covers = |c: &Option<ClassFilter>| -> BTreeSet<&str> {
            universe
                .iter()
                .copied()
                .filter(|x| match c {
                    None => true,
                    Some(ClassFilter::Only(s)) => s.contains(*x),
                    Some(ClassFilter::Except(s)) => !s.contains(*x),
                })
                .collect()
        };
        let filters: Vec<Option<ClassFilter>> = {
            let subsets = [
                set(&["A"]),
                set(&["B"]),
                set(&["A", "B"]),
                set(&["A", "C"]),
                set(&["A", "B", "C"]),
            ];
            let mut all = vec![None];
            for s in subsets {
                all.push(Some(ClassFilter::Only(s.clone())));
                all.push(Some(ClassFilter::Except(s)));
            }
            all
        };
        for a in &filters {
            for b in &filters {
                let (ca, cb) = (covers(a), covers(b));
                let both: BTreeSet<&str> = ca.intersection(&cb).copied().collect();
                let rest: BTreeSet<&str> = ca.difference(&cb).copied().collect();
                let got_both = intersect(a, b).map(|c| covers(&c)).unwrap_or_default();
                let got_rest = minus(a, b).map(|c| covers(&c)).unwrap_or_default();
                assert_eq!(got_both, both, "{a:?} & {b:?}");
                assert_eq!(got_rest, rest, "{a:?} - {b:?}");
            }
        }
    }

    #[test]
    fn scores_order_by_score_then_name() {
        let td = Prioritizations::from_json(
            r#"{"_test_scores": [[{"test_file": "test_b"}, 0.5], [{"test_file": "test_z"}, 2.0],
                 [{"test_file": "test_y"}, 0.5]],
                "_original_tests": ["test_a", "test_b", "test_c", "test_y", "test_z"]}"#,
        )
        .unwrap();
        let order: Vec<String> = td.ordered().iter().map(|(r, _)| r.to_string()).collect();
        assert_eq!(order, ["test_z", "test_b", "test_y", "test_a", "test_c"]);
    }

    #[test]
    fn a_class_score_splits_its_file() {
        let td = Prioritizations::from_json(
            r#"{"_test_scores": [[{"test_file": "test_nn", "included": ["TestConv"]}, 3.0],
                 [{"test_file": "test_ops::TestCommon"}, 1.0],
                 [{"test_file": "test_ops", "included": ["TestCommon", "TestJit"]}, 2.0]],
                "_original_tests": ["test_nn", "test_ops", "test_torch"]}"#,
        )
        .unwrap();
        let ordered: Vec<(String, f64)> = td
            .ordered()
            .into_iter()
            .map(|(r, s)| (r.to_string(), s))
            .collect();
        // The later run of test_ops covers the earlier one, whose score it replaces.
        let expected = [
            ("test_nn, TestConv", 3.0),
            ("test_ops, TestCommon or TestJit", 2.0),
            ("test_nn, not (TestConv)", 0.0),
            ("test_ops, not (TestCommon or TestJit)", 0.0),
            ("test_torch", 0.0),
        ];
        let expected: Vec<(String, f64)> =
            expected.iter().map(|(n, s)| (n.to_string(), *s)).collect();
        assert_eq!(ordered, expected);
        assert_eq!(
            td.class_runs("test_nn").unwrap(),
            vec![
                ClassFilter::Only(set(&["TestConv"])),
                ClassFilter::Except(set(&["TestConv"]))
            ]
        );
        assert_eq!(td.class_runs("test_torch"), None);
    }

    #[test]
    fn amend_keeps_exactly_the_selected_files() {
        let mut td = Prioritizations::from_json(
            r#"{"_test_scores": [[{"test_file": "test_gone"}, 9.0], [{"test_file": "test_b"}, 1.0]],
                "_original_tests": ["test_gone", "test_b", "test_a"]}"#,
        )
        .unwrap();
        td.amend(&["test_b".into(), "test_a".into(), "test_new".into()]);
        let order: Vec<String> = td.ordered().iter().map(|(r, _)| r.to_string()).collect();
        assert_eq!(order, ["test_b", "test_a", "test_new"]);
    }

    #[test]
    fn the_top_quarter_cuts_as_run_test_py_does() {
        let files: Vec<String> = (0..20).map(|i| format!("test_{i:02}")).collect();
        let td = Prioritizations::ranking(files.clone());
        let (include, exclude) = td.top_percent(25);
        // 25 * 20 / 100 + 1 = 6: the first 6 run and the other 14 are excluded; the run
        // at the cut (test_05) is kept, never excluded too.
        assert_eq!(names(&include), files[..6]);
        assert_eq!(names(&exclude), files[6..]);
        let (all, none) = td.top_percent(100);
        assert_eq!(names(&all), files);
        assert!(none.is_empty());
        let (include, exclude) = Prioritizations::default().top_percent(25);
        assert!(include.is_empty() && exclude.is_empty());
    }

    #[test]
    fn bad_results_are_errors_naming_the_run() {
        for (json, says) in [
            (
                r#"{"_test_scores": [[{"test_file": "a", "included": ["X"], "excluded": ["Y"]}, 1]], "_original_tests": ["a"]}"#,
                "both included and excluded",
            ),
            (
                r#"{"_test_scores": [[{"test_file": "a", "included": ["not a class"]}, 1]], "_original_tests": ["a"]}"#,
                "`not a class`",
            ),
            (r#"{"_original_tests": []}"#, "_test_scores"),
        ] {
            let err = Prioritizations::from_json(json).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn the_exclusions_file_has_run_test_pys_name_and_shape() {
        let dir = tempfile::tempdir().unwrap();
        let inc = [run("test_a", Some(ClassFilter::Only(set(&["TestX"]))))];
        let exc = [run("test_b", None)];
        let path = write_exclusions(dir.path(), &inc, &exc).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(path.parent().unwrap(), dir.path().join("test/test-reports"));
        let hex = name
            .strip_prefix("td_exclusions-")
            .and_then(|n| n.strip_suffix(".json"))
            .unwrap();
        assert!(
            hex.len() == 20 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "included": [{"test_file": "test_a", "included": ["TestX"]}],
                "excluded": [{"test_file": "test_b"}],
            })
        );
    }
}
