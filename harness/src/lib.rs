//! torch-harness: everything that knows what a PyTorch test case is. The test targets
//! in `tests/` pick a kind of case and call [`harness::main`].

pub mod case;
pub mod devices;
pub mod discover;
pub mod expected_failures;
pub mod fsutil;
pub mod harness;
pub mod junit;
pub mod launch;
pub mod plan;
pub mod platform;
pub mod policy;
pub mod probe;
pub mod process;
pub mod record;
pub mod rendezvous;
pub mod select;
pub mod settings;
pub mod stepcurrent;
pub mod test_config;
pub mod times;
pub mod verdict;
