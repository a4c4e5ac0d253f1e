//! The set-up steps of a handler case, run in order before its tests. Each writes to
//! the attempt's log; the first that fails ends the set-up, and its status becomes the
//! case's verdict.

use crate::launch::Launch;
use crate::launch::process::{self, Ended, Limits, RunError};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

/// Build leftovers a staged copy leaves out, so every build starts clean as
/// run_test.py's does after wiping `build/`.
const LEFT_OUT: [&str; 5] = ["build", "install", "dist", "__pycache__", ".eggs"];

#[derive(Debug, Clone)]
pub enum Step {
    /// Copies a source tree into the attempt's folder, without build leftovers.
    Stage { from: PathBuf, to: PathBuf },
    /// A build or install command.
    Run(Launch),
    /// Copies a file into the checkout for the test's run; removed after it.
    Place { from: PathBuf, to: PathBuf },
    /// Links `link` in the checkout to `target` for the test's run, unless `link`
    /// exists; removed after it.
    Link { target: PathBuf, link: PathBuf },
    /// Writes a file the test runs.
    Write { path: PathBuf, text: &'static str },
}

/// Files placed in the checkout for one run, removed when this is dropped, on every
/// way out of the case.
#[derive(Debug, Default)]
pub struct Placed(Vec<PathBuf>);

impl Drop for Placed {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// How the set-up ended when it did not get the case to its tests.
#[derive(Debug)]
pub struct Failed {
    /// The failing step, as the log names it.
    pub step: String,
    pub status: ExitStatus,
    pub ended: Option<Ended>,
    pub wall: Duration,
    pub leftovers: usize,
}

/// What the set-up cost when it succeeded.
#[derive(Debug, Default)]
pub struct Done {
    pub placed: Placed,
    pub wall: Duration,
    pub leftovers: usize,
}

/// Runs `steps`, logging into `log`; commands run under `limits`.
pub fn run(steps: &[Step], limits: Limits, log: &Path) -> Result<Result<Done, Failed>, RunError> {
    let mut done = Done::default();
    for step in steps {
        let io_failure = |what: String, e: std::io::Error| {
            note(log, &format!("torch-harness: {what} failed: {e}"));
            Failed {
                step: what,
                status: ExitStatus::from_raw(1 << 8),
                ended: None,
                wall: Duration::ZERO,
                leftovers: 0,
            }
        };
        match step {
            Step::Stage { from, to } => {
                let what = format!("copying {} to {}", from.display(), to.display());
                note(log, &format!("torch-harness: {what}"));
                if let Err(e) = copy_tree(from, to) {
                    return Ok(Err(io_failure(what, e)));
                }
            }
            Step::Place { from, to } => {
                let what = format!("copying {} to {}", from.display(), to.display());
                note(log, &format!("torch-harness: {what} for this run"));
                done.placed.0.push(to.clone());
                if let Err(e) = std::fs::copy(from, to) {
                    return Ok(Err(io_failure(what, e)));
                }
            }
            Step::Link { target, link } => {
                if link.symlink_metadata().is_ok() {
                    continue;
                }
                let what = format!("linking {} to {}", link.display(), target.display());
                note(log, &format!("torch-harness: {what} for this run"));
                if let Err(e) = std::os::unix::fs::symlink(target, link) {
                    return Ok(Err(io_failure(what, e)));
                }
                done.placed.0.push(link.clone());
            }
            Step::Write { path, text } => {
                let what = format!("writing {}", path.display());
                if let Err(e) = crate::util::fs::write_atomic(path, text.as_bytes()) {
                    return Ok(Err(io_failure(what, e)));
                }
            }
            Step::Run(launch) => {
                let finished = process::run(launch, limits)?;
                done.wall += finished.wall;
                done.leftovers += finished.leftovers;
                if finished.ended.is_some() || !finished.status.success() {
                    return Ok(Err(Failed {
                        step: format!("`{}` in {}", launch.command_line(), launch.cwd.display()),
                        status: finished.status,
                        ended: finished.ended,
                        wall: done.wall,
                        leftovers: done.leftovers,
                    }));
                }
            }
        }
    }
    Ok(Ok(done))
}

fn note(log: &Path, line: &str) {
    eprintln!("{line}");
    if let Some(dir) = log.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(file, "{line}");
    }
}

/// Copies the tree at `from` to `to`, leaving out build leftovers and egg-info.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let walk = walkdir::WalkDir::new(from)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0 || !(LEFT_OUT.contains(&name.as_ref()) || name.ends_with(".egg-info"))
        });
    for entry in walk {
        let entry = entry.map_err(std::io::Error::other)?;
        let rel = entry
            .path()
            .strip_prefix(from)
            .map_err(std::io::Error::other)?;
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_copy_leaves_build_leftovers_behind() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        for f in [
            "setup.py",
            "pkg/__init__.py",
            "build/old.o",
            "install/x/y.py",
            "pkg.egg-info/PKG-INFO",
            "sub/build/z.o",
        ] {
            let p = src.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, f).unwrap();
        }
        let log = dir.path().join("case/output.log");
        let steps = [Step::Stage {
            from: src.clone(),
            to: dir.path().join("case/stage"),
        }];
        let limits = Limits {
            timeout: None,
            grace: Duration::from_secs(1),
        };
        assert!(run(&steps, limits, &log).unwrap().is_ok());
        let staged = dir.path().join("case/stage");
        let mut copied: Vec<String> = walkdir::WalkDir::new(&staged)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                e.path()
                    .strip_prefix(&staged)
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        copied.sort();
        assert_eq!(copied, ["pkg/__init__.py", "setup.py"]);
        assert!(std::fs::read_to_string(&log).unwrap().contains("copying"));
    }

    #[test]
    fn placed_files_are_removed_and_a_missing_source_fails_the_set_up() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "x").unwrap();
        let limits = Limits {
            timeout: None,
            grace: Duration::from_secs(1),
        };
        let log = dir.path().join("output.log");
        let placed = dir.path().join("a_copy.py");
        let done = run(
            &[Step::Place {
                from: dir.path().join("a.py"),
                to: placed.clone(),
            }],
            limits,
            &log,
        )
        .unwrap()
        .unwrap();
        assert!(placed.is_file());
        drop(done);
        assert!(!placed.exists());
        // A link is made only where nothing is, and only the one made is removed.
        let (target, link, taken) = (
            dir.path().join("t"),
            dir.path().join("l"),
            dir.path().join("a.py"),
        );
        let steps = [
            Step::Link {
                target: target.clone(),
                link: link.clone(),
            },
            Step::Link {
                target,
                link: taken.clone(),
            },
        ];
        let done = run(&steps, limits, &log).unwrap().unwrap();
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        drop(done);
        assert!(link.symlink_metadata().is_err());
        assert_eq!(std::fs::read_to_string(&taken).unwrap(), "x");
        let failed = run(
            &[Step::Stage {
                from: dir.path().join("nowhere"),
                to: dir.path().join("stage"),
            }],
            limits,
            &log,
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(failed.status.code(), Some(1));
        assert!(failed.step.contains("nowhere"), "{}", failed.step);
    }
}
