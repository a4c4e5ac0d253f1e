//! A C++ gtest binary's suite: one attempt, no reruns, the policy's C++ timeout.

use super::Context;
use super::attempt::Attempt;
use super::execute::execute;
use crate::case::CppCase;
use crate::discover::cpp;
use crate::launch::run_lock::Share;
use crate::launch::serial_tests::Phase;
use crate::launch::{Launch, Mode, RunContext};
use crate::plan::test_config::TestConfig;
use libtest_mimic::Failed;
use std::time::Duration;

/// Runs one attempt of a gtest suite.
pub(super) fn run(cx: &Context, case: &CppCase) -> Result<(), Failed> {
    let settings = &cx.settings;
    let dir = cpp::tests_dir(&settings.root, &cx.policy);
    let ctx = RunContext {
        mode: Mode::Unittest,
        lists: Default::default(),
        rerun_disabled: false,
        coverage: false,
        attempt: std::env::var("NEXTEST_ATTEMPT")
            .ok()
            .and_then(|a| a.parse().ok())
            .unwrap_or(1),
        config: TestConfig::from_env(),
        pytest_k: None,
    };
    let launch = Launch::cpp(case, dir.join(&case.binary), dir, settings, ctx.attempt);
    let share = if ctx.config.everything_serial() {
        Share::Alone
    } else {
        Share::Shared
    };
    let attempt = Attempt {
        must_fail: false,
        launch: &launch,
        steps: &[],
        times_key: format!("cpp/{}", case.binary),
        all_devices: false,
        phases: vec![Phase {
            share,
            markexpr: None,
        }],
        expected: None,
        timeout: Duration::try_from_secs_f64(cx.policy.timeouts.cpp_seconds).ok(),
        retries: false,
        never_retried: false,
        rendezvous: None,
    };
    execute(cx, &ctx, attempt)
}
