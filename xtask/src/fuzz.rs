//! `cargo xtask fuzz`: every `cargo fuzz` target of `fuzz/` for a while each (nightly
//! and cargo-fuzz required; `.ci/run` installs cargo-fuzz).

use anyhow::{Context, Result, bail};
use clap::Args;
use std::process::Command;

const TARGETS: [&str; 3] = ["junit_report", "gtest_listing", "json_inputs"];

#[derive(Args)]
pub struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 20)]
    seconds: u32,
}

pub fn run(args: FuzzArgs) -> Result<()> {
    let fuzz = crate::workspace::root().join("fuzz");
    for target in TARGETS {
        eprintln!("fuzzing {target} for {} s", args.seconds);
        let status = Command::new("cargo")
            .current_dir(&fuzz)
            .args(["+nightly", "fuzz", "run", target, "--"])
            .arg(format!("-max_total_time={}", args.seconds))
            .status()
            .context(
                "cannot start `cargo +nightly fuzz`: install cargo-fuzz and a nightly toolchain",
            )?;
        if !status.success() {
            bail!(
                "fuzz target {target} failed ({status}); the input is under fuzz/artifacts/{target}/"
            );
        }
    }
    Ok(())
}
