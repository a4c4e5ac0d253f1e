//! torch-harness: everything that knows what a PyTorch test case is. The test targets
//! in `tests/` pick a kind of case and call [`run::main`].
//!
//! A case's path, in module order:
//! - [`settings`]: where the checkout, its policy and the outputs are (environment).
//! - [`policy`]: the checkout's test manifests (blocklists, serial files, timeouts).
//! - [`lists`]: PyTorch's disabled and slow test lists for a CI-mode run, resolved once.
//! - [`discover`]: which cases a checkout has (Python files, distributed configs, gtest
//!   suites), for this platform and Python environment.
//! - [`case`]: a case and its name, parsed back from `--exact`.
//! - [`handlers`]: run_test.py's custom handlers with a set-up (extension builds,
//!   doctests): what each needs, and its steps before the tests.
//! - [`plan`]: which files a run selects, their times, and time-balanced shards.
//! - [`run`]: the libtest contract nextest calls; builds trials and runs each kind.
//! - [`launch`]: the command for a case, its processes, devices, ports and reruns;
//!   coverage and the memory-leak check's one case at a time.
//! - [`mode`]: the run's mode (devices, coverage, the memory-leak check), one type that
//!   xtask sets up and the cases read.
//! - [`report`]: the verdict, the per-attempt record, JUnit and expected failures.
//! - [`util`]: atomic file writes and the stable hash.

pub mod case;
pub mod discover;
pub mod handlers;
pub mod launch;
pub mod lists;
pub mod mode;
pub mod plan;
pub mod policy;
pub mod report;
pub mod run;
pub mod settings;
pub mod util;
