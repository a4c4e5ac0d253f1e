//! The demo's Python environment: a venv under `target/` with the test-runner
//! packages of `demo/requirements.txt`, created once and rebuilt when the
//! requirements change.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use torch_harness::settings::DEMO_VENV;

pub fn demo_python(root: &Path) -> Result<PathBuf> {
    let venv = crate::workspace::target_dir(root).join(DEMO_VENV);
    let python = venv.join("bin/python");
    let requirements = root.join("demo/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let stamp = venv.join("requirements.installed");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return Ok(python);
    }
    let log = venv.with_extension("log");
    std::fs::create_dir_all(venv.parent().unwrap_or(root))?;
    let system_python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    step(
        "creating the demo's Python environment",
        &log,
        Command::new(&system_python)
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
    )?;
    step(
        "installing pytest and the runner plugins (demo/requirements.txt)",
        &log,
        Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

/// Runs one set-up command under a spinner, its output appended to `log`.
fn step(what: &str, log: &Path, command: &mut Command) -> Result<()> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")?);
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let status = command
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .with_context(|| format!("{what}: cannot start {:?}", command.get_program()))?;
    bar.finish_and_clear();
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{what} failed ({status}); the last lines of {}:\n{}",
            log.display(),
            tail.join("\n")
        );
    }
    eprintln!("done: {what}");
    Ok(())
}
