//! A run's mode, as `cargo xtask test` sets it up and the harness's cases read it: the
//! devices it shares out, whether it collects coverage, and whether the CUDA memory-leak
//! check runs it one case at a time. One type both sides read, so xtask never reaches
//! into `launch`'s internals for a setting.

use crate::launch::coverage;
use crate::launch::devices::{DEVICES_VAR, DeviceError, Devices};
use crate::launch::mem_leak;
use crate::plan::test_config::TestConfig;
use std::path::Path;

pub use crate::launch::coverage::{Combined, CoverageError};

#[derive(Debug, Clone)]
pub struct RunMode {
    /// The devices the run shares out (none on a CPU machine).
    pub devices: Devices,
    /// run_test.py's `--coverage`: Python cases run under `coverage run`.
    pub coverage: bool,
    /// `PYTORCH_TEST_CUDA_MEM_LEAK_CHECK`: one case at a time on the machine.
    pub mem_leak: bool,
}

impl RunMode {
    /// The mode the environment and test config ask for; the devices are detected
    /// (once) unless `TORCH_HARNESS_DEVICES` names them.
    pub fn from_env(config: &TestConfig) -> Result<RunMode, DeviceError> {
        Ok(RunMode {
            devices: Devices::from_env()?,
            coverage: RunMode::coverage_on(),
            mem_leak: RunMode::mem_leak_on(config),
        })
    }

    /// Whether the environment asks for coverage (any non-empty value, as run_test.py).
    pub fn coverage_on() -> bool {
        coverage::enabled()
    }

    /// Whether the memory-leak check is on: set in the environment, or by the test
    /// config (BUILD_ENVIRONMENT *slow-gradcheck*).
    pub fn mem_leak_on(config: &TestConfig) -> bool {
        mem_leak::enabled(config)
    }

    /// The variables that hand this mode to every case nextest starts (coverage only
    /// where the environment does not already carry it, so its own value stands).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![(DEVICES_VAR, self.devices.to_string())];
        if self.coverage && !RunMode::coverage_on() {
            env.push((coverage::VAR, "1".into()));
        }
        env
    }

    /// The test threads the mode fixes: one under the memory-leak check (run_test.py's
    /// NUM_PROCS 1, GPUs or not), else one per device slot; None on a CPU machine.
    pub fn threads(&self) -> Option<usize> {
        match self.devices.slots() {
            _ if self.mem_leak => Some(1),
            0 => None,
            slots => Some(slots),
        }
    }
}

/// Whether the run in `run_dir` collected coverage data.
pub fn collected_coverage(run_dir: &Path) -> bool {
    coverage::data_dir(run_dir).is_dir()
}

/// Combines the coverage data of the run in `run_dir` into one report.
pub fn combine_coverage(run_dir: &Path) -> Result<Combined, CoverageError> {
    coverage::combine(run_dir, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(devices: &str, mem_leak: bool) -> RunMode {
        RunMode {
            devices: Devices::parse(devices).unwrap(),
            coverage: false,
            mem_leak,
        }
    }

    #[test]
    fn the_mode_fixes_threads_as_run_test_py_sets_num_procs() {
        // A CPU machine leaves the count to the plan; GPUs give one case per device slot.
        assert_eq!(mode("none", false).threads(), None);
        assert_eq!(mode("cuda:0-3", false).threads(), Some(4));
        // The memory-leak check runs one case at a time, GPUs or not.
        assert_eq!(mode("cuda:0-3", true).threads(), Some(1));
        assert_eq!(mode("none", true).threads(), Some(1));
    }

    #[test]
    fn the_cases_are_told_the_devices_detected_once() {
        let env = mode("rocm:0,2", false).env();
        assert!(
            env.contains(&("TORCH_HARNESS_DEVICES", "rocm:0,2".to_string())),
            "{env:?}"
        );
    }
}
