//! Runs a launch: the child stays in the harness's process group (so nextest's group
//! signals reach it), its output streams through to ours and into the attempt's log.

use crate::launch::Launch;
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub wall: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot create {path}: {source}")]
    Prepare {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not start `{program}`: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("lost track of the child process: {0}")]
    Wait(std::io::Error),
}

pub fn run(launch: &Launch) -> Result<Finished, RunError> {
    let prepare = |path: PathBuf| move |source| RunError::Prepare { path, source };
    std::fs::create_dir_all(&launch.dir).map_err(prepare(launch.dir.clone()))?;
    let log_path = launch.log_path();
    let mut log = File::create(&log_path).map_err(prepare(log_path.clone()))?;
    // The log says what ran and where, so it stands on its own.
    let header = format!(
        "$ cd {} && {}\n",
        launch.cwd.display(),
        launch.command_line()
    );
    log.write_all(header.as_bytes())
        .map_err(prepare(log_path.clone()))?;
    let log = Arc::new(Mutex::new(log));

    let started = Instant::now();
    let mut child = Command::new(&launch.program)
        .args(&launch.args)
        .current_dir(&launch.cwd)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| RunError::Spawn {
            program: launch.program.clone(),
            source,
        })?;
    let copiers = [
        child
            .stdout
            .take()
            .map(|out| tee(out, std::io::stdout(), Arc::clone(&log))),
        child
            .stderr
            .take()
            .map(|err| tee(err, std::io::stderr(), Arc::clone(&log))),
    ];
    let status = child.wait().map_err(RunError::Wait)?;
    for copier in copiers.into_iter().flatten() {
        let _ = copier.join();
    }
    Ok(Finished {
        status,
        wall: started.elapsed(),
    })
}

/// Copies `from` to `to` and the log until end of file. Writes are best-effort: a
/// closed terminal must not stop the log, and a full disk must not stop the test.
fn tee(
    mut from: impl Read + Send + 'static,
    mut to: impl Write + Send + 'static,
    log: Arc<Mutex<File>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let _ = to.write_all(&buf[..n]);
                    let _ = to.flush();
                    if let Ok(mut log) = log.lock() {
                        let _ = log.write_all(&buf[..n]);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    })
}
