//! How one attempt of a case runs: what each kind of case (`cpp`, `distributed`,
//! `python`) hands to `execute`, and what `phases` reads.

use crate::handlers;
use crate::launch::Launch;
use crate::launch::serial_tests::Phase;
use std::time::Duration;

/// How one attempt of a case runs.
pub(super) struct Attempt<'a> {
    pub(super) launch: &'a Launch,
    /// A handler's set-up, run before the first phase's tests (none for most cases).
    pub(super) steps: &'a [handlers::steps::Step],
    /// The file's key in test-times data.
    pub(super) times_key: String,
    /// The case needs every device (NCCL's world), else one when the machine has any.
    pub(super) all_devices: bool,
    /// Its process runs, each holding the run lock as it says: one for most cases, two
    /// for a file with `@serialTest` tests.
    pub(super) phases: Vec<Phase>,
    pub(super) expected: Option<f64>,
    pub(super) timeout: Option<Duration>,
    /// Rerun failing tests in new processes (the stepcurrent loop).
    pub(super) retries: bool,
    /// Refuse every attempt after the first (distributed files, pytorch#162978).
    pub(super) never_retried: bool,
    /// A distributed case's meeting point, whose port is let go once the case holds
    /// the run lock, just before its ranks start.
    pub(super) rendezvous: Option<&'a crate::launch::rendezvous::Rendezvous>,
    /// The file must fail (run_test.py's run_ci_sanity_check handler).
    pub(super) must_fail: bool,
}
