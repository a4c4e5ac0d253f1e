//! The torch lane's runs and what its checks read back: `cargo xtask test` on the lane's
//! checkout, and the records and JUnit tests a run wrote. The lane's checks (here,
//! `lists` and `handlers`) all use these.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::Command;
use torch_harness::report::junit;
use torch_harness::report::record::Record;
use xshell::cmd;

pub(crate) struct Lane {
    pub(crate) checkout: PathBuf,
    pub(crate) python: PathBuf,
    pub(crate) out: PathBuf,
}

pub(crate) struct LaneRun {
    pub(crate) dir: PathBuf,
    pub(crate) passed: bool,
    /// What `cargo xtask test` printed.
    pub(crate) log: PathBuf,
}

impl Lane {
    /// `cargo xtask test <args>` on the checkout with the torch interpreter.
    pub(crate) fn run(&self, name: &str, args: &[&str], vars: &[(&str, &str)]) -> Result<LaneRun> {
        let dir = self.out.join(name);
        let log = self.out.join(format!("{name}.log"));
        std::fs::create_dir_all(&self.out)?;
        let file = std::fs::File::create(&log)?;
        eprintln!("e2e-torch: {name} (log: {})", log.display());
        let sh = crate::plumbing::workspace::shell(&crate::plumbing::workspace::root())?;
        let xtask = std::env::current_exe()?;
        let cmd = cmd!(sh, "{xtask} test {args...}")
            .env("PYTORCH_ROOT", &self.checkout)
            .env("PYTHON", &self.python)
            .env("TORCH_HARNESS_OUT", &dir)
            .env_remove("TEST_CONFIG")
            // CI mode and the lists only where a step asks for them.
            .env_remove("CI")
            .env_remove(torch_harness::lists::var::DISABLED)
            .env_remove(torch_harness::lists::var::SLOW)
            .env_remove(torch_harness::lists::var::REENABLED)
            .env_remove(torch_harness::lists::var::RERUN_DISABLED)
            .envs(vars.iter().copied());
        // Into std's Command to stream both outputs, interleaved, into the log as it runs.
        let status = Command::from(cmd)
            .stdout(file.try_clone()?)
            .stderr(file)
            .status()
            .context("running cargo xtask test")?;
        Ok(LaneRun {
            dir,
            passed: status.success(),
            log,
        })
    }
}

pub(crate) fn find<'a>(records: &'a [Record], case: &str) -> Result<&'a Record> {
    records
        .iter()
        .find(|r| r.case == case)
        .with_context(|| format!("no record for {case}"))
}

pub(crate) fn tests(record: &Record) -> Result<Vec<junit::TestCase>> {
    let mut all = Vec::new();
    for report in &record.reports {
        all.extend(junit::read(report)?);
    }
    Ok(all)
}
