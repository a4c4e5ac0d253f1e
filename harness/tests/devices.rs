//! Device leases with fake devices: probe cases record the device they were given and
//! when they ran; at 8 threads over 4 devices no device ever holds more cases than its
//! capacity, every device reaches it, and every device is used.

mod common;

use std::collections::BTreeMap;

/// Holds its device for a moment, and with PARTNERS=n first waits (up to 5 s) until n
/// cases hold the device together, so a capacity of n is reached whenever the leases
/// allow it, however slowly the machine starts processes.
const PROBE: &str = r#"import os, time
device = os.environ.get('CUDA_VISIBLE_DEVICES', '-')
held = os.path.join(os.environ["HELD_DIR"], device)
os.makedirs(held, exist_ok=True)
me = os.path.join(held, str(os.getpid()))
open(me, "w").close()
start = time.time()
deadline = start + 5
while len(os.listdir(held)) < int(os.environ["PARTNERS"]) and time.time() < deadline:
    time.sleep(0.01)
time.sleep(0.15)
end = time.time()
os.remove(me)
with open(os.environ["PROBE_LOG"], "a") as f:
    f.write(f"{device} {start} {end}\n")
"#;

/// Runs 40 probe cases on `threads` workers, as nextest would (one process per case,
/// each worker with its own slot number), and returns device → [(start, end)].
fn run_probes(devices: &str, procs: usize, threads: usize) -> BTreeMap<String, Vec<(f64, f64)>> {
    let files: Vec<(String, &str)> = (0..40)
        .map(|i| (format!("test/test_probe_{i:02}.py"), PROBE))
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let checkout = common::Checkout::new(&refs);
    let target = tempfile::tempdir().unwrap();
    let log = checkout.root().join("probe.log");
    std::thread::scope(|s| {
        for slot in 0..threads {
            let (root, target, log) = (checkout.root(), target.path(), log.as_path());
            s.spawn(move || {
                for case in (slot..40).step_by(threads) {
                    let out = common::harness_command()
                        .args(["python", &format!("test_probe_{case:02}"), "--exact"])
                        .env("PYTORCH_ROOT", root)
                        .env("CARGO_TARGET_DIR", target)
                        .env("TORCH_HARNESS_MANIFESTS", common::manifests())
                        .env("TORCH_HARNESS_PYTEST", "0")
                        .env("PYTHON", "python3")
                        .env("NEXTEST", "1")
                        .env("NEXTEST_TEST_GLOBAL_SLOT", slot.to_string())
                        .env("TORCH_HARNESS_DEVICES", devices)
                        .env("TORCH_HARNESS_PROCS_PER_DEVICE", procs.to_string())
                        .env("PROBE_LOG", log)
                        .env("HELD_DIR", root.join("held"))
                        .env("PARTNERS", procs.to_string())
                        .output()
                        .unwrap();
                    assert!(out.status.success(), "{}", common::stderr(&out));
                }
            });
        }
    });
    let mut by_device: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for line in std::fs::read_to_string(&log).unwrap().lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        by_device
            .entry(parts[0].to_string())
            .or_default()
            .push((parts[1].parse().unwrap(), parts[2].parse().unwrap()));
    }
    by_device
}

/// The most cases that held the device at one moment.
fn peak(intervals: &[(f64, f64)]) -> usize {
    let mut events: Vec<(f64, i32)> = intervals
        .iter()
        .flat_map(|&(a, b)| [(a, 1), (b, -1)])
        .collect();
    // Ends before starts at the same instant.
    events.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    let (mut now, mut most) = (0, 0);
    for (_, delta) in events {
        now += delta;
        most = most.max(now);
    }
    most as usize
}

fn check(devices: &str, procs: usize) {
    let seen = run_probes(devices, procs, 8);
    assert_eq!(
        seen.keys().cloned().collect::<Vec<_>>(),
        ["0", "1", "2", "3"],
        "{seen:?}"
    );
    assert_eq!(seen.values().map(Vec::len).sum::<usize>(), 40);
    for (device, intervals) in &seen {
        let most = peak(intervals);
        eprintln!("device {device}: {} cases, peak {most}", intervals.len());
        assert!(most <= procs, "device {device} held {most} cases at once");
        assert_eq!(
            most, procs,
            "device {device} never held {procs} cases at once: its capacity is not {procs}"
        );
    }
}

#[test]
fn one_case_per_device_at_a_time() {
    check("cuda:0,1,2,3", 1);
}

#[test]
fn procs_per_device_sets_the_capacity() {
    check("cuda:0-3", 2);
}

#[test]
fn a_bad_device_list_fails_the_case_with_the_fix() {
    let checkout = common::Checkout::new(&[("test/test_a.py", "")]);
    let out = common::harness_command()
        .args(["python", "test_a", "--exact"])
        .env("PYTORCH_ROOT", checkout.root())
        .env("TORCH_HARNESS_OUT", checkout.root().join("out"))
        .env("TORCH_HARNESS_PYTEST", "0")
        .env("PYTHON", "python3")
        .env("TORCH_HARNESS_DEVICES", "gpu:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = common::stderr(&out);
    assert!(err.contains("cuda:0,1,2,3"), "{err}");
}
