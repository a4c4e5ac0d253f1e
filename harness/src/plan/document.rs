//! The plan a CI run makes once (in its build job) and ships to every shard: the shard
//! plan, a fingerprint of what it was made from, and each case's expectations. Shards
//! run their part of this one file instead of planning again from their own copy of
//! the times, every case record carries the fingerprint and shard it ran under, and the
//! report over all shards checks the union against the file.

use crate::case::PythonCase;
use crate::plan::times::FileTimes;
use crate::plan::{Plan, PlanConfig, PlanFile};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bumped when the file's meaning changes, so an old reader refuses a new file.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanDocument {
    pub format: u32,
    /// sha256 (hex) of the inputs: the selection, the times and the planning policy.
    pub fingerprint: String,
    pub inputs: Inputs,
    #[serde(flatten)]
    pub plan: Plan,
    /// Every planned case, sorted by name, with what a scorer needs.
    pub cases: Vec<PlannedCase>,
    /// sha256 (hex) of everything above as written: a file edited by hand no longer
    /// matches it and is refused ([`PlanDocument::to_json`] writes it).
    #[serde(default)]
    pub digest: String,
}

/// What the plan was made from, for people; the fingerprint covers all of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    /// The times file read, if any.
    pub times_source: Option<PathBuf>,
    /// sha256 (hex) of the times the planner used.
    pub times_sha256: String,
    /// Files (or configurations, suites) selected for planning.
    pub selected: usize,
    pub threads: usize,
    pub piece_startup_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCase {
    pub name: String,
    /// 1-based.
    pub shard: usize,
    /// Expected seconds on one worker; None when the case has no known time.
    pub seconds: Option<f64>,
    /// Runs alone on its machine (the whole machine, not one worker).
    pub serial: bool,
}

/// The shard a case record ran under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanMark {
    pub fingerprint: String,
    pub shard: usize,
    pub shards: usize,
    /// The plan file as this machine named it, so a report can find it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanDocumentError {
    #[error("cannot read the shard plan {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error(
        "{path}: format {found}, but this harness reads format {FORMAT}; write the plan again with this version's `cargo xtask plan --json`"
    )]
    Format { path: PathBuf, found: u32 },
    #[error(
        "{path}: {why}; a plan file is used as `cargo xtask plan --json` wrote it: run `cargo xtask plan` again for another plan"
    )]
    Edited { path: PathBuf, why: String },
    #[error("{path}: {message}")]
    Shard { path: PathBuf, message: String },
}

impl PlanDocument {
    /// The document of `plan`, made by the planner from `files` under `cfg` and `times`.
    pub fn new(
        plan: Plan,
        files: &[PlanFile],
        cfg: &PlanConfig,
        times: &FileTimes,
        times_source: Option<PathBuf>,
    ) -> PlanDocument {
        let serial = serial_by_case(files);
        let mut cases: Vec<PlannedCase> = plan
            .shards
            .iter()
            .flat_map(|shard| {
                shard.cases.iter().map(|name| PlannedCase {
                    name: name.clone(),
                    shard: shard.shard,
                    seconds: plan.case_seconds.get(name).copied(),
                    serial: serial(name),
                })
            })
            .collect();
        cases.sort_by(|a, b| a.name.cmp(&b.name));
        PlanDocument {
            format: FORMAT,
            fingerprint: fingerprint(files, cfg, times),
            inputs: Inputs {
                times_source,
                times_sha256: sha256_json(times),
                selected: files.len(),
                threads: cfg.threads,
                piece_startup_seconds: cfg.piece_startup_seconds,
            },
            plan,
            cases,
            digest: String::new(),
        }
    }

    /// The file's text, sealed with the digest of its content.
    pub fn to_json(&self) -> String {
        let sealed = PlanDocument {
            digest: self.content_digest(),
            ..self.clone()
        };
        // Strings, integers and finite floats: serialising cannot fail.
        serde_json::to_string_pretty(&sealed).unwrap_or_default()
    }

    /// sha256 of the document without its digest. serde_json writes floats in their
    /// shortest exact form, so a file read back digests the same as when written.
    fn content_digest(&self) -> String {
        sha256_json(&PlanDocument {
            digest: String::new(),
            ..self.clone()
        })
    }

    /// Refuses a document whose content is not what `cargo xtask plan` wrote: a digest
    /// that does not match, or cases that are not exactly its shards' union.
    fn check_sealed(&self) -> Result<(), String> {
        if self.digest.is_empty() {
            return Err("no `digest` field".into());
        }
        if self.digest != self.content_digest() {
            return Err("its content does not match its digest (edited by hand?)".into());
        }
        let mut in_shards: Vec<(&str, usize)> = self
            .plan
            .shards
            .iter()
            .flat_map(|s| s.cases.iter().map(move |c| (c.as_str(), s.shard)))
            .collect();
        let mut listed: Vec<(&str, usize)> = self
            .cases
            .iter()
            .map(|c| (c.name.as_str(), c.shard))
            .collect();
        in_shards.sort_unstable();
        listed.sort_unstable();
        if in_shards != listed {
            let only = |a: &[(&str, usize)], b: &[(&str, usize)]| {
                a.iter()
                    .filter(|x| !b.contains(x))
                    .map(|(c, s)| format!("{c} (shard {s})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(format!(
                "its cases are not its shards' union: in the shards only: [{}]; in `cases` only: [{}]",
                only(&in_shards, &listed),
                only(&listed, &in_shards)
            ));
        }
        if let Some(dup) = in_shards.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(format!("{} is planned twice", dup[0].0));
        }
        Ok(())
    }

    pub fn read(path: &Path) -> Result<PlanDocument, PlanDocumentError> {
        let read_error = |message: String| PlanDocumentError::Read {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| read_error(e.to_string()))?;
        // The format first, so a newer file is refused by name rather than by a field.
        #[derive(Deserialize)]
        struct Head {
            format: Option<u32>,
        }
        let not_a_plan = |e: serde_json::Error| {
            read_error(format!(
                "{e}; expected the JSON of `cargo xtask plan --json`"
            ))
        };
        let head: Head = serde_json::from_str(&text).map_err(not_a_plan)?;
        match head.format {
            Some(FORMAT) => {}
            Some(found) => {
                return Err(PlanDocumentError::Format {
                    path: path.to_path_buf(),
                    found,
                });
            }
            None => {
                return Err(read_error(
                    "no `format` field: not a plan written by `cargo xtask plan --json`".into(),
                ));
            }
        }
        let document: PlanDocument = serde_json::from_str(&text).map_err(not_a_plan)?;
        document
            .check_sealed()
            .map_err(|why| PlanDocumentError::Edited {
                path: path.to_path_buf(),
                why,
            })?;
        Ok(document)
    }

    pub fn shard_count(&self) -> usize {
        self.plan.shards.len()
    }

    /// Shard `shard` of `shards`: the count must be this plan's, so a matrix that grew
    /// without planning again fails instead of running a different cut.
    pub fn shard(
        &self,
        path: &Path,
        shard: usize,
        shards: usize,
    ) -> Result<(PlanMark, &[String]), PlanDocumentError> {
        let error = |message: String| PlanDocumentError::Shard {
            path: path.to_path_buf(),
            message,
        };
        if shards != self.shard_count() {
            return Err(error(format!(
                "shard {shard}/{shards} asked for, but the plan has {} shards; plan again with --shards {shards} or run i/{}",
                self.shard_count(),
                self.shard_count()
            )));
        }
        let cases = self
            .plan
            .shards
            .iter()
            .find(|s| s.shard == shard)
            .map(|s| s.cases.as_slice())
            .ok_or_else(|| error(format!("the plan has no shard {shard}")))?;
        let mark = PlanMark {
            fingerprint: self.fingerprint.clone(),
            shard,
            shards,
            file: Some(path.to_path_buf()),
        };
        Ok((mark, cases))
    }

    /// The shard this machine runs: `TORCH_HARNESS_SHARD` (`i/n`) when given, else the
    /// shard the file selects.
    pub fn selected(
        &self,
        path: &Path,
        shard_var: Option<&str>,
    ) -> Result<(PlanMark, &[String]), PlanDocumentError> {
        let error = |message: String| PlanDocumentError::Shard {
            path: path.to_path_buf(),
            message,
        };
        match shard_var.map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => {
                let (i, n) =
                    parse_shard(text).map_err(|m| error(format!("TORCH_HARNESS_SHARD: {m}")))?;
                self.shard(path, i, n)
            }
            None => {
                let i = self.plan.selected_shard.ok_or_else(|| {
                    error(format!(
                        "the plan selects no shard: set TORCH_HARNESS_SHARD=i/{}",
                        self.shard_count()
                    ))
                })?;
                self.shard(path, i, self.shard_count())
            }
        }
    }
}

/// The plan and shard this process runs under, from `TORCH_HARNESS_PLAN` and
/// `TORCH_HARNESS_SHARD`; None without a plan. The list phase has already refused a
/// plan that cannot be read, so here a failure only costs the record its mark.
pub fn mark_from_env() -> Option<PlanMark> {
    let path = std::env::var_os(crate::settings::var::PLAN).filter(|p| !p.is_empty())?;
    let path = Path::new(&path);
    let shard = std::env::var(crate::settings::var::SHARD).ok();
    let read = PlanDocument::read(path)
        .and_then(|doc| doc.selected(path, shard.as_deref()).map(|(mark, _)| mark));
    match read {
        Ok(mark) => Some(mark),
        Err(e) => {
            eprintln!("torch-harness: {e}");
            None
        }
    }
}

/// `i/n` with 1 <= i <= n.
pub fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| format!("takes i/n, got `{text}`"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|e| format!("`{text}`: {e}"))
    };
    let (i, n) = (number(i)?, number(n)?);
    if n == 0 {
        return Err(format!(
            "`{text}`: a run has at least one shard (i/n with n >= 1, such as 1/1)"
        ));
    }
    if i == 0 || i > n {
        return Err(format!("`{text}`: the shard must be between 1 and {n}"));
    }
    Ok((i, n))
}

/// Whether a planned case runs alone: the plan file it came from (a configuration or a
/// suite by its own name, a Python file or piece by its module).
fn serial_by_case(files: &[PlanFile]) -> impl Fn(&str) -> bool + '_ {
    let by_case: BTreeMap<&str, bool> = files
        .iter()
        .filter_map(|f| Some((f.case.as_deref()?, f.serial)))
        .collect();
    let by_module: BTreeMap<&str, bool> = files
        .iter()
        .filter(|f| f.case.is_none())
        .map(|f| (f.module.as_str(), f.serial))
        .collect();
    move |name: &str| {
        by_case.get(name).copied().unwrap_or_else(|| {
            PythonCase::parse(name)
                .ok()
                .and_then(|c| by_module.get(c.module.as_str()).copied())
                .unwrap_or(false)
        })
    }
}

/// The fingerprint of a plan's inputs. Order-free: the files are sorted first, as the
/// planner's result does not depend on their order either.
pub fn fingerprint(files: &[PlanFile], cfg: &PlanConfig, times: &FileTimes) -> String {
    #[derive(Serialize)]
    struct Selected<'a> {
        name: &'a str,
        seconds: Option<f64>,
        serial: bool,
        splittable: bool,
    }
    #[derive(Serialize)]
    struct Fingerprinted<'a> {
        format: u32,
        selection: Vec<Selected<'a>>,
        times: &'a FileTimes,
        shards: usize,
        threads: usize,
        piece_startup_seconds: f64,
    }
    let mut selection: Vec<Selected> = files
        .iter()
        .map(|f| Selected {
            name: f.case.as_deref().unwrap_or(f.module.as_str()),
            seconds: f.seconds,
            serial: f.serial,
            splittable: f.splittable,
        })
        .collect();
    selection.sort_by(|a, b| a.name.cmp(b.name));
    sha256_json(&Fingerprinted {
        format: FORMAT,
        selection,
        times,
        shards: cfg.shards,
        threads: cfg.threads,
        piece_startup_seconds: cfg.piece_startup_seconds,
    })
}

fn sha256_json(value: &impl Serialize) -> String {
    // Serialising these maps and structs cannot fail (string keys, finite floats).
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    format!("{:x}", Sha256::digest(&bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_shard_is_i_of_n_with_both_at_least_one() {
        assert_eq!(super::parse_shard("2/4"), Ok((2, 4)));
        assert_eq!(super::parse_shard("1/1"), Ok((1, 1)));
        let no_shards = super::parse_shard("1/0").unwrap_err();
        assert!(no_shards.contains("at least one shard"), "{no_shards}");
        assert!(!no_shards.contains("between 1 and 0"), "{no_shards}");
        let past = super::parse_shard("5/4").unwrap_err();
        assert!(past.contains("between 1 and 4"), "{past}");
        let zero = super::parse_shard("0/4").unwrap_err();
        assert!(zero.contains("between 1 and 4"), "{zero}");
        assert!(super::parse_shard("2").unwrap_err().contains("takes i/n"));
    }

    use super::*;
    use crate::plan::fixtures::{cfg, file};
    use crate::plan::plan;

    fn files() -> Vec<PlanFile> {
        vec![
            file("test_ops", Some(2000.0), false),
            PlanFile {
                splittable: false,
                ..file("test_nn", Some(300.0), true)
            },
            file("test_a", Some(40.0), false),
            file("test_new", None, false),
        ]
    }

    fn times() -> FileTimes {
        [("test_ops", 2000.0), ("test_nn", 300.0), ("test_a", 40.0)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    fn document(files: &[PlanFile], shards: usize, times: &FileTimes) -> PlanDocument {
        PlanDocument::new(plan(files, &cfg(shards)), files, &cfg(shards), times, None)
    }

    #[test]
    fn the_fingerprint_follows_every_input_and_nothing_else() {
        let base = document(&files(), 2, &times()).fingerprint;
        assert_eq!(base.len(), 64);
        let mut reordered = files();
        reordered.reverse();
        assert_eq!(document(&reordered, 2, &times()).fingerprint, base);

        let mut fewer = files();
        fewer.pop();
        assert_ne!(document(&fewer, 2, &times()).fingerprint, base, "selection");
        let mut newer = times();
        newer.insert("test_a".into(), 41.0);
        assert_ne!(document(&files(), 2, &newer).fingerprint, base, "times");
        assert_ne!(document(&files(), 3, &times()).fingerprint, base, "shards");
        let mut alone = files();
        alone[2].serial = true;
        assert_ne!(document(&alone, 2, &times()).fingerprint, base, "policy");
    }

    #[test]
    fn every_case_has_its_shard_seconds_and_whether_it_runs_alone() {
        let doc = document(&files(), 2, &times());
        let in_shards: usize = doc.plan.shards.iter().map(|s| s.cases.len()).sum();
        assert_eq!(doc.cases.len(), in_shards);
        let nn = doc.cases.iter().find(|c| c.name == "test_nn").unwrap();
        assert!(nn.serial);
        assert_eq!(nn.seconds, Some(300.0));
        let new = doc.cases.iter().find(|c| c.name == "test_new").unwrap();
        assert_eq!((new.seconds, new.serial), (None, false));
        // test_ops is cut into pieces; each piece is a parallel case with a time.
        let ops: Vec<&PlannedCase> = doc
            .cases
            .iter()
            .filter(|c| c.name.starts_with("test_ops::shard_"))
            .collect();
        assert!(ops.len() >= 2, "{ops:?}");
        assert!(ops.iter().all(|c| !c.serial && c.seconds.unwrap() > 0.0));
        for case in &doc.cases {
            let shard = &doc.plan.shards[case.shard - 1];
            assert!(shard.cases.contains(&case.name), "{}", case.name);
        }
    }

    #[test]
    fn a_written_plan_reads_back_and_selects_its_shards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let doc = document(&files(), 2, &times());
        std::fs::write(&path, doc.to_json()).unwrap();
        let back = PlanDocument::read(&path).unwrap();
        assert_eq!(
            PlanDocument {
                digest: String::new(),
                ..back.clone()
            },
            doc
        );
        let (mark, cases) = back.selected(&path, Some("2/2")).unwrap();
        assert_eq!((mark.shard, mark.shards), (2, 2));
        assert_eq!(mark.fingerprint, doc.fingerprint);
        assert_eq!(cases, doc.plan.shards[1].cases.as_slice());

        let wrong_count = back.selected(&path, Some("1/3")).unwrap_err().to_string();
        assert!(
            wrong_count.contains("plan.json") && wrong_count.contains("has 2 shards"),
            "{wrong_count}"
        );
        let none = back.selected(&path, None).unwrap_err().to_string();
        assert!(none.contains("TORCH_HARNESS_SHARD=i/2"), "{none}");
        let bad = back.selected(&path, Some("3/2")).unwrap_err().to_string();
        assert!(bad.contains("between 1 and 2"), "{bad}");
    }

    #[test]
    fn a_file_that_is_not_a_plan_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, "{\"shards\": [").unwrap();
        let err = PlanDocument::read(&path).unwrap_err().to_string();
        assert!(err.contains("plan.json") && err.contains("line 1"), "{err}");
        std::fs::write(&path, "{\"format\": 99}").unwrap();
        let err = PlanDocument::read(&path).unwrap_err().to_string();
        assert!(err.contains("format 99"), "{err}");
        std::fs::write(&path, "{\"lower_bound_seconds\": 1, \"shards\": []}").unwrap();
        let err = PlanDocument::read(&path).unwrap_err().to_string();
        assert!(err.contains("no `format` field"), "{err}");
    }

    #[test]
    fn a_plan_edited_by_hand_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let doc = document(&files(), 2, &times());
        let written: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
        // Laid out differently, the same content: accepted.
        std::fs::write(&path, serde_json::to_string(&written).unwrap()).unwrap();
        PlanDocument::read(&path).unwrap();

        let refused = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut value = written.clone();
            edit(&mut value);
            std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
            PlanDocument::read(&path).unwrap_err().to_string()
        };
        // test_nn dropped from its shard and from `cases`.
        let dropped = refused(&|v| {
            for shard in v["shards"].as_array_mut().unwrap() {
                shard["cases"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|c| c != "test_nn");
            }
            v["cases"]
                .as_array_mut()
                .unwrap()
                .retain(|c| c["name"] != "test_nn");
        });
        assert!(
            dropped.contains("plan.json")
                && dropped.contains("does not match its digest")
                && dropped.contains("run `cargo xtask plan` again"),
            "{dropped}"
        );
        // One number changed.
        let retimed = refused(&|v| v["shards"][0]["predicted_seconds"] = 1.0.into());
        assert!(retimed.contains("does not match its digest"), "{retimed}");
        // Written before plans were sealed.
        let unsealed = refused(&|v| {
            v.as_object_mut().unwrap().remove("digest");
        });
        assert!(unsealed.contains("no `digest` field"), "{unsealed}");

        // Sealed, but test_a listed under the other shard than the one that holds it.
        let mut moved = doc.clone();
        let a = moved.cases.iter_mut().find(|c| c.name == "test_a").unwrap();
        let holder = a.shard;
        a.shard = 3 - holder;
        std::fs::write(&path, moved.to_json()).unwrap();
        let err = PlanDocument::read(&path).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "its cases are not its shards' union: in the shards only: [test_a (shard {holder})]; in `cases` only: [test_a (shard {})]",
                3 - holder
            )),
            "{err}"
        );
    }
}
