//! PyTorch's disabled-test list: the condensed JSON its bots publish
//! (`{"test (__main__.Class)": [issue, url, [platforms]]}`), less the issues a change
//! re-enables (`REENABLED_ISSUES`), written in the shape common_utils reads
//! (`{"test (__main__.Class)": [url, [platforms]]}`), research §4.1 and §6.5.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// One disabled test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The issue number, as text (`"112233"`).
    pub issue: String,
    pub url: String,
    /// Where it is disabled; empty means everywhere.
    pub platforms: Vec<String>,
}

/// The issue number is text in PyTorch's file; a number is accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Issue {
    Text(String),
    Number(u64),
}

/// A condensed entry, or one already processed (an earlier run's file), whose issue
/// is the last part of its URL.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawEntry {
    Condensed(Issue, String, Vec<String>),
    Processed(String, Vec<String>),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisabledList {
    pub entries: BTreeMap<String, Entry>,
}

impl DisabledList {
    pub fn parse(text: &str) -> Result<DisabledList, serde_json::Error> {
        let raw: BTreeMap<String, RawEntry> = serde_json::from_str(text)?;
        let entries = raw
            .into_iter()
            .map(|(test, entry)| {
                let entry = match entry {
                    RawEntry::Condensed(issue, url, platforms) => Entry {
                        issue: match issue {
                            Issue::Text(t) => t,
                            Issue::Number(n) => n.to_string(),
                        },
                        url,
                        platforms,
                    },
                    RawEntry::Processed(url, platforms) => Entry {
                        issue: url.rsplit('/').next().unwrap_or_default().to_string(),
                        url,
                        platforms,
                    },
                };
                (test, entry)
            })
            .collect();
        Ok(DisabledList { entries })
    }

    /// The list without the entries of re-enabled issues, and how many were dropped.
    pub fn without(mut self, reenabled: &BTreeSet<String>) -> (DisabledList, usize) {
        let before = self.entries.len();
        self.entries.retain(|_, e| !reenabled.contains(&e.issue));
        let dropped = before - self.entries.len();
        (self, dropped)
    }

    /// The file common_utils' `--import-disabled-tests` reads.
    pub fn to_common_utils_json(&self) -> Vec<u8> {
        let shaped: BTreeMap<&str, (&str, &[String])> = self
            .entries
            .iter()
            .map(|(test, e)| (test.as_str(), (e.url.as_str(), e.platforms.as_slice())))
            .collect();
        serde_json::to_vec_pretty(&shaped).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// How many entries disable their test on `here`.
    pub fn disabled_here(&self, here: &Platforms) -> usize {
        self.entries.values().filter(|e| e.applies(here)).count()
    }
}

/// `REENABLED_ISSUES`: comma-separated issue numbers. Returns the numbers, and the
/// entries that are not one (`abc`, `#12`), which re-enable nothing and are reported.
pub fn reenabled_issues(value: &str) -> (BTreeSet<String>, Vec<String>) {
    let mut issues = BTreeSet::new();
    let mut bad = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if entry.bytes().all(|b| b.is_ascii_digit()) {
            issues.insert(entry.to_string());
        } else {
            bad.push(entry.to_string());
        }
    }
    (issues, bad)
}

/// The platform names common_utils knows, and whether each holds for this run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Platforms {
    pub linux: bool,
    pub mac: bool,
    pub windows: bool,
    pub rocm: bool,
    pub xpu: bool,
    pub asan: bool,
    pub dynamo: bool,
    pub inductor: bool,
    pub slow: bool,
}

impl Platforms {
    /// This machine, with the test flags read through `get` (the child's environment:
    /// PYTORCH_TEST_WITH_ROCM, _ASAN, _DYNAMO, _INDUCTOR, _AOT_EAGER, _SLOW).
    pub fn detect(get: impl Fn(&str) -> Option<String>) -> Platforms {
        let on = |name: &str| get(name).is_some_and(|v| v == "1");
        let inductor = on("PYTORCH_TEST_WITH_INDUCTOR");
        Platforms {
            linux: cfg!(target_os = "linux"),
            mac: cfg!(target_os = "macos"),
            windows: cfg!(windows),
            rocm: on("PYTORCH_TEST_WITH_ROCM"),
            // common_utils asks torch.xpu; this harness drives CPU, CUDA and ROCm.
            xpu: false,
            asan: on("PYTORCH_TEST_WITH_ASAN"),
            // Inductor and aot_eager imply dynamo, as in common_utils.
            dynamo: on("PYTORCH_TEST_WITH_DYNAMO") || inductor || on("PYTORCH_TEST_WITH_AOT_EAGER"),
            inductor,
            slow: on("PYTORCH_TEST_WITH_SLOW"),
        }
    }

    /// Whether a platform name holds here; `None` for a name common_utils does not know.
    pub fn holds(&self, name: &str) -> Option<bool> {
        Some(match name {
            "linux" => self.linux,
            "mac" | "macos" => self.mac,
            "win" | "windows" => self.windows,
            "rocm" => self.rocm,
            "xpu" => self.xpu,
            "asan" => self.asan,
            "dynamo" | "dynamo_wrapped" => self.dynamo,
            "inductor" => self.inductor,
            "slow" => self.slow,
            _ => return None,
        })
    }

    /// This platform's names, for messages (`linux`, `linux, dynamo`).
    pub fn names(&self) -> String {
        let all = [
            "linux", "mac", "win", "rocm", "xpu", "asan", "dynamo", "inductor", "slow",
        ];
        let here: Vec<&str> = all
            .into_iter()
            .filter(|n| self.holds(n) == Some(true))
            .collect();
        if here.is_empty() {
            "none of PyTorch's platform names".into()
        } else {
            here.join(", ")
        }
    }
}

impl Entry {
    /// common_utils' rule: unknown names are dropped, then an empty list means every
    /// platform, else any listed platform that holds here.
    pub fn applies(&self, here: &Platforms) -> bool {
        let known: Vec<bool> = self
            .platforms
            .iter()
            .filter_map(|p| here.holds(p))
            .collect();
        known.is_empty() || known.into_iter().any(|b| b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONDENSED: &str = r#"{
        "test_a (__main__.TestFoo)": ["101", "https://github.com/pytorch/pytorch/issues/101", ["linux"]],
        "test_b (__main__.TestFoo)": ["102", "https://github.com/pytorch/pytorch/issues/102", ["win", "mac"]],
        "test_c (__main__.TestBar)": [103, "https://github.com/pytorch/pytorch/issues/103", []]
    }"#;

    fn linux() -> Platforms {
        Platforms {
            linux: true,
            ..Platforms::default()
        }
    }

    #[test]
    fn parses_pytorchs_condensed_list() {
        let list = DisabledList::parse(CONDENSED).unwrap();
        assert_eq!(list.entries.len(), 3);
        let c = &list.entries["test_c (__main__.TestBar)"];
        assert_eq!(c.issue, "103");
        assert!(c.platforms.is_empty());
        assert_eq!(
            list.entries["test_b (__main__.TestFoo)"].platforms,
            ["win", "mac"]
        );
    }

    #[test]
    fn writes_the_shape_common_utils_reads_and_reads_it_back() {
        let list = DisabledList::parse(CONDENSED).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&list.to_common_utils_json()).unwrap();
        assert_eq!(
            json["test_a (__main__.TestFoo)"],
            serde_json::json!(["https://github.com/pytorch/pytorch/issues/101", ["linux"]])
        );
        // An earlier run's processed file parses to the same entries (issue from the URL).
        let again =
            DisabledList::parse(&String::from_utf8(list.to_common_utils_json()).unwrap()).unwrap();
        assert_eq!(again, list);
    }

    #[test]
    fn reenabled_issues_drop_their_entries() {
        let (issues, bad) = reenabled_issues("102, 999,,103");
        assert_eq!(issues.len(), 3);
        assert!(bad.is_empty(), "{bad:?}");
        let (list, dropped) = DisabledList::parse(CONDENSED).unwrap().without(&issues);
        assert_eq!(dropped, 2);
        assert_eq!(
            list.entries.keys().collect::<Vec<_>>(),
            ["test_a (__main__.TestFoo)"]
        );
        let (_, none) = DisabledList::parse(CONDENSED)
            .unwrap()
            .without(&reenabled_issues("").0);
        assert_eq!(none, 0);
    }

    #[test]
    fn an_entry_that_is_not_an_issue_number_is_set_apart() {
        let (issues, bad) = reenabled_issues("abc, 102,#103, 1e3");
        assert_eq!(issues.into_iter().collect::<Vec<_>>(), ["102"]);
        assert_eq!(bad, ["abc", "#103", "1e3"]);
    }

    #[test]
    fn platforms_match_as_common_utils_matches_them() {
        let entry = |platforms: &[&str]| Entry {
            issue: "1".into(),
            url: "u".into(),
            platforms: platforms.iter().map(|p| p.to_string()).collect(),
        };
        assert!(entry(&[]).applies(&linux()), "empty: everywhere");
        assert!(entry(&["linux"]).applies(&linux()));
        assert!(!entry(&["win", "mac"]).applies(&linux()));
        assert!(!entry(&["rocm"]).applies(&linux()));
        // Unknown names are dropped; a list of only unknown names is everywhere.
        assert!(!entry(&["nosuch", "win"]).applies(&linux()));
        assert!(entry(&["nosuch"]).applies(&linux()));
        let dynamo = Platforms::detect(|k| (k == "PYTORCH_TEST_WITH_INDUCTOR").then(|| "1".into()));
        assert!(
            entry(&["dynamo_wrapped"]).applies(&dynamo),
            "inductor implies dynamo"
        );
        assert!(entry(&["inductor"]).applies(&dynamo));
        assert!(!entry(&["slow"]).applies(&dynamo));
        let list = DisabledList::parse(CONDENSED).unwrap();
        assert_eq!(list.disabled_here(&linux()), 2);
    }

    #[test]
    fn a_list_of_another_shape_is_an_error() {
        assert!(DisabledList::parse(r#"{"test_a (__main__.T)": 3.5}"#).is_err());
        assert!(DisabledList::parse("<html>").is_err());
    }
}
