//! `cargo xtask expected-failures check|update`: PyTorch's dynamo/inductor
//! expected-failure and skip lists under the checkout's `test/`.

use anyhow::{Result, bail};
use clap::{Subcommand, ValueEnum};
use std::process::ExitCode;
use torch_harness::report::expected_failures::{self, Family};
use torch_harness::settings::Settings;

#[derive(Subcommand)]
pub enum Expected {
    /// Validate the lists: empty files named `Class.test`, no test in both lists.
    Check,
    /// Propose (and with --write apply) the changes a compiled-mode run implies.
    Update {
        /// A run id or folder (default: the latest run).
        run: Option<String>,
        #[arg(long, value_enum, default_value = "dynamo")]
        family: FamilyArg,
        /// Apply the proposal to the files.
        #[arg(long)]
        write: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FamilyArg {
    Dynamo,
    Inductor,
}

pub fn run(cmd: Expected) -> Result<ExitCode> {
    let test_dir = Settings::from_env().root.join("test");
    match cmd {
        Expected::Check => {
            let problems = expected_failures::check(&test_dir);
            for p in &problems {
                println!("{p}");
            }
            if problems.is_empty() {
                let count: usize = expected_failures::FOLDERS
                    .iter()
                    .map(|f| expected_failures::entries(&test_dir, f).len())
                    .sum();
                println!("{count} entries in {}: all valid", test_dir.display());
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::FAILURE)
            }
        }
        Expected::Update { run, family, write } => {
            let family = match family {
                FamilyArg::Dynamo => Family::Dynamo,
                FamilyArg::Inductor => Family::Inductor,
            };
            let mut settings = Settings::from_env();
            settings.target_dir =
                crate::plumbing::workspace::target_dir(&crate::plumbing::workspace::root())?;
            let run_dir = crate::suite::report::run_dir(&settings, run.as_deref())?;
            let records = crate::suite::report::records(&run_dir)?;
            let (in_mode, others): (Vec<_>, Vec<_>) =
                records.iter().partition(|r| ran_in(r, family));
            if in_mode.is_empty() {
                bail!(
                    "{} is not a run in {} mode: none of its {} cases ran with {}=1 and without {}=1, \
                     so its failures say nothing about the {} lists; run `cargo xtask test \
                     --{} --keep-going`, then update from that run",
                    run_dir.display(),
                    family_name(family),
                    records.len(),
                    mode_var(family),
                    mode_var(other(family)),
                    family_name(family),
                    family_name(family),
                );
            }
            if !others.is_empty() {
                println!(
                    "left out {} case(s) that did not run under {}=1: {}",
                    others.len(),
                    mode_var(family),
                    others
                        .iter()
                        .map(|r| r.case.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            let mut tests = Vec::new();
            for record in in_mode {
                for report in &record.reports {
                    tests.extend(torch_harness::report::junit::read(report)?);
                }
            }
            if tests.is_empty() {
                bail!("{} has no test reports to learn from", run_dir.display());
            }
            let update = expected_failures::update(&test_dir, family, &tests);
            let (failures, skips) = (family.expected_failures(), family.skips());
            for id in &update.remove_expected {
                println!("remove {failures}/{id} (passes now)");
            }
            for id in &update.add_expected {
                println!("add    {failures}/{id} (fails)");
            }
            for id in &update.remove_skips {
                println!("remove {skips}/{id} (passes now)");
            }
            if write {
                let touched = expected_failures::apply(&test_dir, family, &update)?;
                println!(
                    "{} files changed under {}",
                    touched.len(),
                    test_dir.display()
                );
            } else if update != Default::default() {
                println!("(a proposal: --write applies it)");
            } else {
                println!("nothing to change");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The variable that puts a test file in the family's compiled mode.
fn mode_var(family: Family) -> &'static str {
    match family {
        Family::Dynamo => "PYTORCH_TEST_WITH_DYNAMO",
        Family::Inductor => "PYTORCH_TEST_WITH_INDUCTOR",
    }
}

fn other(family: Family) -> Family {
    match family {
        Family::Dynamo => Family::Inductor,
        Family::Inductor => Family::Dynamo,
    }
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Dynamo => "dynamo",
        Family::Inductor => "inductor",
    }
}

/// Whether the case ran in `family`'s compiled mode (and not in the other family's),
/// by the variables its record kept.
fn ran_in(record: &torch_harness::report::record::Record, family: Family) -> bool {
    let on = |var: &str| record.env.get(var).is_some_and(|v| v == "1");
    on(mode_var(family)) && !on(mode_var(other(family)))
}
