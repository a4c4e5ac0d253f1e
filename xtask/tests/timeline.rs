//! The run's timeline, rendered by a real browser: headless Chromium screenshots the page
//! `cargo xtask report` wrote for a run with known starts and ends, and the pixels must
//! put each bar, the planned length, the predicted end, the idle gap and the tail where
//! those times say. `cargo xtask check`'s set-up installs Chromium; without it this test fails and says so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use torch_harness::plan::document::PlanMark;
use torch_harness::report::record::{Record, Span};
use torch_harness::report::verdict::Verdict;

const FINGERPRINT: &str = "abababababababababababababababababababababababababababababababab";

fn record(run: &Path, case: &str, start: f64, end: f64, slot: u32, verdict: Verdict) {
    let folder = run.join(case).join("attempt-1");
    std::fs::create_dir_all(&folder).unwrap();
    let t0 = 1_800_000_000.0;
    Record {
        wall_seconds: end - start,
        cwd: run.to_path_buf(),
        log: folder.join("output.log"),
        plan: Some(PlanMark {
            fingerprint: FINGERPRINT.into(),
            shard: 1,
            shards: 1,
            file: None,
        }),
        span: Some(Span {
            started_at: t0 + start,
            ended_at: t0 + end,
            slot: Some(slot),
        }),
        ..Record::new(case, verdict)
    }
    .write(&folder)
    .unwrap();
}

/// One shard, two slots: slot 0 runs test_a for 0-10 s (planned 15 s) and test_b for
/// 20-50 s; slot 1 runs test_c, which fails, for 0-60 s. The plan predicted 45 s.
fn scenario(dir: &Path) -> (PathBuf, PathBuf) {
    let run = dir.join("run-1");
    record(&run, "test_a", 0.0, 10.0, 0, Verdict::Passed);
    record(&run, "test_b", 20.0, 50.0, 0, Verdict::Passed);
    record(
        &run,
        "test_c",
        0.0,
        60.0,
        1,
        Verdict::Failed { exit_code: 1 },
    );
    let plan = dir.join("plan.json");
    let json = serde_json::json!({
        "format": 1,
        "fingerprint": FINGERPRINT,
        "inputs": {"times_source": null, "times_sha256": "", "selected": 3, "threads": 2,
                   "piece_startup_seconds": 15.0},
        "lower_bound_seconds": 45.0,
        "shards": [{"shard": 1, "predicted_seconds": 45.0, "cases": ["test_a", "test_b", "test_c"]}],
        "cases": [
            {"name": "test_a", "shard": 1, "seconds": 15.0, "serial": false},
            {"name": "test_b", "shard": 1, "seconds": 30.0, "serial": false},
            {"name": "test_c", "shard": 1, "seconds": null, "serial": false}
        ]
    });
    std::fs::write(&plan, serde_json::to_vec(&json).unwrap()).unwrap();
    (run, plan)
}

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    panic!(
        "no Chromium on PATH (nor CHROMIUM=...): this test renders the timeline in a real \
         browser; `cargo xtask check` installs it (or run `sudo apt-get install -y chromium`)"
    );
}

/// Processes whose command line mentions `marker` (our private profile and home).
fn processes_mentioning(marker: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            found.push(pid);
        }
    }
    found
}

fn screenshot(page: &Path, png: &Path, scratch: &Path) {
    let home = scratch.join("browser-home");
    std::fs::create_dir_all(&home).unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-crash-reporter",
            "--force-device-scale-factor=1",
            "--window-size=1240,520",
        ])
        .arg(format!(
            "--user-data-dir={}",
            home.join("profile").display()
        ))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(
        out.status.success() && png.is_file(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The browser's helpers (crashpad starts a session of its own) must be gone too.
    let marker = home.to_string_lossy().into_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_mentioning(&marker).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let left = processes_mentioning(&marker);
    for pid in &left {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(left.is_empty(), "chromium left {left:?} running");
}

struct Image {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

impl Image {
    fn read(path: &Path) -> Image {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        let rgb = buf[..info.buffer_size()]
            .chunks(channels)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Image {
            width: info.width as usize,
            height: info.height as usize,
            rgb,
        }
    }

    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.rgb[y * self.width + x]
    }

    /// The row with the most pixels of `colour`, and its runs of that colour as
    /// (first x, width); runs a few pixels apart are one (a dashed line crosses a bar).
    fn runs_on_fullest_row(&self, colour: [u8; 3]) -> (usize, Vec<(usize, usize)>) {
        let row_runs = |y: usize| {
            let mut runs = Vec::new();
            let mut x = 0;
            while x < self.width {
                if close(self.at(x, y), colour) {
                    let start = x;
                    while x < self.width && close(self.at(x, y), colour) {
                        x += 1;
                    }
                    match runs.last_mut() {
                        Some((first, width)) if start - (*first + *width) <= 4 => {
                            *width = x - *first;
                        }
                        _ => runs.push((start, x - start)),
                    }
                } else {
                    x += 1;
                }
            }
            runs
        };
        let total = |runs: &Vec<(usize, usize)>| runs.iter().map(|r| r.1).sum::<usize>();
        (0..self.height)
            .map(|y| (y, row_runs(y)))
            .max_by_key(|(_, runs)| total(runs))
            .unwrap()
    }
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 10)
}

fn hex(colour: &str) -> [u8; 3] {
    let c = colour.trim_start_matches('#');
    let byte = |i: usize| u8::from_str_radix(&c[i..i + 2], 16).unwrap();
    [byte(0), byte(2), byte(4)]
}

fn near(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= 2.5,
        "{what}: {actual} px, expected {expected:.1} px"
    );
}

#[test]
fn chromium_draws_the_bars_where_the_records_put_them() {
    let scratch = tempfile::tempdir().unwrap();
    let (run, plan) = scenario(scratch.path());
    let page = scratch.path().join("timeline.html");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("report")
        .arg(&run)
        .arg("--plan")
        .arg(&plan)
        .arg("--timeline")
        .arg(&page)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("timeline: {}", page.display())),
        "{stdout}"
    );

    let png = scratch.path().join("timeline.png");
    screenshot(&page, &png, scratch.path());
    let image = Image::read(&png);
    if let Some(keep) = std::env::var_os("TIMELINE_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }

    // test_c, failed, 0-60 s on slot 1: the one red bar gives the scale.
    let (red_row, red) = image.runs_on_fullest_row(hex("#e53935"));
    let &(left, red_width) = red.iter().max_by_key(|r| r.1).unwrap();
    assert!(red_width > 500, "the 60 s bar is {red_width} px wide");
    let px = red_width as f64 / 60.0;

    // Slot 0: test_a 0-10 s, then idle, then test_b 20-50 s; both green.
    let (green_row, green) = image.runs_on_fullest_row(hex("#43a047"));
    assert!(green_row < red_row, "slot 0 is drawn above slot 1");
    let bars: Vec<&(usize, usize)> = green.iter().filter(|r| r.1 as f64 > 5.0 * px).collect();
    assert_eq!(bars.len(), 2, "two green bars on slot 0: {green:?}");
    let (a, b) = (bars[0], bars[1]);
    near(a.0 as f64, left as f64, "test_a starts with test_c");
    near(a.1 as f64, 10.0 * px, "test_a's width");
    near(b.0 as f64 - left as f64, 20.0 * px, "test_b's start");
    near(b.1 as f64, 30.0 * px, "test_b's width");

    // The idle gap on slot 0 (15 s) shows the lane's empty grey; its tail (55 s), after
    // slot 0 finished for good, is tinted red.
    let idle = image.at(left + (15.0 * px) as usize, green_row);
    assert!(close(idle, hex("#eceff1")), "idle slot at 15 s is {idle:?}");
    let tail = image.at(left + (55.0 * px) as usize, green_row);
    assert!(
        tail[0] as i32 - tail[1] as i32 > 10 && !close(tail, hex("#eceff1")),
        "the tail at 55 s is {tail:?}"
    );

    // test_a's planned 15 s: a dark line under its bar, longer than the bar.
    let (_, planned) = image.runs_on_fullest_row(hex("#263238"));
    let line = planned
        .iter()
        .find(|r| (r.0 as f64 - left as f64).abs() <= 2.5)
        .unwrap_or_else(|| panic!("no planned line starting at {left}: {planned:?}"));
    near(line.1 as f64, 15.0 * px, "test_a's planned length");

    // The predicted end, 45 s: blue in the column there, between the shard's lanes.
    let x45 = left + (45.0 * px).round() as usize;
    let blue = (red_row.saturating_sub(40)..red_row + 10)
        .flat_map(|y| (x45 - 2..=x45 + 2).map(move |x| (x, y)))
        .filter(|&(x, y)| close(image.at(x, y), hex("#1565c0")))
        .count();
    assert!(blue > 0, "no predicted-end line near x = {x45}");
}
