//! The libtest-mimic entry point that `tests/*.rs` call: nextest's harness contract
//! (`--list --format terse [--ignored]`, `<name> --exact --nocapture`) over the cases of
//! one kind.
//!
//! `--exact <name>` parses the name straight into its file: no walk of `test/`, no
//! Python start-up besides the test itself (and a cached environment probe).
//!
//! `trials` turns cases into libtest trials; each kind runs through its own path
//! (`python`, `cpp`, `distributed`) into `execute`, which runs the attempt's `phases`
//! (each under the run lock, then with its devices) and writes its record, with `judge`
//! deciding the verdict.

mod attempt;
mod cpp;
mod distributed;
mod execute;
mod judge;
mod phases;
mod python;
mod repro;
mod trials;

use crate::policy::Policy;
use crate::settings::Settings;
use libtest_mimic::{Arguments, Failed};
use std::process::ExitCode;
use std::sync::Arc;
use trials::{all_trials, exact_trial};

/// The kinds of case, one test binary each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Python,
    /// Distributed test files, once per backend and init method.
    Distributed,
    /// C++ gtest binaries, one case per suite.
    Cpp,
}

struct Context {
    settings: Settings,
    policy: Policy,
}

pub fn main(kind: Kind) -> ExitCode {
    main_with(kind, Arguments::from_args())
}

pub fn main_with(kind: Kind, args: Arguments) -> ExitCode {
    let settings = Settings::from_env();
    let policy = match Policy::load(&settings.manifests, &settings.root) {
        Ok(policy) => policy,
        Err(e) => return fatal(&e),
    };
    let cx = Arc::new(Context { settings, policy });
    let trials = match exact_name(&args) {
        Some(name) => match exact_trial(kind, &cx, name) {
            Ok(trial) => vec![trial],
            // nextest only asks for names this binary listed, so a miss is an error;
            // `cargo test -- --exact x` asks every binary, so there it is just no match.
            Err(e) if under_nextest() => return fatal(&e),
            Err(e) => {
                eprintln!("torch-harness: {e}");
                match all_trials(kind, &cx) {
                    Ok(trials) => trials,
                    Err(e) => return fatal(&e),
                }
            }
        },
        None => match all_trials(kind, &cx) {
            Ok(trials) => trials,
            Err(e) => return fatal(&e),
        },
    };
    libtest_mimic::run(&args, trials).exit_code()
}

fn fatal(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn under_nextest() -> bool {
    std::env::var_os("NEXTEST").is_some_and(|v| v == "1")
}

fn exact_name(args: &Arguments) -> Option<&str> {
    (args.exact && args.skip.is_empty() && !args.list)
        .then_some(args.filter.as_deref())
        .flatten()
}

/// Prints nextest's `Error:` line for a failure and turns it into libtest's.
fn failure(name: &str, what: String) -> Failed {
    // nextest's JUnit takes the failure's description from this stderr line.
    eprintln!("Error: {name} {what}");
    Failed::from(what)
}
