//! `@serialTest()`: tests that must not share the machine (big memory, 2 GB files,
//! out-of-memory tests). common_utils marks them with pytest's `serial` marker, and
//! run_test.py runs every parallel file once more, alone, with `-m serial`, then the
//! rest with `-m "not serial"` (research §3.10). Here only files that use the marker pay
//! for the second interpreter: the file's source is read at launch and searched for it.

use crate::launch::run_lock::Share;
use std::path::Path;

/// One process run of a case: how it holds the run, and the `-m` expression it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phase {
    pub share: Share,
    pub markexpr: Option<&'static str>,
}

/// How a Python case runs: `alone` for a file that must run alone anyway (it runs whole,
/// without `-m`, as run_test.py runs its serial files), `marked` when its source uses the
/// marker, `pytest` in pytest mode (markers select nothing under unittest, so a marked
/// file runs whole and alone there).
pub fn phases(alone: bool, marked: bool, pytest: bool) -> Vec<Phase> {
    let whole = |share| Phase {
        share,
        markexpr: None,
    };
    match (alone, marked, pytest) {
        (true, _, _) | (false, true, false) => vec![whole(Share::Alone)],
        (false, true, true) => vec![
            Phase {
                share: Share::Alone,
                markexpr: Some("serial"),
            },
            Phase {
                share: Share::Shared,
                markexpr: Some("not serial"),
            },
        ],
        (false, false, _) => vec![whole(Share::Shared)],
    }
}

/// Whether the file at `path` uses the marker; an unreadable file does not (its launch
/// reports the problem).
pub fn file_uses_marker(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|source| uses_marker(&source))
}

/// Whether `source` names `serialTest` or `mark.serial` as whole words. A mention in a
/// comment counts too: it costs one interpreter start that selects nothing (exit code 5,
/// a pass), never a marked test run beside others.
pub fn uses_marker(source: &str) -> bool {
    ["serialTest", "mark.serial"]
        .iter()
        .any(|word| has_word(source, word))
}

fn has_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_found_in_its_spellings() {
        assert!(uses_marker(
            "from torch.testing._internal.common_utils import serialTest\n"
        ));
        assert!(uses_marker("    @serialTest()\n    def test_big(self):\n"));
        assert!(uses_marker("@pytest.mark.serial\ndef test_x():\n"));
        assert!(uses_marker("pytestmark = pytest.mark.serial"));
    }

    #[test]
    fn longer_names_are_not_the_marker() {
        assert!(!uses_marker("import pickle  # serialization\n"));
        assert!(!uses_marker("@pytest.mark.serialization\n"));
        assert!(!uses_marker("def serialTests(): pass\n"));
        assert!(!uses_marker("my_serialTest = 1\n"));
        assert!(!uses_marker("class TestSerialization(TestCase): ...\n"));
    }

    #[test]
    fn only_a_marked_parallel_file_runs_twice() {
        let shared = Phase {
            share: Share::Shared,
            markexpr: None,
        };
        let alone = Phase {
            share: Share::Alone,
            markexpr: None,
        };
        assert_eq!(phases(false, false, true), [shared]);
        assert_eq!(phases(true, false, true), [alone]);
        // A serial file runs whole and alone, marker or not, as run_test.py's phase 1.
        assert_eq!(phases(true, true, true), [alone]);
        assert_eq!(
            phases(false, true, true),
            [
                Phase {
                    share: Share::Alone,
                    markexpr: Some("serial")
                },
                Phase {
                    share: Share::Shared,
                    markexpr: Some("not serial")
                }
            ]
        );
        // Under unittest the marker selects nothing: the whole file runs alone.
        assert_eq!(phases(false, true, false), [alone]);
    }
}
