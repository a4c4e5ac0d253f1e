//! Distributed cases: each file run_test.py hands to its per-backend handler, times
//! each backend of DISTRIBUTED_TESTS_CONFIG, times each init method. A backend this
//! machine cannot run is listed as ignored with the reason, never dropped.

use crate::case::{DistributedCase, InitMethod, TestModule};
use crate::discover::probe::PythonEnv;
use crate::launch::devices::Devices;
use crate::policy::{Handler, Policy};
use std::path::Path;

/// How a backend runs here, or why it cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSetup {
    pub world_size: usize,
    /// Uses every GPU (NCCL, gloo on a GPU machine).
    pub all_devices: bool,
    /// `mpiexec -n 3 …` in front of the command, for MPI.
    pub launcher: Vec<String>,
}

/// Each backend of the policy with its set-up here, or why it cannot run.
pub type Backends = Vec<(String, Result<BackendSetup, String>)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredDistributed {
    pub case: DistributedCase,
    pub setup: Result<BackendSetup, String>,
}

/// The backends of the policy with their set-up on this machine.
pub fn backends(policy: &Policy, python: Option<&PythonEnv>, devices: &Devices) -> Backends {
    policy
        .distributed_tests_config
        .iter()
        .map(|(name, rule)| {
            let gpus = devices.ids.len();
            let setup = (|| {
                // What the machine lacks first: it is the most useful reason.
                let launcher = match rule.requires.as_deref() {
                    Some("gpus") if gpus == 0 => return Err(format!("`{name}` needs GPUs")),
                    Some("mpiexec") => mpi_launcher()?,
                    _ => Vec::new(),
                };
                match &policy.distributed.available_backends {
                    Some(listed) if !listed.contains(name) => {
                        return Err(format!(
                            "`{name}` is not in this checkout's distributed.available_backends"
                        ));
                    }
                    Some(_) => {}
                    None => match python {
                        Some(env) => env.has_backend(name)?,
                        None => return Err("the interpreter could not be probed".into()),
                    },
                }
                let world_size = world_size(&rule.world_size, gpus).ok_or_else(|| {
                    format!("WORLD_SIZE rule `{}` is not understood", rule.world_size)
                })?;
                Ok(BackendSetup {
                    world_size,
                    all_devices: gpus > 0 && world_size > 1 && rule.world_size.starts_with("gpus"),
                    launcher,
                })
            })();
            (name.clone(), setup)
        })
        .collect()
}

/// The backends as this machine and the settings' interpreter can run them. A
/// checkout that names its backends (`distributed.available_backends`) needs no torch
/// to be asked; otherwise the interpreter is probed once and the answer cached.
pub fn backends_here(
    settings: &crate::settings::Settings,
    policy: &Policy,
) -> Result<Backends, String> {
    let devices = Devices::from_env().map_err(|e| e.to_string())?;
    let env = match policy.distributed.available_backends {
        Some(_) => None,
        None => Some(
            crate::discover::probe::python_env(&settings.python, &settings.cache_dir())
                .map_err(|e| e.to_string())?,
        ),
    };
    Ok(backends(policy, env.as_ref(), &devices))
}

/// `3`, `gpus`, `gpus_or_3`.
fn world_size(rule: &str, gpus: usize) -> Option<usize> {
    match rule {
        "gpus" => Some(gpus),
        _ => match rule.strip_prefix("gpus_or_") {
            Some(fallback) => Some(if gpus > 0 {
                gpus
            } else {
                fallback.parse().ok()?
            }),
            None => rule.parse().ok(),
        },
    }
}

/// `mpiexec -n 3` plus the flags this mpiexec needs, as run_test.py probes them.
fn mpi_launcher() -> Result<Vec<String>, String> {
    let works = |extra: &[&str]| {
        crate::launch::process::output(
            std::process::Command::new("mpiexec")
                .args(extra)
                .args(["-n", "1", "bash", "-c", ""]),
        )
        .is_ok_and(|o| o.status.success())
    };
    if crate::launch::process::output(std::process::Command::new("mpiexec").arg("--version"))
        .is_err()
    {
        return Err("mpiexec not found".into());
    }
    let mut launcher = vec!["mpiexec".to_string(), "-n".into(), "3".into()];
    if works(&["--allow-run-as-root"]) {
        launcher.push("--allow-run-as-root".into());
    }
    if works(&["--noprefix"]) {
        launcher.push("--noprefix".into());
    }
    Ok(launcher)
}

/// The files run per backend, sorted.
pub fn files(root: &Path, policy: &Policy) -> Vec<TestModule> {
    let mut found: Vec<TestModule> = policy
        .custom_handlers
        .iter()
        .filter(|(_, h)| **h == Handler::Distributed)
        .filter_map(|(m, _)| TestModule::new(m).ok())
        .filter(|m| m.file(root).is_file())
        .collect();
    found.sort();
    found
}

/// The policy's init methods, in order.
pub fn init_methods(policy: &Policy) -> Vec<InitMethod> {
    policy
        .distributed
        .init_methods
        .iter()
        .filter_map(|m| InitMethod::parse(m))
        .collect()
}

/// Every distributed case of `root`, sorted by name: each file per backend and init
/// method (cutting a file into class runs is the plan's, `plan::class_runs`).
pub fn discover(
    root: &Path,
    policy: &Policy,
    backends: &[(String, Result<BackendSetup, String>)],
) -> Vec<DiscoveredDistributed> {
    let mut found = Vec::new();
    for module in files(root, policy) {
        for (backend, setup) in backends {
            for init in init_methods(policy) {
                found.push(DiscoveredDistributed {
                    case: DistributedCase {
                        module: module.clone(),
                        classes: None,
                        backend: backend.clone(),
                        init,
                    },
                    setup: setup.clone(),
                });
            }
        }
    }
    found.sort_by_key(|d| d.case.name());
    found
}

/// The one case `case` names, without walking anything.
pub fn lookup(
    root: &Path,
    policy: &Policy,
    backends: &[(String, Result<BackendSetup, String>)],
    case: &DistributedCase,
) -> Result<DiscoveredDistributed, String> {
    if policy.handler(case.module.as_str()) != Some(Handler::Distributed) {
        return Err(format!(
            "{} is not run per backend (CUSTOM_HANDLERS in test-manifests/handlers.toml)",
            case.module
        ));
    }
    if !case.module.file(root).is_file() {
        return Err(format!(
            "{} does not exist",
            case.module.file(root).display()
        ));
    }
    if !init_methods(policy).contains(&case.init) {
        return Err(format!(
            "init method `{}` is not configured",
            case.init.name()
        ));
    }
    let setup = backends
        .iter()
        .find(|(name, _)| *name == case.backend)
        .map(|(_, setup)| setup.clone())
        .ok_or_else(|| {
            format!(
                "backend `{}` is not in DISTRIBUTED_TESTS_CONFIG",
                case.backend
            )
        })?;
    Ok(DiscoveredDistributed {
        case: case.clone(),
        setup,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_size_rules() {
        assert_eq!(world_size("1", 0), Some(1));
        assert_eq!(world_size("gpus_or_3", 0), Some(3));
        assert_eq!(world_size("gpus_or_3", 8), Some(8));
        assert_eq!(world_size("gpus", 2), Some(2));
        assert_eq!(world_size("many", 2), None);
    }

    #[test]
    fn backends_follow_the_machine() {
        let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-manifests");
        let mut policy = Policy::load(&manifests, Path::new("/nonexistent")).unwrap();
        policy.distributed.available_backends =
            Some(vec!["test".into(), "gloo".into(), "nccl".into()]);
        let cpu = backends(&policy, None, &Devices::none());
        let get = |list: &[(String, Result<BackendSetup, String>)], name: &str| {
            list.iter().find(|(n, _)| n == name).unwrap().1.clone()
        };
        assert_eq!(get(&cpu, "gloo").unwrap().world_size, 3);
        assert_eq!(get(&cpu, "test").unwrap().world_size, 1);
        assert!(get(&cpu, "nccl").unwrap_err().contains("needs GPUs"));
        assert!(get(&cpu, "mpi").is_err());
        let gpus = backends(&policy, None, &Devices::parse("cuda:0-3").unwrap());
        let nccl = get(&gpus, "nccl").unwrap();
        assert_eq!((nccl.world_size, nccl.all_devices), (4, true));
        assert_eq!(get(&gpus, "gloo").unwrap().world_size, 4);
        assert!(!get(&gpus, "test").unwrap().all_devices);
    }
}
