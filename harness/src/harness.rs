//! The libtest-mimic entry point that `tests/*.rs` call: nextest's harness contract
//! (`--list --format terse [--ignored]`, `<name> --exact --nocapture`) over the cases of
//! one kind.
//!
//! `--exact <name>` parses the name straight into its file: no walk of `test/`, no
//! Python start-up besides the test itself (and a cached environment probe).

use crate::case::PythonCase;
use crate::devices::{Devices, Lease};
use crate::discover::python::{self, Discovered};
use crate::launch::{Launch, Mode, RunContext};
use crate::plan::Plan;
use crate::policy::Policy;
use crate::probe;
use crate::process::{self, Ended, Limits};
use crate::record::{self, Record};
use crate::settings::{Settings, var};
use crate::test_config::TestConfig;
use crate::verdict::Verdict;
use libtest_mimic::{Arguments, Failed, Trial};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The kinds of case, one test binary each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Python,
}

struct Context {
    settings: Settings,
    policy: Policy,
}

pub fn main(kind: Kind) -> ExitCode {
    main_with(kind, Arguments::from_args())
}

pub fn main_with(kind: Kind, args: Arguments) -> ExitCode {
    let settings = Settings::from_env();
    let policy = match Policy::load(&settings.manifests, &settings.root) {
        Ok(policy) => policy,
        Err(e) => return fatal(&e),
    };
    let cx = Arc::new(Context { settings, policy });
    let trials = match exact_name(&args) {
        Some(name) => match exact_trial(kind, &cx, name) {
            Ok(trial) => vec![trial],
            // nextest only asks for names this binary listed, so a miss is an error;
            // `cargo test -- --exact x` asks every binary, so there it is just no match.
            Err(e) if under_nextest() => return fatal(&e),
            Err(e) => {
                eprintln!("torch-harness: {e}");
                match all_trials(kind, &cx) {
                    Ok(trials) => trials,
                    Err(e) => return fatal(&e),
                }
            }
        },
        None => match all_trials(kind, &cx) {
            Ok(trials) => trials,
            Err(e) => return fatal(&e),
        },
    };
    libtest_mimic::run(&args, trials).exit_code()
}

fn fatal(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn under_nextest() -> bool {
    std::env::var_os("NEXTEST").is_some_and(|v| v == "1")
}

fn exact_name(args: &Arguments) -> Option<&str> {
    (args.exact && args.skip.is_empty() && !args.list)
        .then_some(args.filter.as_deref())
        .flatten()
}

#[derive(Debug, thiserror::Error)]
enum LookupError {
    #[error("no case named `{name}`: {reason}")]
    NoSuchCase { name: String, reason: String },
    #[error("no case named `{name}`: {path} does not exist (PYTORCH_ROOT is {root})")]
    NoFile {
        name: String,
        path: std::path::PathBuf,
        root: std::path::PathBuf,
    },
}

fn exact_trial(kind: Kind, cx: &Arc<Context>, name: &str) -> Result<Trial, LookupError> {
    match kind {
        Kind::Python => {
            let case = PythonCase::parse(name).map_err(|e| LookupError::NoSuchCase {
                name: name.into(),
                reason: e.to_string(),
            })?;
            let found =
                python::lookup(&cx.settings.root, &cx.policy, &case).map_err(|e| match e {
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
enum ListError {
    #[error(transparent)]
    Discover(#[from] python::DiscoverError),
    #[error("cannot read the shard plan {path} (TORCH_HARNESS_PLAN): {message}")]
    Plan {
        path: std::path::PathBuf,
        message: String,
    },
    #[error(
        "the shard plan {path} (TORCH_HARNESS_PLAN) names `{case}`, which this checkout lacks: {reason}"
    )]
    PlanCase {
        path: std::path::PathBuf,
        case: String,
        reason: String,
    },
}

fn all_trials(kind: Kind, cx: &Arc<Context>) -> Result<Vec<Trial>, ListError> {
    if let Some(path) = std::env::var_os(var::PLAN).filter(|p| !p.is_empty()) {
        return planned_trials(kind, cx, std::path::Path::new(&path));
    }
    match kind {
        Kind::Python => Ok(python::discover(&cx.settings.root, &cx.policy)?
            .into_iter()
            .map(|found| python_trial(cx, found))
            .collect()),
    }
}

/// The selected shard of a plan file: its cases, and nothing else.
fn planned_trials(
    kind: Kind,
    cx: &Arc<Context>,
    path: &std::path::Path,
) -> Result<Vec<Trial>, ListError> {
    let plan_error = |message: String| ListError::Plan {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| plan_error(e.to_string()))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| plan_error(e.to_string()))?;
    let cases = plan
        .selected_cases()
        .ok_or_else(|| plan_error("it selects no shard (`selected_shard`)".into()))?;
    cases
        .iter()
        .map(|case| {
            exact_trial(kind, cx, case).map_err(|e| ListError::PlanCase {
                path: path.to_path_buf(),
                case: case.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

fn python_trial(cx: &Arc<Context>, found: Discovered) -> Trial {
    let name = found.case.name();
    match found.ignored {
        Some(reason) => Trial::test(name, move || Err(reason.into())).with_ignored_flag(true),
        None => {
            let cx = Arc::clone(cx);
            Trial::test(name, move || run_python(&cx, &found.case))
        }
    }
}

fn run_python(cx: &Context, case: &PythonCase) -> Result<(), Failed> {
    let name = case.name();
    let fail = |what: String| {
        // nextest's JUnit takes the failure's description from this stderr line.
        eprintln!("Error: {name} {what}");
        Failed::from(what)
    };
    let settings = &cx.settings;
    let mode = python_mode(settings).map_err(|e| fail(e.to_string()))?;
    let ctx = RunContext {
        mode,
        ci: std::env::var_os("CI").is_some_and(|v| !v.is_empty()),
        attempt: std::env::var("NEXTEST_ATTEMPT")
            .ok()
            .and_then(|a| a.parse().ok())
            .unwrap_or(1),
        config: TestConfig::from_env(),
        pytest_k: std::env::var(var::PYTEST_K).ok().filter(|k| !k.is_empty()),
    };
    let mut launch =
        Launch::python(case, settings, &cx.policy, &ctx).map_err(|e| fail(e.to_string()))?;
    let lease = lease_devices(settings).map_err(fail)?;
    if let Some(lease) = &lease {
        launch.env.push(lease.env());
    }
    eprintln!("torch-harness: {name}: {}", launch.command_line());
    let expected = expected_seconds(cx, case);
    let limits = Limits {
        timeout: cx.policy.timeouts.limit(expected, ctx.config.is_slow()),
        grace: Duration::from_secs_f64(cx.policy.timeouts.grace_seconds.max(0.0)),
    };
    let finished = process::run(&launch, limits).map_err(|e| fail(e.to_string()))?;
    if finished.leftovers > 0 {
        eprintln!(
            "torch-harness: {name}: ended {} process(es) it left behind",
            finished.leftovers
        );
    }
    let verdict = match finished.ended {
        Some(Ended::TimedOut) => Verdict::TimedOut {
            after_seconds: finished.wall.as_secs_f64(),
            expected_seconds: expected,
        },
        Some(Ended::Interrupted(signal)) => Verdict::Interrupted {
            signal: signal.as_str().to_string(),
        },
        None => Verdict::from_status(finished.status),
    };
    let record = Record {
        case: &name,
        attempt: ctx.attempt,
        verdict: &verdict,
        wall_seconds: finished.wall.as_secs_f64(),
        command: launch.command_line(),
        cwd: &launch.cwd,
        devices: lease.as_ref().map(Lease::names).unwrap_or_default(),
        log: launch.log_path(),
        reports: record::xml_reports(&launch.dir.join("test-reports")),
    };
    if let Err(e) = record.write(&launch) {
        eprintln!("torch-harness: cannot write the record of {name}: {e}");
    }
    if verdict.is_pass() {
        Ok(())
    } else {
        Err(fail(format!(
            "{} (log: {})",
            verdict.describe(),
            launch.log_path().display()
        )))
    }
}

/// One device for the case when the machine has any; waits while all are held.
fn lease_devices(settings: &Settings) -> Result<Option<Lease>, String> {
    let devices = Devices::from_env().map_err(|e| e.to_string())?;
    if devices.is_empty() {
        return Ok(None);
    }
    let hint = std::env::var("NEXTEST_TEST_GLOBAL_SLOT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let locks = settings.target_dir.join("torch-harness/locks");
    devices
        .lease_one(&locks, hint)
        .map(Some)
        .map_err(|e| format!("cannot lease a device under {}: {e}", locks.display()))
}

/// The case's expected seconds: from the shard plan when there is one, else the
/// policy's expected seconds for the file, shared among its pieces.
fn expected_seconds(cx: &Context, case: &PythonCase) -> Option<f64> {
    let name = case.name();
    let planned = std::env::var_os(var::PLAN)
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|bytes| serde_json::from_slice::<Plan>(&bytes).ok())
        .and_then(|plan| plan.case_seconds.get(&name).copied());
    planned.or_else(|| {
        let whole = cx.policy.expected_seconds.get(case.module.as_str())?;
        Some(whole / f64::from(case.piece.map_or(1, |p| p.count)))
    })
}

/// pytest mode when the interpreter has pytest, as PyTorch's runner defaults to;
/// `PYTORCH_TEST_DO_NOT_USE_PYTEST=1` or `TORCH_HARNESS_PYTEST=0` force unittest mode.
fn python_mode(settings: &Settings) -> Result<Mode, probe::ProbeError> {
    let off = |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v == value);
    if off("PYTORCH_TEST_DO_NOT_USE_PYTEST", "1") || off(var::PYTEST, "0") {
        return Ok(Mode::Unittest);
    }
    let env = probe::python_env(&settings.python, &settings.cache_dir())?;
    Ok(if env.pytest {
        Mode::Pytest {
            reruns: env.rerunfailures,
        }
    } else {
        Mode::Unittest
    })
}
