//! `cargo xtask`: the commands people type. One subcommand per job; each is plain Rust
//! over cargo, nextest and the harness library.

mod bench;
mod bench_plan;
mod changed;
mod dry_list;
mod e2e;
mod e2e_handlers;
mod e2e_lane;
mod e2e_lists;
mod e2e_serial;
mod expected;
mod filterset;
mod fuzz;
mod lists;
mod nextest;
mod order;
mod parity;
mod plan;
mod reenable;
mod report;
mod selection;
mod setup;
mod system;
mod td_default;
mod test;
mod times;
mod workspace;

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

fn main() -> ExitCode {
    end_quietly_on_a_closed_pipe();
    resolve_path_variables();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Test(args) => test::run(args),
        Command::Archive { file } => test::archive(&file),
        Command::E2eTorch => e2e::run().map(|()| ExitCode::SUCCESS),
        Command::Plan(args) => plan::run(args).map(|()| ExitCode::SUCCESS),
        Command::Report(args) => report::run(args),
        Command::Times(t) => times::run(t).map(|()| ExitCode::SUCCESS),
        Command::ExpectedFailures(cmd) => expected::run(cmd),
        Command::Fuzz(args) => fuzz::run(args).map(|()| ExitCode::SUCCESS),
        Command::Setup => {
            let root = workspace::root();
            system::ensure(&root, system::FOR_CHECK)
                .and_then(|()| setup::demo(&root))
                .map(|_| ExitCode::SUCCESS)
        }
        Command::Check { nextest_args } => test::check(&nextest_args),
        Command::Bench(bench) => bench::run(bench).map(|()| ExitCode::SUCCESS),
        Command::Parity(args) => parity::run(args),
        Command::ParityCase(args) => parity::case(args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

/// `cargo xtask plan | head`: once the reader is gone, the next write ends xtask by
/// SIGPIPE, silently, as it ends `cat` or `find`. Rust ignores SIGPIPE by default, so a
/// write would instead fail with EPIPE and `println!` would panic. The default
/// disposition covers every write (ours, clap's, a library's, stderr too) where a
/// BrokenPipe-aware writer would cover only the writes routed through it; children are
/// unaffected (std resets SIGPIPE in them either way) and xtask writes to no pipe whose
/// reader may go away early except its own output.
fn end_quietly_on_a_closed_pipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: at the start of main, before any thread exists; SIG_DFL installs no handler.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// A relative `PYTORCH_ROOT` (or another path variable) means a path from where
/// `cargo xtask` was started, which is xtask's folder: resolved here, once, and set
/// absolute, so xtask's own reading (selection, plans, lists) and the harness under
/// nextest (started in the workspace) see the same path.
fn resolve_path_variables() {
    let Ok(here) = std::env::current_dir() else {
        return;
    };
    for name in torch_harness::settings::PATH_VARS {
        let Some(value) = std::env::var_os(name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let resolved = torch_harness::settings::resolve_from(name, &value, &here);
        if resolved != value {
            // SAFETY: at the start of main, before any thread exists.
            unsafe { std::env::set_var(name, resolved) };
        }
    }
}
