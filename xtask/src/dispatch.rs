//! Every command of `cargo xtask`, in one place: its name, its help line and the one
//! module that runs it. `suite::*` is what a PyTorch developer or CI job types,
//! `lanes::*` what this project's own developers run.

use crate::lanes::{bench, check, fuzz, parity, torch};
use crate::suite::{archive, expected, plan, report, setup, test, times};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "PyTorch's test suite on cargo-nextest")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the suite (the embedded demo, or PYTORCH_ROOT) through `cargo nextest run --profile ci`.
    Test(test::TestArgs),
    /// Build the test binaries once into an archive that other machines run.
    Archive {
        /// The archive to write (`.tar.zst`).
        file: std::path::PathBuf,
    },
    /// The lane against the real torch wheel: e2e-torch/ through the harness.
    #[command(name = "e2e-torch")]
    E2eTorch,
    /// Print the time-balanced shard plan.
    Plan(plan::PlanArgs),
    /// Summarise a run: per-file stats as PyTorch's upload_test_stats, failures, flaky
    /// tests, the slowest cases, and any case that left no record.
    Report(report::ReportArgs),
    /// The times store the planner reads.
    #[command(subcommand)]
    Times(times::Times),
    /// PyTorch's dynamo/inductor expected-failure and skip lists.
    #[command(subcommand, name = "expected-failures")]
    ExpectedFailures(expected::Expected),
    /// Run every fuzz target of fuzz/ for a while.
    Fuzz(fuzz::FuzzArgs),
    /// Prepare everything the demo and the tests need (system packages, the demo's Python
    /// environment and C++ tests).
    Setup,
    /// Set up, then run this project's own tests, without retries.
    Check {
        /// Arguments for `cargo nextest run`, after `--`.
        #[arg(last = true)]
        nextest_args: Vec<String>,
    },
    /// Measure the harness.
    #[command(subcommand)]
    Bench(bench::Bench),
    /// Compare the selection with run_test.py's, recorded on a stub tree (the fixture,
    /// or a fresh oracle file): one row per flag set.
    Parity(parity::ParityArgs),
    /// One flag set of `parity`, in its own environment (used by `parity`).
    #[command(name = "parity-case", hide = true)]
    ParityCase(parity::CaseArgs),
}

/// Parses the command line and runs the command it names.
pub fn run() -> Result<ExitCode> {
    let done = |()| ExitCode::SUCCESS;
    match Cli::parse().command {
        Command::Test(args) => test::run(args),
        Command::Archive { file } => archive::run(&file),
        Command::E2eTorch => torch::run().map(done),
        Command::Plan(args) => plan::run(args).map(done),
        Command::Report(args) => report::run(args),
        Command::Times(t) => times::run(t).map(done),
        Command::ExpectedFailures(cmd) => expected::run(cmd),
        Command::Fuzz(args) => fuzz::run(args).map(done),
        Command::Setup => setup::run().map(done),
        Command::Check { nextest_args } => check::run(&nextest_args),
        Command::Bench(bench) => bench::run(bench).map(done),
        Command::Parity(args) => parity::run(args),
        Command::ParityCase(args) => parity::case(args),
    }
}
