//! The run's disabled and slow test lists, resolved once before nextest starts, so a
//! download (or a source that cannot be reached) shows on the terminal and every case
//! reads the same local files. Under plain `cargo nextest run` the harness resolves
//! them itself (torch_harness::lists).

use anyhow::Result;
use std::path::Path;
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use torch_harness::lists::disabled::Platforms;
use torch_harness::lists::fetch::Fetch;
use torch_harness::lists::{self, Inputs, var};
use torch_harness::settings::Settings;

/// Resolves the lists the environment asks for (plus run_test.py's defaults in
/// rerun-disabled mode) and points the harness at the resolved files.
pub fn prepare(nextest: &mut Command, settings: &Settings, rerun_disabled: bool) -> Result<()> {
    let cwd = std::env::current_dir()?;
    let inputs = Inputs::from_lookup(
        |name| {
            if name == var::RERUN_DISABLED && rerun_disabled {
                return Some("1".into());
            }
            std::env::var(name).ok()
        },
        &settings.root,
        &cwd,
    );
    if inputs.is_empty() {
        // No list is imported, so the warnings are not printed with the lists below.
        for line in &inputs.warnings {
            eprintln!("warning: {line}");
        }
        return Ok(());
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = settings.target_dir.join(format!(
        "torch-harness/lists/{stamp}-{}",
        std::process::id()
    ));
    let here = Platforms::detect(|name| std::env::var(name).ok());
    let started = Instant::now();
    let imported = lists::resolve(
        &inputs,
        &dir,
        &settings.cache_dir(),
        &Fetch::default(),
        &here,
    );
    for line in &imported.summary {
        eprintln!("{line}");
    }
    for line in &imported.warnings {
        eprintln!("warning: {line}");
    }
    eprintln!("lists resolved in {:.2} s", started.elapsed().as_secs_f64());
    set(nextest, var::DISABLED, imported.disabled.as_deref());
    set(nextest, var::SLOW, imported.slow.as_deref());
    Ok(())
}

fn set(nextest: &mut Command, name: &str, path: Option<&Path>) {
    match path {
        Some(p) => nextest.env(name, p),
        // Resolved to nothing (a checkout without slow_tests.json): the harness then
        // finds nothing either.
        None => nextest.env_remove(name),
    };
}
