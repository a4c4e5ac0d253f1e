//! `PYTORCH_TEST_CUDA_MEM_LEAK_CHECK=1` (CI's slow-gradcheck jobs): common_utils checks
//! every test for leaked CUDA memory, which only means something when nothing else
//! uses the devices, so run_test.py drops to one file at a time (NUM_PROCS 1). Here
//! every case holds one machine-wide lock while it runs, under xtask and plain nextest
//! alike; xtask also runs one test thread.

use crate::plan::test_config::TestConfig;
use std::fs::File;
use std::path::Path;

pub const VAR: &str = "PYTORCH_TEST_CUDA_MEM_LEAK_CHECK";

/// Set in the environment, or by the test config (BUILD_ENVIRONMENT *slow-gradcheck*).
pub fn enabled(config: &TestConfig) -> bool {
    std::env::var(VAR).is_ok_and(|v| v == "1") || config.child_env("").contains(&(VAR, "1"))
}

/// Waits for, then holds, the one-case-at-a-time lock in `locks`.
pub fn hold(locks: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(locks)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(locks.join("mem-leak-check.lock"))?;
    file.lock()?;
    Ok(file)
}
