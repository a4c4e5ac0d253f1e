//! A Python test file (or a piece of one): pytest or unittest mode, reruns where
//! PyTorch's runner allows them, the timeout from the file's expected seconds.

use super::attempt::Attempt;
use super::execute::execute;
use super::{Context, failure};
use crate::case::PythonCase;
use crate::discover::probe;
use crate::handlers::{self, SetUp};
use crate::launch::{Launch, LaunchError, Mode, RunContext, coverage, serial_tests};
use crate::lists;
use crate::plan::Plan as ShardPlan;
use crate::plan::test_config::TestConfig;
use crate::settings::{Settings, var};
use libtest_mimic::Failed;

/// Runs one attempt of a Python file or piece.
pub(super) fn run(cx: &Context, case: &PythonCase) -> Result<(), Failed> {
    let name = case.name();
    let fail = |what: String| failure(&name, what);
    let settings = &cx.settings;
    let ctx = run_context(settings).map_err(|e| fail(e.to_string()))?;
    let module = case.module.as_str();
    // A custom handler with a set-up builds or writes what its test needs first.
    let (launch, steps, handler_retries) = match SetUp::of(module, cx.policy.handler(module)) {
        Some(setup) => {
            let tools = handlers::tools::interpreter(&settings.python, &settings.cache_dir())
                .map_err(fail)?;
            let prepared = handlers::prepare(setup, case, settings, &cx.policy, &ctx, &tools)
                .map_err(|e| fail(e.to_string()))?;
            (prepared.test, prepared.steps, prepared.retries)
        }
        None => (
            Launch::python(case, settings, &cx.policy, &ctx).map_err(|e| match e {
                LaunchError::PieceNeedsPytest | LaunchError::ExceptNeedsPytest => fail(format!(
                    "{e}, but this run is in unittest mode: {}",
                    why_unittest(settings)
                )),
            })?,
            Vec::new(),
            true,
        ),
    };
    let expected = expected_seconds(cx, case);
    let alone = cx.policy.must_serial(module) || ctx.config.everything_serial();
    // Only a file that may use the marker is read; a run-alone file runs whole anyway.
    let marked = !alone
        && serial_tests::file_uses_marker(&settings.root.join("test").join(format!("{module}.py")));
    let phases = serial_tests::phases(alone, marked, matches!(ctx.mode, Mode::Pytest { .. }));
    // No reruns in unittest mode, under --subprocess, for distributed files, or where
    // the policy forbids them (run_test.py's should_retry and PYTEST_SKIP_RETRIES).
    let retries = matches!(ctx.mode, Mode::Pytest { .. })
        && !ctx.rerun_disabled
        && handler_retries
        && !module.contains("distributed")
        && !cx.policy.skips_pytest_retries(module)
        && cx.policy.handler(module) != Some(crate::policy::Handler::Subprocess);
    let attempt = Attempt {
        must_fail: cx.policy.handler(module) == Some(crate::policy::Handler::CiSanityCheck),
        launch: &launch,
        steps: &steps,
        times_key: module.to_string(),
        all_devices: false,
        phases,
        expected,
        timeout: cx.policy.timeouts.limit(expected, ctx.config.is_slow()),
        retries,
        // A distributed file run whole is as unsafe to rerun as its configurations.
        never_retried: module.starts_with("distributed/"),
        rendezvous: None,
    };
    execute(cx, &ctx, attempt)
}

/// What shapes this attempt: test mode, the run's lists and modes, attempt number,
/// test config, `-k`.
pub(super) fn run_context(settings: &Settings) -> Result<RunContext, probe::ProbeError> {
    let config = TestConfig::from_env();
    let (inputs, lists) = lists::for_this_run(settings, &config);
    let coverage = crate::mode::RunMode::coverage_on();
    if coverage {
        coverage::note_python(&settings.out_dir, &settings.python);
    }
    Ok(RunContext {
        mode: python_mode(settings)?,
        lists,
        rerun_disabled: inputs.rerun_disabled,
        coverage,
        attempt: std::env::var("NEXTEST_ATTEMPT")
            .ok()
            .and_then(|a| a.parse().ok())
            .unwrap_or(1),
        config,
        pytest_k: std::env::var(var::PYTEST_K).ok().filter(|k| !k.is_empty()),
    })
}

/// The case's expected seconds: from the shard plan when there is one, else the
/// policy's expected seconds for the file, shared among its pieces.
fn expected_seconds(cx: &Context, case: &PythonCase) -> Option<f64> {
    let name = case.name();
    let planned = crate::settings::path_var(var::PLAN)
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|bytes| serde_json::from_slice::<ShardPlan>(&bytes).ok())
        .and_then(|plan| plan.case_seconds.get(&name).copied());
    planned.or_else(|| {
        let whole = cx.policy.expected_seconds.get(case.module.as_str())?;
        Some(whole / f64::from(case.piece.map_or(1, |p| p.count)))
    })
}

/// Why [`python_mode`] chose unittest mode, with what to do about it.
fn why_unittest(settings: &Settings) -> String {
    let set = |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v == value);
    if set("PYTORCH_TEST_DO_NOT_USE_PYTEST", "1") {
        "PYTORCH_TEST_DO_NOT_USE_PYTEST=1 forces it; unset it for pytest mode".into()
    } else if set(var::PYTEST, "0") {
        format!("{}=0 forces it; unset it for pytest mode", var::PYTEST)
    } else {
        format!(
            "{} has no pytest; install pytest in it",
            settings.python.display()
        )
    }
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
