//! A distributed configuration: the whole file under one backend and init method, with
//! its own rendezvous, never retried.

use super::attempt::Attempt;
use super::execute::execute;
use super::python::run_context;
use super::{Context, failure};
use crate::discover::distributed::DiscoveredDistributed;
use crate::launch::Launch;
use crate::launch::rendezvous::Rendezvous;
use crate::launch::run_lock::Share;
use crate::launch::serial_tests::Phase;
use libtest_mimic::Failed;

/// Runs the first (and only) attempt of a distributed configuration.
pub(super) fn run(cx: &Context, found: &DiscoveredDistributed) -> Result<(), Failed> {
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
    // The file, or its class run's classes (`-k`), as run_test.py's handler passes
    // the TestRun on to run_test.
    let mut launch =
        Launch::python(&case.run(), settings, &cx.policy, &ctx).map_err(|e| fail(e.to_string()))?;
    let locks = settings.target_dir.join("torch-harness/locks");
    let meeting = Rendezvous::new(&locks)
        .map_err(|e| fail(format!("cannot set up TEMP_DIR or a port: {e}")))?;
    launch.distributed(case, setup, &meeting, settings, ctx.attempt);
    let expected = cx
        .policy
        .expected_seconds
        .get(case.module.as_str())
        .copied();
    let attempt = Attempt {
        must_fail: false,
        launch: &launch,
        steps: &[],
        times_key: case.module.to_string(),
        all_devices: setup.all_devices,
        // Every distributed file runs alone (run_test.py's must_serial).
        phases: vec![Phase {
            share: Share::Alone,
            markexpr: None,
        }],
        expected,
        timeout: cx.policy.timeouts.limit(expected, ctx.config.is_slow()),
        retries: false,
        never_retried: true,
        rendezvous: Some(&meeting),
    };
    let result = execute(cx, &ctx, attempt);
    drop(meeting);
    result
}
