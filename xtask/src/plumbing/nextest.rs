//! cargo-nextest at the version `.config/nextest.toml` asks for: found, or installed with
//! `cargo install --locked` under a progress line, or an exact instruction when that
//! cannot be done.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use semver::Version;
use serde::Deserialize;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

/// What `.config/nextest.toml` says about nextest's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// Older versions refuse to run this workspace.
    pub required: Version,
    /// What to install (nextest's `recommended`, else the required version).
    pub install: Version,
}

#[derive(Deserialize)]
struct Config {
    #[serde(rename = "nextest-version")]
    nextest_version: Option<VersionSetting>,
}

/// nextest accepts `nextest-version = "0.9.138"` and `{ required = …, recommended = … }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum VersionSetting {
    Required(String),
    Table {
        required: Option<String>,
        recommended: Option<String>,
    },
}

impl Wanted {
    /// The requirement of the workspace at `root`.
    pub fn of(root: &Path) -> Result<Wanted> {
        let path = root.join(".config/nextest.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("{}: nextest-version", path.display()))
    }

    fn parse(text: &str) -> Result<Wanted> {
        let config: Config = toml::from_str(text)?;
        let (required, recommended) = match config.nextest_version {
            Some(VersionSetting::Required(v)) => (Some(v), None),
            Some(VersionSetting::Table {
                required,
                recommended,
            }) => (required, recommended),
            None => (None, None),
        };
        let version = |v: Option<String>| -> Result<Option<Version>> {
            v.map(|v| Version::parse(&v).with_context(|| format!("`{v}` is not a version")))
                .transpose()
        };
        let required = version(required)?.unwrap_or(Version::new(0, 9, 0));
        let install = version(recommended)?
            .filter(|r| *r >= required)
            .unwrap_or_else(|| required.clone());
        Ok(Wanted { required, install })
    }

    /// The command that installs it.
    pub fn install_command(&self) -> String {
        format!(
            "cargo install --locked cargo-nextest --version {}",
            self.install
        )
    }
}

/// What `cargo nextest --version` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Missing { why: String },
    Version(Version),
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Missing { why } => write!(f, "cargo-nextest is not installed ({why})"),
            Found::Version(v) => write!(f, "cargo-nextest {v} is installed"),
        }
    }
}

/// Asks the cargo that runs xtask, so the nextest found is the one `cargo nextest` runs.
pub fn probe(root: &Path) -> Found {
    let sh = match crate::plumbing::workspace::shell(root) {
        Ok(sh) => sh,
        Err(e) => return Found::Missing { why: e.to_string() },
    };
    let cargo = crate::plumbing::workspace::cargo();
    let output = xshell::cmd!(sh, "{cargo} nextest --version")
        .quiet()
        .ignore_status()
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            match parse_version(&text) {
                Some(v) => Found::Version(v),
                None => Found::Missing {
                    why: format!("`cargo nextest --version` printed `{}`", text.trim()),
                },
            }
        }
        Ok(out) => Found::Missing {
            why: String::from_utf8_lossy(&out.stderr)
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("`cargo nextest --version` failed")
                .trim()
                .to_string(),
        },
        Err(e) => Found::Missing { why: e.to_string() },
    }
}

/// `cargo-nextest 0.9.143 (60fa45f63 2026-08-04)` → 0.9.143.
fn parse_version(text: &str) -> Option<Version> {
    let first = text.lines().next()?;
    let number = first
        .strip_prefix("cargo-nextest ")?
        .split_whitespace()
        .next()?;
    Version::parse(number).ok()
}

/// Makes sure `cargo nextest` runs this workspace: installs the wanted version when the
/// one found is missing or too old.
pub fn ensure(root: &Path) -> Result<()> {
    let wanted = Wanted::of(root)?;
    let found = probe(root);
    if matches!(&found, Found::Version(v) if *v >= wanted.required) {
        return Ok(());
    }
    eprintln!(
        "{found}; this workspace needs {} or newer (.config/nextest.toml): installing it",
        wanted.required
    );
    let log = crate::plumbing::workspace::target_dir(root)?
        .join("torch-harness/cargo-nextest-install.log");
    install(root, &wanted, &log)?;
    match probe(root) {
        Found::Version(v) if v >= wanted.required => {
            eprintln!("done: cargo-nextest {v}");
            Ok(())
        }
        after => bail!(
            "`{}` finished, but now {after}: the cargo-nextest that `cargo` finds first on PATH is not \
             the one installed (cargo looks in $CARGO_HOME/bin, or in PATH order when that folder is on PATH); \
             put $CARGO_HOME/bin first on PATH or remove the older cargo-nextest",
            wanted.install_command()
        ),
    }
}

/// `cargo install --locked cargo-nextest --version V`, its output in `log`, each crate it
/// compiles shown on one progress line.
fn install(root: &Path, wanted: &Wanted, log: &Path) -> Result<()> {
    std::fs::create_dir_all(log.parent().unwrap_or(root))?;
    let mut file =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let what = format!("installing cargo-nextest {}", wanted.install);
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")?);
    bar.set_message(format!("{what} (compiling takes a few minutes)"));
    bar.enable_steady_tick(Duration::from_millis(120));
    // std's Command, not xshell's: the progress line needs cargo's stderr line by line
    // while it runs, and xshell only hands output over once the process has ended.
    let mut child = Command::new(crate::plumbing::workspace::cargo())
        .current_dir(root)
        .args(["install", "--locked", "cargo-nextest", "--version"])
        .arg(wanted.install.to_string())
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("{what}: cannot start cargo"))?;
    let mut compiled = 0;
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let line = line?;
            writeln!(file, "{line}")?;
            if let Some(krate) = line.trim_start().strip_prefix("Compiling ") {
                compiled += 1;
                bar.set_message(format!("{what}: {compiled} crates compiled, now {krate}"));
                // Without a terminal (CI logs) the bar is hidden: a line now and then.
                if bar.is_hidden() && compiled % 50 == 0 {
                    eprintln!("{what}: {compiled} crates compiled");
                }
            }
        }
    }
    let status = child.wait()?;
    bar.finish_and_clear();
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        bail!(
            "{what} failed ({status}); the last lines of {}:\n{tail}\n\
             Install it yourself, then run this command again:\n    {}\n\
             (or a pre-built binary: https://nexte.st/docs/installation/pre-built-binaries/)",
            log.display(),
            wanted.install_command()
        );
    }
    Ok(())
}

/// `cargo nextest` in `root`, building into `target`. The harness is told the target
/// directory too (it keeps its runs, locks and caches there), so a `build.target-dir`
/// or `--target-dir` that only cargo would see is where both look.
pub fn nextest_command(root: &Path, target: &Path) -> Command {
    // std's Command, not xshell's: xtask exits with nextest's own status (100: tests
    // failed, 4: no tests ran) while nextest writes straight to the terminal, and
    // xshell turns a non-zero status into an error without the code unless it
    // captures the output.
    let mut nextest = Command::new(crate::plumbing::workspace::cargo());
    nextest
        .current_dir(root)
        .arg("nextest")
        .env("CARGO_TARGET_DIR", target);
    nextest
}

/// What a non-zero exit of `cargo nextest` means, when it is not the tests' own verdict.
pub fn nextest_failure(status: std::process::ExitStatus) -> Option<&'static str> {
    use nextest_metadata::NextestExitCode as Code;
    Some(match status.code()? {
        Code::BUILD_FAILED => "the test binaries did not build; nothing ran",
        Code::TEST_LIST_CREATION_FAILED => "listing the cases failed; nothing ran",
        Code::SETUP_ERROR | Code::CARGO_METADATA_FAILED => "nextest could not start; nothing ran",
        Code::INVALID_FILTERSET => "the filterset is not valid; nothing ran",
        Code::REQUIRED_VERSION_NOT_MET => {
            "this cargo-nextest is older than .config/nextest.toml requires"
        }
        Code::NO_TESTS_RUN => "no case matched the selection",
        _ => return None,
    })
}

/// xtask's exit status: nextest's own (100: tests failed, 4: no tests ran).
pub fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    ExitCode::from(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requirement_reads_both_of_nextests_forms() {
        let plain = Wanted::parse("nextest-version = \"0.9.138\"\n[profile.ci]\nretries = 1\n");
        assert_eq!(
            plain.unwrap(),
            Wanted {
                required: Version::new(0, 9, 138),
                install: Version::new(0, 9, 138)
            }
        );
        let table = Wanted::parse(
            "nextest-version = { required = \"0.9.138\", recommended = \"0.9.140\" }",
        )
        .unwrap();
        assert_eq!(table.required, Version::new(0, 9, 138));
        assert_eq!(table.install, Version::new(0, 9, 140));
        assert_eq!(
            table.install_command(),
            "cargo install --locked cargo-nextest --version 0.9.140"
        );
        let err = Wanted::parse("nextest-version = { required = \"soon\" }").unwrap_err();
        assert!(
            format!("{err:#}").contains("`soon` is not a version"),
            "{err:#}"
        );
    }

    #[test]
    fn the_version_line_of_cargo_nextest() {
        assert_eq!(
            parse_version("cargo-nextest 0.9.143 (60fa45f63 2026-08-04)\nrelease: 0.9.143\n"),
            Some(Version::new(0, 9, 143))
        );
        assert_eq!(parse_version("error: no such command: `nextest`"), None);
    }

    #[test]
    fn this_workspace_asks_for_0_9_138() {
        let wanted = Wanted::of(&crate::plumbing::workspace::root()).unwrap();
        assert_eq!(wanted.required, Version::new(0, 9, 138));
    }
}
