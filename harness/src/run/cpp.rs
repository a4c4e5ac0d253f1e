//! A C++ gtest binary's suite: one attempt, no reruns, the policy's C++ timeout.

use super::execute::{Attempt, execute, lease_devices};
use super::{Context, failure};
use crate::case::CppCase;
use crate::discover::cpp;
use crate::launch::{Launch, Mode, RunContext};
use crate::plan::test_config::TestConfig;
use libtest_mimic::Failed;
use std::time::Duration;

/// Runs one attempt of a gtest suite.
pub(super) fn run(cx: &Context, case: &CppCase) -> Result<(), Failed> {
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
    let attempt = Attempt {
        launch: &launch,
        times_key: format!("cpp/{}", case.binary),
        lease: lease.as_ref(),
        expected: None,
        timeout: Duration::try_from_secs_f64(cx.policy.timeouts.cpp_seconds).ok(),
        retries: false,
    };
    execute(cx, &ctx, attempt)
}
