//! The libtest-mimic entry point that `tests/*.rs` call: nextest's harness contract
//! (`--list --format terse [--ignored]`, `<name> --exact --nocapture`) over the cases of
//! one kind.
//!
//! `--exact <name>` parses the name straight into its file: no walk of `test/`, no
//! Python start-up besides the test itself (and a cached environment probe).

use crate::case::PythonCase;
use crate::case::{CppCase, DistributedCase};
use crate::discover::cpp::{self, DiscoveredCpp};
use crate::discover::distributed::{self, DiscoveredDistributed};
use crate::discover::probe;
use crate::discover::python::{self, Discovered};
use crate::launch::devices::{Devices, Lease};
use crate::launch::process::{Ended, Limits};
use crate::launch::rendezvous::Rendezvous;
use crate::launch::{self, stepcurrent};
use crate::launch::{Launch, Mode, RunContext};
use crate::plan::Plan as ShardPlan;
use crate::plan::test_config::TestConfig;
use crate::policy::Policy;
use crate::report::junit;
use crate::report::record::{self, FailedTest, Record};
use crate::report::verdict::Verdict;
use crate::settings::{Settings, var};
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The kinds of case, one test binary each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Python,
    /// Distributed test files, once per backend and init method.
    Distributed,
    /// C++ gtest binaries, one case per suite.
    Cpp,
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
                format!(
                    "{} is missing or cannot list its tests: see `--list`",
                    binary.display()
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
    #[error("cannot tell which distributed backends run here: {0}")]
    Backends(String),
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
        Kind::Cpp => Ok(
            cpp::discover(&cx.settings.root, &cx.policy, &cx.settings.cache_dir())
                .into_iter()
                .map(|found| cpp_trial(cx, found))
                .collect(),
        ),
        Kind::Distributed => {
            let backends = distributed_backends(cx).map_err(ListError::Backends)?;
            Ok(
                distributed::discover(&cx.settings.root, &cx.policy, &backends)
                    .into_iter()
                    .map(|found| distributed_trial(cx, found))
                    .collect(),
            )
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

fn cpp_trial(cx: &Arc<Context>, found: DiscoveredCpp) -> Trial {
    let cx = Arc::clone(cx);
    trial(found.case.name(), found.ignored, move || {
        run_cpp(&cx, &found.case)
    })
}

fn run_cpp(cx: &Context, case: &CppCase) -> Result<(), Failed> {
    let name = case.name();
    let fail = |what: String| failure(&name, what);
    let settings = &cx.settings;
    let dir = cpp::tests_dir(&settings.root, &cx.policy);
    let ctx = RunContext {
        mode: Mode::Unittest,
        ci: false,
        attempt: std::env::var("NEXTEST_ATTEMPT")
            .ok()
            .and_then(|a| a.parse().ok())
            .unwrap_or(1),
        config: TestConfig::from_env(),
        pytest_k: None,
    };
    let mut launch = Launch::cpp(case, dir.join(&case.binary), dir, settings, ctx.attempt);
    let lease = lease_devices(settings, false).map_err(fail)?;
    if let Some(lease) = &lease {
        launch.env.push(lease.env());
    }
    let plan = Plan {
        launch: &launch,
        times_key: format!("cpp/{}", case.binary),
        lease: lease.as_ref(),
        expected: None,
        timeout: Duration::try_from_secs_f64(cx.policy.timeouts.cpp_seconds).ok(),
        retries: false,
    };
    execute(cx, &ctx, plan)
}

fn distributed_trial(cx: &Arc<Context>, found: DiscoveredDistributed) -> Trial {
    let ignored = found.setup.as_ref().err().cloned();
    let cx = Arc::clone(cx);
    trial(found.case.name(), ignored, move || {
        run_distributed(&cx, &found)
    })
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
    let plan: ShardPlan = serde_json::from_str(&text).map_err(|e| plan_error(e.to_string()))?;
    let cases = plan
        .selected_cases()
        .ok_or_else(|| plan_error("it selects no shard (`selected_shard`)".into()))?;
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

fn python_trial(cx: &Arc<Context>, found: Discovered) -> Trial {
    let cx = Arc::clone(cx);
    trial(found.case.name(), found.ignored, move || {
        run_python(&cx, &found.case)
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

/// Prints nextest's `Error:` line for a failure and turns it into libtest's.
fn failure(name: &str, what: String) -> Failed {
    // nextest's JUnit takes the failure's description from this stderr line.
    eprintln!("Error: {name} {what}");
    Failed::from(what)
}

fn run_context(settings: &Settings) -> Result<RunContext, probe::ProbeError> {
    Ok(RunContext {
        mode: python_mode(settings)?,
        ci: std::env::var_os("CI").is_some_and(|v| !v.is_empty()),
        attempt: std::env::var("NEXTEST_ATTEMPT")
            .ok()
            .and_then(|a| a.parse().ok())
            .unwrap_or(1),
        config: TestConfig::from_env(),
        pytest_k: std::env::var(var::PYTEST_K).ok().filter(|k| !k.is_empty()),
    })
}

fn run_python(cx: &Context, case: &PythonCase) -> Result<(), Failed> {
    let name = case.name();
    let fail = |what: String| failure(&name, what);
    let settings = &cx.settings;
    let ctx = run_context(settings).map_err(|e| fail(e.to_string()))?;
    let mut launch =
        Launch::python(case, settings, &cx.policy, &ctx).map_err(|e| fail(e.to_string()))?;
    let lease = lease_devices(settings, false).map_err(fail)?;
    if let Some(lease) = &lease {
        launch.env.push(lease.env());
    }
    let expected = expected_seconds(cx, case);
    let module = case.module.as_str();
    // No reruns in unittest mode, under --subprocess, for distributed files, or where
    // the policy forbids them (run_test.py's should_retry and PYTEST_SKIP_RETRIES).
    let retries = matches!(ctx.mode, Mode::Pytest { .. })
        && !module.contains("distributed")
        && !cx.policy.skips_pytest_retries(module)
        && cx.policy.handler(module) != Some(crate::policy::Handler::Subprocess);
    let plan = Plan {
        launch: &launch,
        times_key: module.to_string(),
        lease: lease.as_ref(),
        expected,
        timeout: cx.policy.timeouts.limit(expected, ctx.config.is_slow()),
        retries,
    };
    execute(cx, &ctx, plan)
}

fn run_distributed(cx: &Context, found: &DiscoveredDistributed) -> Result<(), Failed> {
    let case = &found.case;
    let name = case.name();
    let fail = |what: String| failure(&name, what);
    let setup = found.setup.as_ref().map_err(|why| fail(why.clone()))?;
    let settings = &cx.settings;
    let ctx = run_context(settings).map_err(|e| fail(e.to_string()))?;
    if ctx.attempt > 1 {
        // A retry could turn a real distributed failure green (pytorch#162978).
        return Err(fail(format!(
            "is never retried: attempt {} refused, the first attempt's failure stands",
            ctx.attempt
        )));
    }
    let whole = PythonCase::whole(case.module.clone());
    let mut launch =
        Launch::python(&whole, settings, &cx.policy, &ctx).map_err(|e| fail(e.to_string()))?;
    let locks = settings.target_dir.join("torch-harness/locks");
    let meeting = Rendezvous::new(&locks)
        .map_err(|e| fail(format!("cannot set up TEMP_DIR or a port: {e}")))?;
    let lease = lease_devices(settings, setup.all_devices).map_err(fail)?;
    launch.distributed(case, setup, &meeting, settings, ctx.attempt);
    if let Some(lease) = &lease {
        launch.env.push(lease.env());
    }
    let expected = cx
        .policy
        .expected_seconds
        .get(case.module.as_str())
        .copied();
    let plan = Plan {
        launch: &launch,
        times_key: case.module.to_string(),
        lease: lease.as_ref(),
        expected,
        timeout: cx.policy.timeouts.limit(expected, ctx.config.is_slow()),
        retries: false,
    };
    let result = execute(cx, &ctx, plan);
    drop(meeting);
    result
}

/// How one attempt of a case runs.
struct Plan<'a> {
    launch: &'a Launch,
    /// The file's key in test-times data.
    times_key: String,
    lease: Option<&'a Lease>,
    expected: Option<f64>,
    timeout: Option<Duration>,
    /// Rerun failing tests in new processes (the stepcurrent loop).
    retries: bool,
}

/// Runs an attempt, writes its record and says how it went.
fn execute(cx: &Context, ctx: &RunContext, plan: Plan<'_>) -> Result<(), Failed> {
    let launch = plan.launch;
    let name = &launch.case;
    let fail = |what: String| failure(name, what);
    refuse_retry_of_a_real_failure(cx, ctx, name).map_err(fail)?;
    // A leftover folder from an earlier run with the same output folder is replaced.
    let _ = std::fs::remove_dir_all(&launch.dir);
    eprintln!("torch-harness: {name}: {}", launch.command_line());
    let options = stepcurrent::Options {
        retries: plan.retries,
        keep_going: std::env::var("CONTINUE_THROUGH_ERROR")
            .is_ok_and(|v| !matches!(v.to_lowercase().as_str(), "" | "0" | "false" | "off")),
        cache: cx.settings.root.join(".pytest_cache/v/cache/stepcurrent"),
        limits: Limits {
            timeout: plan.timeout,
            grace: Duration::from_secs_f64(cx.policy.timeouts.grace_seconds.max(0.0)),
        },
    };
    let file = stepcurrent::run(launch, &options).map_err(|e| fail(e.to_string()))?;
    if file.leftovers > 0 {
        eprintln!(
            "torch-harness: {name}: ended {} process(es) it left behind",
            file.leftovers
        );
    }
    let reports = record::xml_reports(&launch.dir.join("test-reports"));
    let tests = read_reports(&reports);
    let verdict = verdict_of(&file, &tests, plan.expected);
    let record = Record {
        case: name.clone(),
        times_key: plan.times_key.clone(),
        attempt: ctx.attempt,
        failed_tests: failed_tests(&file, &tests),
        flaky_tests: match &verdict {
            Verdict::Flaky { tests } => tests.clone(),
            _ => flaky_tests(&file, &tests),
        },
        verdict,
        wall_seconds: file.wall.as_secs_f64(),
        runs: file.runs.len(),
        command: launch.command_line(),
        cwd: launch.cwd.clone(),
        devices: plan.lease.map(Lease::names).unwrap_or_default(),
        log: launch.log_path(),
        reports,
        note: file.note.clone(),
        repro: repro(cx, name),
    };
    if let Err(e) = record.write(&launch.dir) {
        eprintln!("torch-harness: cannot write the record of {name}: {e}");
    }
    let flaky_fails = std::env::var("NEXTEST_FLAKY_RESULT").is_ok_and(|v| v == "fail");
    match &record.verdict {
        Verdict::Flaky { tests } if !flaky_fails => {
            eprintln!("torch-harness: {name}: flaky tests: {}", tests.join(", "));
            Ok(())
        }
        v if v.is_pass() && !matches!(v, Verdict::Flaky { .. }) => Ok(()),
        v => {
            let failed: Vec<String> = record
                .failed_tests
                .iter()
                .map(|t| match &t.message {
                    Some(m) => format!("{} ({m})", t.test),
                    None => t.test.clone(),
                })
                .collect();
            let what = if failed.is_empty() {
                v.describe()
            } else {
                format!("{}: {}", v.describe(), failed.join("; "))
            };
            Err(fail(format!(
                "{what} (log: {})",
                launch.log_path().display()
            )))
        }
    }
}

/// A nextest retry is for a harness or machine fault; it must not rerun a case whose
/// earlier attempt failed on its own tests, which could turn that failure green.
fn refuse_retry_of_a_real_failure(
    cx: &Context,
    ctx: &RunContext,
    name: &str,
) -> Result<(), String> {
    if ctx.attempt <= 1 {
        return Ok(());
    }
    let previous =
        launch::attempt_dir(&cx.settings.out_dir, name, ctx.attempt - 1).join(record::RECORD_FILE);
    match Record::read(&previous) {
        Ok(record)
            if matches!(
                record.verdict,
                Verdict::Failed { .. } | Verdict::Flaky { .. }
            ) =>
        {
            Err(format!(
                "attempt {} not run: attempt {} {}; a rerun must not turn that green",
                ctx.attempt,
                record.attempt,
                record.verdict.describe()
            ))
        }
        // No record (the harness itself died), a crash, a timeout: worth another try.
        _ => Ok(()),
    }
}

fn read_reports(reports: &[PathBuf]) -> Vec<junit::TestCase> {
    let mut all = Vec::new();
    for path in reports {
        match junit::read(path) {
            Ok(cases) => all.extend(cases),
            Err(e) => eprintln!("torch-harness: {e}"),
        }
    }
    all
}

/// `test/test_x.py::TestX::test_y` → `TestX.test_y`, as the XML names it.
fn test_id(nodeid: &str) -> String {
    match nodeid.split_once("::") {
        Some((_, rest)) => rest
            .rsplit("::")
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("."),
        None => nodeid.to_string(),
    }
}

fn flaky_tests(file: &stepcurrent::FileRun, tests: &[junit::TestCase]) -> Vec<String> {
    let mut flaky: Vec<String> = file.flaky.iter().map(|t| test_id(t)).collect();
    flaky.extend(
        tests
            .iter()
            .filter(|t| !t.reruns.is_empty() && t.outcome == junit::Outcome::Passed)
            .map(junit::TestCase::id),
    );
    flaky.sort();
    flaky.dedup();
    // A test that failed in the end is not flaky.
    let failed: Vec<String> = file.consistent.iter().map(|t| test_id(t)).collect();
    flaky.retain(|t| !failed.contains(t));
    flaky
}

fn failed_tests(file: &stepcurrent::FileRun, tests: &[junit::TestCase]) -> Vec<FailedTest> {
    let mut failed: Vec<FailedTest> = Vec::new();
    for id in file.consistent.iter().map(|t| test_id(t)) {
        let message = tests
            .iter()
            .filter(|t| t.id() == id)
            .find_map(|t| t.message.clone());
        failed.push(FailedTest { test: id, message });
    }
    // Without the loop (unittest mode, --subprocess, gtest) the reports say what failed.
    if file.consistent.is_empty() {
        let flaky = flaky_tests(file, tests);
        for t in tests {
            let id = t.id();
            if matches!(t.outcome, junit::Outcome::Failed | junit::Outcome::Error)
                && !flaky.contains(&id)
                && !failed.iter().any(|f| f.test == id)
            {
                failed.push(FailedTest {
                    test: id,
                    message: t.message.clone(),
                });
            }
        }
    }
    failed
}

fn verdict_of(
    file: &stepcurrent::FileRun,
    tests: &[junit::TestCase],
    expected: Option<f64>,
) -> Verdict {
    // A consistent failure is explained by the last run that failed (a crash's
    // signal); otherwise the last run decides, and earlier failures were flaky.
    let (status, ended) = match (&file.consistent[..], file.worst) {
        ([_, ..], Some(worst)) => worst,
        _ => file.last,
    };
    let last = match ended {
        Some(Ended::TimedOut) => Verdict::TimedOut {
            after_seconds: file.wall.as_secs_f64(),
            expected_seconds: expected,
        },
        Some(Ended::Interrupted(signal)) => Verdict::Interrupted {
            signal: signal.as_str().to_string(),
        },
        None => Verdict::from_status(status),
    };
    if !file.consistent.is_empty() && last.is_pass() {
        // Kept going past a consistent failure: the case still fails.
        return Verdict::Failed { exit_code: 1 };
    }
    if !last.is_pass() {
        return last;
    }
    let flaky = flaky_tests(file, tests);
    if flaky.is_empty() {
        last
    } else {
        Verdict::Flaky { tests: flaky }
    }
}

/// `PYTORCH_ROOT=… cargo nextest run -E 'test(=case)'`, with the variables that shaped
/// this run.
fn repro(cx: &Context, case: &str) -> String {
    let mut line = String::new();
    if cx.settings.root != cx.settings.workspace.join("demo") {
        line.push_str(&format!("PYTORCH_ROOT={} ", cx.settings.root.display()));
    }
    for var in [
        "TEST_CONFIG",
        "BUILD_ENVIRONMENT",
        "PYTHON",
        crate::launch::devices::DEVICES_VAR,
    ] {
        if let Ok(value) = std::env::var(var)
            && !value.is_empty()
        {
            line.push_str(&format!("{var}={value} "));
        }
    }
    line.push_str(&format!("cargo nextest run -E 'test(={case})'"));
    line
}

/// One device for the case (every device when `all`) when the machine has any; waits
/// while they are held.
fn lease_devices(settings: &Settings, all: bool) -> Result<Option<Lease>, String> {
    let devices = Devices::from_env().map_err(|e| e.to_string())?;
    if devices.is_empty() {
        return Ok(None);
    }
    let locks = settings.target_dir.join("torch-harness/locks");
    if all {
        return devices
            .lease_all(&locks)
            .map(Some)
            .map_err(|e| format!("cannot lease the devices under {}: {e}", locks.display()));
    }
    let hint = std::env::var("NEXTEST_TEST_GLOBAL_SLOT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
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
        .and_then(|bytes| serde_json::from_slice::<ShardPlan>(&bytes).ok())
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
