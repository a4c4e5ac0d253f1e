//! GPUs and who holds them.
//!
//! `TORCH_HARNESS_DEVICES` (`cuda:0,1,2,3`, `rocm:0-7`, `none`) or detection
//! (`nvidia-smi -L`, `rocm-smi`) says which devices exist; each runs
//! `TORCH_HARNESS_PROCS_PER_DEVICE` cases at once (default 1). A case leases a device
//! slot through an exclusive lock file: nextest's slot number is only a hint (`slot mod
//! devices`), the lock is the truth. A case that needs every device takes all locks in
//! one global order, so leases never deadlock. The child sees only its devices through
//! `CUDA_VISIBLE_DEVICES` or `HIP_VISIBLE_DEVICES`.

use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const DEVICES_VAR: &str = "TORCH_HARNESS_DEVICES";
pub const PROCS_VAR: &str = "TORCH_HARNESS_PROCS_PER_DEVICE";
/// In a run's lock folder: the devices its first case found.
const NOTE_FILE: &str = "devices";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Cuda,
    Rocm,
}

impl Vendor {
    /// The variable that limits what the child sees.
    pub fn visible_var(self) -> &'static str {
        match self {
            Vendor::Cuda => "CUDA_VISIBLE_DEVICES",
            Vendor::Rocm => "HIP_VISIBLE_DEVICES",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Vendor::Cuda => "cuda",
            Vendor::Rocm => "rocm",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Devices {
    pub vendor: Vendor,
    /// Device ids as the driver names them; empty means no devices.
    pub ids: Vec<u32>,
    pub procs_per_device: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    #[error("{DEVICES_VAR}={0:?} is not a device list: use `none`, `cuda:0,1,2,3` or `rocm:0-7`")]
    BadList(String),
    #[error("{PROCS_VAR}={0:?} must be a whole number of at least 1")]
    BadProcs(String),
}

impl Devices {
    pub fn none() -> Devices {
        Devices {
            vendor: Vendor::Cuda,
            ids: Vec::new(),
            procs_per_device: 1,
        }
    }

    /// From the environment, or by asking the drivers' tools.
    pub fn from_env() -> Result<Devices, DeviceError> {
        Devices::from_env_or(detect)
    }

    /// The devices of one run whose lock folder is `dir`: from the environment, else
    /// what the run's first case found and noted in `dir`, else asked of the drivers'
    /// tools now and noted there. Each case of a plain `cargo nextest run` would
    /// otherwise start `nvidia-smi` and `rocm-smi` again (`cargo xtask test` sets
    /// `TORCH_HARNESS_DEVICES` once for the run).
    pub fn for_run(dir: &Path) -> Result<Devices, DeviceError> {
        Devices::from_env_or(|| noted(dir, detect))
    }

    fn from_env_or(detect: impl FnOnce() -> Devices) -> Result<Devices, DeviceError> {
        let procs = match std::env::var(PROCS_VAR) {
            Ok(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or(DeviceError::BadProcs(v))?,
            Err(_) => 1,
        };
        let mut devices = match std::env::var(DEVICES_VAR) {
            Ok(list) if !list.trim().is_empty() => Devices::parse(&list)?,
            _ => detect(),
        };
        devices.procs_per_device = procs;
        Ok(devices)
    }

    /// `none`, `cuda:0,1,2,3`, `rocm:0-7`, `cuda:0-1,4`.
    pub fn parse(list: &str) -> Result<Devices, DeviceError> {
        let bad = || DeviceError::BadList(list.to_string());
        let list = list.trim();
        if list == "none" {
            return Ok(Devices::none());
        }
        let (vendor, ids) = list.split_once(':').ok_or_else(bad)?;
        let vendor = match vendor {
            "cuda" => Vendor::Cuda,
            "rocm" | "hip" => Vendor::Rocm,
            _ => return Err(bad()),
        };
        let mut parsed = Vec::new();
        for part in ids.split(',') {
            let part = part.trim();
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b): (u32, u32) =
                        (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                    if a > b {
                        return Err(bad());
                    }
                    parsed.extend(a..=b);
                }
                None => parsed.push(part.parse().map_err(|_| bad())?),
            }
        }
        parsed.sort_unstable();
        parsed.dedup();
        if parsed.is_empty() {
            return Err(bad());
        }
        Ok(Devices {
            vendor,
            ids: parsed,
            procs_per_device: 1,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// How many cases can hold a device at once.
    pub fn slots(&self) -> usize {
        self.ids.len() * self.procs_per_device
    }

    /// Leases one device slot; `hint` (nextest's slot) picks the first device tried.
    /// Waits when every slot is held.
    pub fn lease_one(&self, lock_dir: &Path, hint: usize) -> std::io::Result<Lease> {
        std::fs::create_dir_all(lock_dir)?;
        let n = self.ids.len();
        let first = hint % n.max(1);
        // Every device from the hinted one on, each sub-slot in turn.
        let order: Vec<(u32, usize)> = (0..n)
            .map(|i| self.ids[(first + i) % n])
            .flat_map(|id| (0..self.procs_per_device).map(move |sub| (id, sub)))
            .collect();
        loop {
            for &(id, sub) in &order {
                let file = self.lock_file(lock_dir, id, sub)?;
                if file.try_lock().is_ok() {
                    return Ok(Lease {
                        vendor: self.vendor,
                        devices: vec![id],
                        _locks: vec![file],
                    });
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Leases every slot of every device (a case that uses them all), in one global
    /// order so two such cases never deadlock.
    pub fn lease_all(&self, lock_dir: &Path) -> std::io::Result<Lease> {
        std::fs::create_dir_all(lock_dir)?;
        let mut locks = Vec::new();
        for &id in &self.ids {
            for sub in 0..self.procs_per_device {
                let file = self.lock_file(lock_dir, id, sub)?;
                file.lock()?;
                locks.push(file);
            }
        }
        Ok(Lease {
            vendor: self.vendor,
            devices: self.ids.clone(),
            _locks: locks,
        })
    }

    fn lock_file(&self, dir: &Path, id: u32, sub: usize) -> std::io::Result<File> {
        let path: PathBuf = dir.join(format!("{}-{id}-{sub}.lock", self.vendor.name()));
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
    }
}

/// The list in `TORCH_HARNESS_DEVICES` syntax (`cuda:0,1`, `none`).
impl std::fmt::Display for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ids.is_empty() {
            return f.write_str("none");
        }
        let ids: Vec<String> = self.ids.iter().map(u32::to_string).collect();
        write!(f, "{}:{}", self.vendor.name(), ids.join(","))
    }
}

/// Devices held by a case until it is dropped.
#[derive(Debug)]
pub struct Lease {
    pub vendor: Vendor,
    pub devices: Vec<u32>,
    _locks: Vec<File>,
}

impl Lease {
    /// `CUDA_VISIBLE_DEVICES=1` (or HIP's) for the child.
    pub fn env(&self) -> (String, String) {
        let ids: Vec<String> = self.devices.iter().map(u32::to_string).collect();
        (self.vendor.visible_var().to_string(), ids.join(","))
    }

    /// `cuda:1` for records.
    pub fn names(&self) -> Vec<String> {
        self.devices
            .iter()
            .map(|id| format!("{}:{id}", self.vendor.name()))
            .collect()
    }
}

/// What `dir` notes, else `detect`'s answer, noted there (best effort: a case that
/// cannot write it asks the tools next time too).
fn noted(dir: &Path, detect: impl FnOnce() -> Devices) -> Devices {
    let note = dir.join(NOTE_FILE);
    if let Some(devices) = std::fs::read_to_string(&note)
        .ok()
        .and_then(|text| Devices::parse(&text).ok())
    {
        return devices;
    }
    let found = detect();
    let _ = crate::util::fs::write_atomic(&note, found.to_string().as_bytes());
    found
}

/// Asks `nvidia-smi -L`, then `rocm-smi`; no tool or no device means none.
fn detect() -> Devices {
    // Distinct leading `GPU n:` / `GPU[n]` tags: rocm-smi prints several lines per GPU.
    let count = |program: &str, args: &[&str], marker: &str, end: char| -> usize {
        let Some(out) = crate::launch::process::output(Command::new(program).args(args))
            .ok()
            .filter(|o| o.status.success())
        else {
            return 0;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let tags: std::collections::BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix(marker))
            .filter_map(|rest| rest.split(end).next())
            .collect();
        tags.len()
    };
    let (vendor, n) = match count("nvidia-smi", &["-L"], "GPU ", ':') {
        0 => (Vendor::Rocm, count("rocm-smi", &["--showid"], "GPU[", ']')),
        n => (Vendor::Cuda, n),
    };
    if n == 0 {
        return Devices::none();
    }
    Devices {
        vendor,
        ids: (0..n as u32).collect(),
        procs_per_device: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_first_case_asks_the_tools_and_the_others_read_its_note() {
        let dir = tempfile::tempdir().unwrap();
        let asked = std::cell::Cell::new(0);
        let ask = || {
            asked.set(asked.get() + 1);
            Devices::parse("cuda:0,1").unwrap()
        };
        let first = noted(dir.path(), ask);
        let second = noted(dir.path(), ask);
        assert_eq!(asked.get(), 1, "the tools were asked again");
        assert_eq!(first, second);
        assert_eq!(second.to_string(), "cuda:0,1");
        // No devices is an answer too, not a reason to ask again.
        let none = tempfile::tempdir().unwrap();
        noted(none.path(), Devices::none);
        assert_eq!(noted(none.path(), ask), Devices::none());
        assert_eq!(asked.get(), 1);
    }

    #[test]
    fn device_lists_parse() {
        assert_eq!(Devices::parse("none").unwrap(), Devices::none());
        let cuda = Devices::parse("cuda:0,1,2,3").unwrap();
        assert_eq!(
            (cuda.vendor, cuda.ids.clone()),
            (Vendor::Cuda, vec![0, 1, 2, 3])
        );
        let rocm = Devices::parse("rocm:0-7").unwrap();
        assert_eq!((rocm.vendor, rocm.ids.len()), (Vendor::Rocm, 8));
        assert_eq!(Devices::parse("cuda:0-1,4").unwrap().ids, [0, 1, 4]);
        assert_eq!(
            Devices::parse("rocm:0-2").unwrap().to_string(),
            "rocm:0,1,2"
        );
        assert_eq!(Devices::none().to_string(), "none");
        for bad in ["gpu:0", "cuda:", "cuda:a", "cuda:3-1", "0,1"] {
            assert!(Devices::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn leases_are_exclusive_and_follow_the_hint() {
        let dir = tempfile::tempdir().unwrap();
        let devices = Devices::parse("cuda:0,1").unwrap();
        let a = devices.lease_one(dir.path(), 1).unwrap();
        assert_eq!(a.devices, [1]);
        // The hinted device is taken, so the next lease moves on.
        let b = devices.lease_one(dir.path(), 1).unwrap();
        assert_eq!(b.devices, [0]);
        assert_eq!(
            b.env(),
            ("CUDA_VISIBLE_DEVICES".to_string(), "0".to_string())
        );
        drop(a);
        let c = devices.lease_one(dir.path(), 0).unwrap();
        assert_eq!(c.devices, [1]);
        drop((b, c));
        let all = devices.lease_all(dir.path()).unwrap();
        assert_eq!(all.names(), ["cuda:0", "cuda:1"]);
    }
}
