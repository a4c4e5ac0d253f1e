//! An attempt's process runs, in order, each under the run lock as its phase asks and
//! then with its devices: always lock first, leases second, released in reverse, so the
//! lock and the leases never wait on each other in a cycle. A failed phase stops the
//! rest unless the run keeps going.

use super::Context;
use super::attempt::Attempt;
use crate::handlers;
use crate::launch::devices::{Devices, Lease};
use crate::launch::process::Limits;
use crate::launch::run_lock::{RunLock, Share};
use crate::launch::stepcurrent::{self, FileRun};
use crate::report::record::Held;
use crate::settings::Settings;
use std::time::{Duration, SystemTime};

/// What the phases of an attempt did together.
pub(super) struct Ran {
    pub(super) file: FileRun,
    /// When the first phase got the run lock.
    pub(super) started: SystemTime,
    /// Time spent waiting for the run lock, outside every process's timeout.
    pub(super) waited: Duration,
    pub(super) commands: Vec<String>,
    /// The variables that shaped the processes (`Launch::shaping_env`, devices included).
    pub(super) env: Vec<(String, String)>,
    pub(super) devices: Vec<String>,
    /// How long the phases held the run, alone and shared.
    pub(super) held: Held,
}

pub(super) fn run_phases(
    cx: &Context,
    attempt: &Attempt<'_>,
    options: &stepcurrent::Options,
) -> Result<Ran, String> {
    let name = &attempt.launch.case;
    let lock = RunLock::for_run(&cx.settings.out_dir);
    let mut ran: Option<FileRun> = None;
    let (mut waited, mut commands, mut devices) = (Duration::ZERO, Vec::new(), Vec::new());
    let mut started = None;
    // Files a set-up placed in the checkout, removed once every phase ran.
    let mut placed = None;
    let mut env = Vec::new();
    let mut held = Held::default();
    // A case that runs alone first keeps its gate up until its run-alone part is done;
    // every other case's shared part waits at the gate (run_lock::FIRST_VAR).
    let first = crate::launch::run_lock::first_from_env();
    let mut gate = if first.iter().any(|c| c == name) {
        Some(lock.put_up_gate(name).map_err(|e| {
            format!(
                "cannot put up its gate under {}: {e}",
                cx.settings.out_dir.display()
            )
        })?)
    } else {
        None
    };
    for (i, phase) in attempt.phases.iter().enumerate() {
        if phase.share == Share::Shared {
            drop(gate.take());
            waited += lock.pass_gates(&first, name).map_err(|e| {
                format!(
                    "cannot wait for the cases that run alone first under {}: {e}",
                    cx.settings.out_dir.display()
                )
            })?;
        }
        let hold = lock
            .hold(phase.share, || {
                let why = match phase.share {
                    Share::Alone => "waits to run alone",
                    Share::Shared => "waits for a case running alone",
                };
                eprintln!("torch-harness: {name}: {why}");
            })
            .map_err(|e| {
                format!(
                    "cannot take the run lock under {}: {e}",
                    cx.settings.out_dir.display()
                )
            })?;
        waited += hold.waited;
        let granted = std::time::Instant::now();
        started.get_or_insert_with(SystemTime::now);
        let lease = lease_devices(&cx.settings, attempt.all_devices)?;
        let mut launch = match phase.markexpr {
            Some(expr) => attempt.launch.with_markexpr(expr),
            None => attempt.launch.clone(),
        };
        if let Some(lease) = &lease {
            launch.env.push(lease.env());
            devices.extend(lease.names());
        }
        // As the first process starts, its stepcurrent flags included.
        let command = stepcurrent::first_process(&launch).command_line();
        eprintln!(
            "torch-harness: {name}: {command} ({})",
            phase.share.describe()
        );
        commands.push(command);
        env = launch.shaping_env();
        if let Some(meeting) = attempt.rendezvous {
            meeting.release_port();
        }
        // A handler's set-up runs once, before the first phase's tests, holding what
        // that phase holds (a handler's file runs alone).
        let file = if i == 0 && !attempt.steps.is_empty() {
            match set_up(cx, attempt, options, lease.as_ref())? {
                Ok(done) => {
                    placed = Some(done.placed);
                    let mut file = stepcurrent::run(&launch, options).map_err(|e| e.to_string())?;
                    file.wall += done.wall;
                    file.leftovers += done.leftovers;
                    file
                }
                Err(failed) => failed,
            }
        } else {
            stepcurrent::run(&launch, options).map_err(|e| e.to_string())?
        };
        drop(lease);
        drop(hold);
        if phase.share == Share::Alone {
            drop(gate.take());
        }
        let seconds = granted.elapsed().as_secs_f64();
        match phase.share {
            Share::Alone => held.alone += seconds,
            Share::Shared => held.shared += seconds,
        }
        let failed = file.failed();
        let mut file = match ran.take() {
            Some(mut before) => {
                before.append(file);
                before
            }
            None => file,
        };
        let stop = failed && !options.keep_going;
        if stop && i + 1 < attempt.phases.len() {
            file.note = Some(format!(
                "{}; the tests not marked @serialTest did not run",
                file.note
                    .as_deref()
                    .unwrap_or("the @serialTest tests failed")
            ));
        }
        ran = Some(file);
        if stop {
            break;
        }
    }
    drop(placed);
    devices.sort();
    devices.dedup();
    Ok(Ran {
        file: ran.unwrap_or_default(),
        started: started.unwrap_or_else(SystemTime::now),
        waited,
        commands,
        env,
        devices,
        held,
    })
}

/// Runs the attempt's set-up steps (with the phase's devices), bounded by the policy's
/// build limit; a failing step becomes the attempt's run, with a note saying which.
fn set_up(
    cx: &Context,
    attempt: &Attempt<'_>,
    options: &stepcurrent::Options,
    lease: Option<&Lease>,
) -> Result<Result<handlers::steps::Done, FileRun>, String> {
    let limits = Limits {
        timeout: Duration::try_from_secs_f64(cx.policy.timeouts.build_seconds).ok(),
        grace: options.limits.grace,
    };
    let mut steps = attempt.steps.to_vec();
    if let Some(lease) = lease {
        for step in &mut steps {
            if let handlers::steps::Step::Run(launch) = step {
                launch.env.push(lease.env());
            }
        }
    }
    let outcome = handlers::steps::run(&steps, limits, &attempt.launch.log_path())
        .map_err(|e| e.to_string())?;
    Ok(outcome.map_err(|failed| {
        let run = (failed.status, failed.ended);
        FileRun {
            runs: vec![run],
            last: run,
            worst: Some(run),
            wall: failed.wall,
            leftovers: failed.leftovers,
            note: Some(format!("set-up failed: {}", failed.step)),
            ..Default::default()
        }
    }))
}

/// One device for the case (every device when `all`) when the machine has any; waits
/// while they are held.
fn lease_devices(settings: &Settings, all: bool) -> Result<Option<Lease>, String> {
    let devices =
        Devices::for_run(RunLock::for_run(&settings.out_dir).dir()).map_err(|e| e.to_string())?;
    if devices.is_empty() {
        return Ok(None);
    }
    let locks = settings.target_dir.join("torch-harness/locks");
    if all {
        return devices
            .lease_all(&locks)
            .map(Some)
            .map_err(|e| format!("cannot lease the devices under {}: {e}", locks.display()));
    }
    let hint = std::env::var("NEXTEST_TEST_GLOBAL_SLOT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    devices
        .lease_one(&locks, hint)
        .map(Some)
        .map_err(|e| format!("cannot lease a device under {}: {e}", locks.display()))
}
