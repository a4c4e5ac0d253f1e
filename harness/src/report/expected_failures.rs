//! PyTorch's dynamo and inductor expected-failure and skip lists (research §9): folders
//! under `test/` holding one empty file per test, named `<Class>.<test>`, so git merges
//! of the lists never conflict.

use crate::report::junit::{Outcome, TestCase};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub const FOLDERS: [&str; 5] = [
    "dynamo_expected_failures",
    "dynamo_skips",
    "inductor_expected_failures",
    "inductor_skips",
    "compiled_autograd_skips",
];

/// Which compiled mode a run tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Dynamo,
    Inductor,
}

impl Family {
    pub fn expected_failures(self) -> &'static str {
        match self {
            Family::Dynamo => "dynamo_expected_failures",
            Family::Inductor => "inductor_expected_failures",
        }
    }

    pub fn skips(self) -> &'static str {
        match self {
            Family::Dynamo => "dynamo_skips",
            Family::Inductor => "inductor_skips",
        }
    }
}

/// The entries of one list folder (missing folder: empty).
pub fn entries(test_dir: &Path, folder: &str) -> BTreeSet<String> {
    std::fs::read_dir(test_dir.join(folder))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Everything wrong with the lists, by PyTorch's rules: each entry an empty file named
/// `Class.test`, and no test both expected to fail and skipped.
pub fn check(test_dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for folder in FOLDERS {
        for name in entries(test_dir, folder) {
            let path = test_dir.join(folder).join(&name);
            let parts: Vec<&str> = name.split('.').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                problems.push(format!(
                    "{}: invalid test name {name:?}: expected `<Class>.<test_name>`",
                    path.display()
                ));
            }
            match std::fs::metadata(&path) {
                Ok(m) if !m.is_file() => problems.push(format!("{}: not a file", path.display())),
                Ok(m) if m.len() != 0 => problems.push(format!(
                    "{}: not empty ({} bytes): entries are empty files",
                    path.display(),
                    m.len()
                )),
                _ => {}
            }
        }
    }
    for family in [Family::Dynamo, Family::Inductor] {
        let failures = entries(test_dir, family.expected_failures());
        let skips = entries(test_dir, family.skips());
        for both in failures.intersection(&skips) {
            problems.push(format!(
                "{both} is in both {} and {}: keep one",
                family.expected_failures(),
                family.skips()
            ));
        }
    }
    problems
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Expected failures that passed: remove.
    pub remove_expected: BTreeSet<String>,
    /// New failures: add as expected failures.
    pub add_expected: BTreeSet<String>,
    /// Skips whose test passed: remove.
    pub remove_skips: BTreeSet<String>,
}

/// What a compiled-mode run implies for the lists, from its test reports.
pub fn update(test_dir: &Path, family: Family, tests: &[TestCase]) -> Update {
    let expected = entries(test_dir, family.expected_failures());
    let skips = entries(test_dir, family.skips());
    let mut update = Update::default();
    for test in tests {
        let id = test.id();
        let message = test.message.as_deref().unwrap_or("").to_lowercase();
        let failed = matches!(test.outcome, Outcome::Failed | Outcome::Error);
        let unexpected_success = failed && message.contains("unexpected success");
        let passing_skip = test.outcome == Outcome::Skipped
            && message.contains("this test passed, maybe we can remove");
        if unexpected_success && expected.contains(&id) {
            update.remove_expected.insert(id);
        } else if failed && !unexpected_success && !expected.contains(&id) && !skips.contains(&id) {
            update.add_expected.insert(id);
        } else if passing_skip && skips.contains(&id) {
            update.remove_skips.insert(id);
        }
    }
    update
}

/// Applies an update: removes and creates the entry files. Returns the paths touched.
pub fn apply(test_dir: &Path, family: Family, update: &Update) -> std::io::Result<Vec<PathBuf>> {
    let mut touched = Vec::new();
    let expected = test_dir.join(family.expected_failures());
    let skips = test_dir.join(family.skips());
    for id in &update.remove_expected {
        let path = expected.join(id);
        std::fs::remove_file(&path)?;
        touched.push(path);
    }
    for id in &update.remove_skips {
        let path = skips.join(id);
        std::fs::remove_file(&path)?;
        touched.push(path);
    }
    std::fs::create_dir_all(&expected)?;
    for id in &update.add_expected {
        let path = expected.join(id);
        std::fs::write(&path, "")?;
        touched.push(path);
    }
    Ok(touched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn case(id: &str, outcome: Outcome, message: &str) -> TestCase {
        let (classname, name) = id.split_once('.').unwrap();
        TestCase {
            file: None,
            classname: classname.into(),
            name: name.into(),
            time: 0.0,
            outcome,
            message: Some(message.into()),
            reruns: Vec::new(),
        }
    }

    #[test]
    fn valid_lists_pass_and_broken_ones_say_what_is_wrong() {
        let good = tree(&[
            ("dynamo_expected_failures/TestA.test_x", ""),
            ("dynamo_skips/TestA.test_y", ""),
            ("inductor_skips/TestB.test_z", ""),
        ]);
        assert_eq!(check(good.path()), Vec::<String>::new());
        let bad = tree(&[
            ("dynamo_expected_failures/TestA.test_x", ""),
            ("dynamo_skips/TestA.test_x", ""),
            ("inductor_expected_failures/no_dot", ""),
            ("inductor_skips/A.b.c", ""),
            ("compiled_autograd_skips/TestC.test_w", "not empty"),
        ]);
        let problems = check(bad.path()).join("\n");
        assert!(
            problems.contains("TestA.test_x is in both dynamo_expected_failures and dynamo_skips"),
            "{problems}"
        );
        assert!(problems.contains("\"no_dot\""), "{problems}");
        assert!(problems.contains("\"A.b.c\""), "{problems}");
        assert!(problems.contains("not empty"), "{problems}");
    }

    #[test]
    fn a_run_proposes_additions_and_removals() {
        let dir = tree(&[
            ("dynamo_expected_failures/TestA.test_fixed", ""),
            ("dynamo_expected_failures/TestA.test_still_broken", ""),
            ("dynamo_skips/TestA.test_skip_passes", ""),
        ]);
        let tests = [
            case(
                "TestA.test_fixed",
                Outcome::Failed,
                "Unexpected success, please remove `test/dynamo_expected_failures/TestA.test_fixed`",
            ),
            case(
                "TestA.test_still_broken",
                Outcome::Skipped,
                "expected failure: boom",
            ),
            case(
                "TestA.test_skip_passes",
                Outcome::Skipped,
                "This test passed, maybe we can remove `test/dynamo_skips/TestA.test_skip_passes`",
            ),
            case("TestA.test_new_break", Outcome::Failed, "AssertionError"),
            case("TestA.test_fine", Outcome::Passed, ""),
        ];
        let u = update(dir.path(), Family::Dynamo, &tests);
        assert_eq!(
            u.remove_expected,
            BTreeSet::from(["TestA.test_fixed".to_string()])
        );
        assert_eq!(
            u.add_expected,
            BTreeSet::from(["TestA.test_new_break".to_string()])
        );
        assert_eq!(
            u.remove_skips,
            BTreeSet::from(["TestA.test_skip_passes".to_string()])
        );
        apply(dir.path(), Family::Dynamo, &u).unwrap();
        assert_eq!(
            entries(dir.path(), "dynamo_expected_failures"),
            BTreeSet::from([
                "TestA.test_new_break".to_string(),
                "TestA.test_still_broken".to_string()
            ])
        );
        assert!(entries(dir.path(), "dynamo_skips").is_empty());
        assert!(check(dir.path()).is_empty());
    }
}
