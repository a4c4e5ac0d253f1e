//! `cargo xtask fuzz`: every `cargo fuzz` target of `fuzz/` for a while each (nightly
//! and cargo-fuzz required; `.ci/run` installs cargo-fuzz).

use anyhow::{Context, Result};
use clap::Args;
use xshell::cmd;

const TARGETS: [&str; 3] = ["junit_report", "gtest_listing", "json_inputs"];

#[derive(Args)]
pub struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 20)]
    seconds: u32,
}

pub fn run(args: FuzzArgs) -> Result<()> {
    let sh = crate::plumbing::workspace::shell(&crate::plumbing::workspace::root().join("fuzz"))?;
    let seconds = args.seconds.to_string();
    for target in TARGETS {
        eprintln!("fuzzing {target} for {seconds} s");
        // `cargo` itself, not $CARGO: only rustup's proxy understands `+nightly`.
        cmd!(
            sh,
            "cargo +nightly fuzz run {target} -- -max_total_time={seconds}"
        )
        .run()
        .with_context(|| {
            format!(
                "fuzz target {target} failed, or cargo-fuzz and a nightly toolchain are missing \
                 (`cargo install --locked cargo-fuzz`, `rustup toolchain install nightly`); \
                 a failing input is under fuzz/artifacts/{target}/"
            )
        })?;
    }
    Ok(())
}
