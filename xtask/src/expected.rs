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
            settings.target_dir = crate::workspace::target_dir(&crate::workspace::root())?;
            let run_dir = crate::report::run_dir(&settings, run.as_deref())?;
            let mut tests = Vec::new();
            for record in crate::report::records(&run_dir)? {
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
