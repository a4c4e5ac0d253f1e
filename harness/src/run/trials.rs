//! Cases as libtest trials: every case of a kind (or a shard plan's), or the one case
//! `--exact` names, each listed as ignored with the reason when it cannot run here.

use super::{Context, Kind, failure};
use crate::case::{CppCase, DistributedCase, PythonCase};
use crate::discover::cpp::{self, DiscoveredCpp};
use crate::discover::distributed::{self, DiscoveredDistributed};
use crate::discover::host::Host;
use crate::discover::python::{self, Discovered};
use crate::handlers::{self, SetUp};
use crate::launch::coverage;
use crate::lists;
use crate::plan::class_runs;
use crate::settings::var;
use libtest_mimic::{Failed, Trial};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub(super) enum LookupError {
    #[error("no case named `{name}`: {reason}")]
    NoSuchCase { name: String, reason: String },
    #[error("no case named `{name}`: {path} does not exist (PYTORCH_ROOT is {root})")]
    NoFile {
        name: String,
        path: std::path::PathBuf,
        root: std::path::PathBuf,
    },
}

pub(super) fn exact_trial(kind: Kind, cx: &Arc<Context>, name: &str) -> Result<Trial, LookupError> {
    match kind {
        Kind::Cpp => {
            let case = CppCase::parse(name).map_err(|e| LookupError::NoSuchCase {
                name: name.into(),
                reason: e.to_string(),
            })?;
            let binary = cpp::tests_dir(&cx.settings.root, &cx.policy).join(&case.binary);
            let placeholder = [cpp::NOT_BUILT, cpp::LIST_FAILED].contains(&case.suite.as_str());
            if !placeholder && !binary.is_file() {
                return Err(LookupError::NoFile {
                    name: name.into(),
                    path: binary,
                    root: cx.settings.root.clone(),
                });
            }
            let ignored = placeholder.then(|| {
                cpp::placeholder_reason(
                    &cx.settings.root,
                    &cx.policy,
                    &cx.settings.cache_dir(),
                    &case.binary,
                )
            });
            Ok(cpp_trial(cx, DiscoveredCpp { case, ignored }))
        }
        Kind::Distributed => {
            let no_case = |reason: String| LookupError::NoSuchCase {
                name: name.into(),
                reason,
            };
            let case = DistributedCase::parse(name).map_err(|e| no_case(e.to_string()))?;
            let backends = distributed_backends(cx).map_err(no_case)?;
            let found = distributed::lookup(&cx.settings.root, &cx.policy, &backends, &case)
                .map_err(no_case)?;
            Ok(distributed_trial(cx, found))
        }
        Kind::Python => {
            let case = PythonCase::parse(name).map_err(|e| LookupError::NoSuchCase {
                name: name.into(),
                reason: e.to_string(),
            })?;
            let found = python::lookup(
                &cx.settings.root,
                &cx.policy,
                &case,
                &Host::detect(&cx.settings),
            )
            .map_err(|e| match e {
                python::LookupError::Missing(path) => LookupError::NoFile {
                    name: name.into(),
                    path,
                    root: cx.settings.root.clone(),
                },
                other => LookupError::NoSuchCase {
                    name: name.into(),
                    reason: other.to_string(),
                },
            })?;
            Ok(python_trial(cx, found))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(super) enum ListError {
    #[error(transparent)]
    Discover(#[from] python::DiscoverError),
    #[error(transparent)]
    Td(#[from] crate::plan::td::TdError),
    #[error("cannot tell which distributed backends run here: {0}")]
    Backends(String),
    #[error("{0} (TORCH_HARNESS_PLAN)")]
    Plan(#[from] crate::plan::document::PlanDocumentError),
    #[error(
        "the shard plan {path} (TORCH_HARNESS_PLAN) names `{case}`, which this checkout lacks: {reason}"
    )]
    PlanCase {
        path: std::path::PathBuf,
        case: String,
        reason: String,
    },
    #[error(
        "TORCH_HARNESS_SHARD={0} names a shard, but TORCH_HARNESS_PLAN names no plan file; set it to the file of `cargo xtask plan --json`"
    )]
    ShardWithoutPlan(String),
}

pub(super) fn all_trials(kind: Kind, cx: &Arc<Context>) -> Result<Vec<Trial>, ListError> {
    if let Some(path) = crate::settings::path_var(var::PLAN) {
        return planned_trials(kind, cx, &path);
    }
    // Running every case where one shard was meant would double the others' work.
    if let Some(shard) = std::env::var(var::SHARD).ok().filter(|s| !s.is_empty()) {
        return Err(ListError::ShardWithoutPlan(shard));
    }
    match kind {
        Kind::Python => {
            let found =
                python::discover(&cx.settings.root, &cx.policy, &Host::detect(&cx.settings))?;
            Ok(class_runs::python(&cx.settings.root, found)?
                .into_iter()
                .map(|found| python_trial(cx, found))
                .collect())
        }
        Kind::Cpp => Ok(
            cpp::discover(&cx.settings.root, &cx.policy, &cx.settings.cache_dir())
                .into_iter()
                .inspect(|found| {
                    // A binary that cannot run is a build problem: say why while listing.
                    if let Some(why) = &found.ignored {
                        eprintln!("torch-harness: {} is ignored: {why}", found.case.name());
                    }
                })
                .map(|found| cpp_trial(cx, found))
                .collect(),
        ),
        Kind::Distributed => {
            let backends = distributed_backends(cx).map_err(ListError::Backends)?;
            let found = distributed::discover(&cx.settings.root, &cx.policy, &backends);
            Ok(class_runs::distributed(&cx.settings.root, found)?
                .into_iter()
                .map(|found| distributed_trial(cx, found))
                .collect())
        }
    }
}

/// Which binary a planned case belongs to: a suite of a C++ binary the checkout has
/// (or expects), a distributed configuration, or else a Python file.
fn kind_of(cx: &Context, name: &str) -> Kind {
    let policy = &cx.policy;
    let distributed = DistributedCase::parse(name).is_ok_and(|c| {
        policy.handler(c.module.as_str()) == Some(crate::policy::Handler::Distributed)
    });
    let cpp = CppCase::parse(name).is_ok_and(|c| {
        policy.cpp.expected_binaries.contains(&c.binary)
            || cpp::tests_dir(&cx.settings.root, policy)
                .join(&c.binary)
                .is_file()
    });
    if distributed {
        Kind::Distributed
    } else if cpp {
        Kind::Cpp
    } else {
        Kind::Python
    }
}

fn distributed_backends(cx: &Context) -> Result<distributed::Backends, String> {
    distributed::backends_here(&cx.settings, &cx.policy)
}

/// The selected shard of a plan file: its cases, and nothing else.
fn planned_trials(
    kind: Kind,
    cx: &Arc<Context>,
    path: &std::path::Path,
) -> Result<Vec<Trial>, ListError> {
    let plan = crate::plan::document::PlanDocument::read(path)?;
    let shard = std::env::var(var::SHARD).ok();
    let (_, cases) = plan.selected(path, shard.as_deref())?;
    cases
        .iter()
        .filter(|case| kind_of(cx, case) == kind)
        .map(|case| {
            exact_trial(kind, cx, case).map_err(|e| ListError::PlanCase {
                path: path.to_path_buf(),
                case: case.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

fn cpp_trial(cx: &Arc<Context>, found: DiscoveredCpp) -> Trial {
    let cx = Arc::clone(cx);
    // run_test.py runs no C++ test when rerunning disabled ones or under coverage.
    let rerun = std::env::var(lists::var::RERUN_DISABLED).is_ok_and(|v| v == "1");
    let ignored = found.ignored.or_else(|| {
        if rerun {
            Some(format!(
                "{}=1 reruns disabled Python tests only",
                lists::var::RERUN_DISABLED
            ))
        } else if crate::mode::RunMode::coverage_on() {
            Some(format!("{} measures Python tests only", coverage::VAR))
        } else {
            None
        }
    });
    trial(found.case.name(), ignored, move || {
        super::cpp::run(&cx, &found.case)
    })
}

fn distributed_trial(cx: &Arc<Context>, found: DiscoveredDistributed) -> Trial {
    let ignored = found.setup.as_ref().err().cloned();
    let cx = Arc::clone(cx);
    trial(found.case.name(), ignored, move || {
        super::distributed::run(&cx, &found)
    })
}

fn python_trial(cx: &Arc<Context>, found: Discovered) -> Trial {
    let module = found.case.module.as_str();
    // A handler's set-up needs tools of the machine too: without them its case is
    // listed as ignored, with what to install.
    let ignored = found.ignored.or_else(|| {
        let setup = SetUp::of(module, cx.policy.handler(module))?;
        let settings = &cx.settings;
        match handlers::tools::interpreter(&settings.python, &settings.cache_dir()) {
            Ok(tools) => {
                handlers::tools::missing(setup, &settings.python, &tools, |v| std::env::var_os(v))
            }
            Err(e) => Some(e),
        }
    });
    let cx = Arc::clone(cx);
    trial(found.case.name(), ignored, move || {
        super::python::run(&cx, &found.case)
    })
}

/// A case as a trial: run by `run`, or, when the case cannot run here, listed as
/// ignored and failing with the reason if it is run anyway.
fn trial(
    name: String,
    ignored: Option<String>,
    run: impl FnOnce() -> Result<(), Failed> + Send + 'static,
) -> Trial {
    match ignored {
        Some(reason) => {
            let case = name.clone();
            Trial::test(name, move || Err(failure(&case, reason))).with_ignored_flag(true)
        }
        None => Trial::test(name, run),
    }
}
