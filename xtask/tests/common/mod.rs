//! What the end-to-end tests of xtask share: the workspace, commands free of the outer
//! run's configuration, and the cases a run left records for.

#![allow(dead_code)]

use nextest_metadata::{ListCommand, TestListSummary};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `cmd` in the workspace, without the outer nextest run's variables or any selection
/// the environment carries, so the inner run is configured only by what the test sets.
/// System packages are the outer `cargo xtask check`'s set-up: an inner xtask neither
/// installs nor checks them (a test never runs apt-get).
pub fn clean(mut cmd: Command) -> Command {
    scrub::scrub(&mut cmd);
    cmd.current_dir(workspace())
        .env("TORCH_HARNESS_SYSTEM_SETUP", "off");
    cmd
}

/// Every case of the demo that runs on this machine, written out: its Python files, its
/// distributed configurations (the demo declares the `test` and `gloo` backends) and,
/// when GoogleTest is installed for `cargo xtask setup` to build them, its C++ suites.
pub fn demo_cases() -> Vec<&'static str> {
    let mut cases = vec![
        "distributed::test_c10d_common",
        "distributed::test_launcher",
        "inductor::test_codecache",
        "inductor::test_torchinductor",
        "nn::test_convolution",
        "nn::test_pooling",
        "test_autograd",
        "test_dataloader",
        "test_large_tensors",
        "test_linalg",
        "test_memory_format",
        "test_multiprocessing",
        "test_nn",
        "test_ops",
        "test_serialization",
        "test_sort_and_select",
        "test_torch",
        "distributed::test_distributed_spawn::gloo::init_env",
        "distributed::test_distributed_spawn::gloo::init_file",
        "distributed::test_distributed_spawn::test::init_env",
        "distributed::test_distributed_spawn::test::init_file",
    ];
    if googletest_installed() {
        cases.extend(DEMO_CPP_CASES);
    }
    cases
}

/// The demo's C++ suites (demo/csrc/), built when GoogleTest is installed.
pub const DEMO_CPP_CASES: [&str; 7] = [
    "c10_typed_test::HalfPrecision",
    "c10_typed_test::SaturatingAdd/0",
    "c10_typed_test::SaturatingAdd/1",
    "c10_typed_test::SaturatingAdd/2",
    "c10_typed_test::Sizes/PrefixSum",
    "test_death::BoundsCheckDeathTest",
    "test_death::NeedsCuda",
];

/// Whether `cargo xtask setup` can build the demo's C++ tests here.
pub fn googletest_installed() -> bool {
    Command::new("pkg-config")
        .args(["--exists", "gtest_main"])
        .status()
        .is_ok_and(|s| s.success())
}

/// A case's folder under the run's output (`nn::test_pooling` → `nn.test_pooling`).
pub fn case_folder(case: &str) -> String {
    case.replace("::", ".").replace('/', ".")
}

/// Asserts the command succeeded; its stdout.
pub fn ok(output: Output) -> String {
    check(&output);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn check(output: &Output) {
    assert!(
        output.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The cases that left a first-attempt record under `out` (folder names).
pub fn recorded(out: &Path) -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(out)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().join("attempt-1/record.json").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    cases
}

/// `cargo nextest list --message-format json --package torch-suite <args>`, read with
/// nextest-metadata.
pub fn nextest_list(args: &[&str]) -> TestListSummary {
    nextest_list_with(args, &[])
}

/// The same, with these variables set for the harness's list phase.
pub fn nextest_list_with(args: &[&str], vars: &[(&str, &OsStr)]) -> TestListSummary {
    let mut list = ListCommand::new();
    list.cargo_path(env!("CARGO"))
        .add_args(["--package", "torch-suite"])
        .add_args(args.iter().copied());
    let mut cmd = clean(list.cargo_command());
    cmd.envs(vars.iter().copied());
    TestListSummary::parse_json(ok(cmd.output().unwrap())).unwrap()
}

/// The cases a listing's filters keep, with the binary each is in (`torch-suite::cpp`).
pub fn kept(list: &TestListSummary) -> Vec<(String, String)> {
    list.rust_suites
        .iter()
        .flat_map(|(binary, suite)| {
            suite
                .test_cases
                .iter()
                .filter(|(_, case)| case.filter_match.is_match())
                .map(move |(name, _)| (binary.to_string(), name.to_string()))
        })
        .collect()
}

/// Every case of a listing, kept by its filters or not.
pub fn listed(list: &TestListSummary) -> Vec<(String, String)> {
    list.rust_suites
        .iter()
        .flat_map(|(binary, suite)| {
            suite
                .test_cases
                .keys()
                .map(move |name| (binary.to_string(), name.to_string()))
        })
        .collect()
}

/// The harness tests' survivor check, which does not use the harness's /proc reader.
#[path = "../../../harness/tests/common/survivors.rs"]
pub mod survivors;

#[path = "../../../harness/tests/common/loopback.rs"]
pub mod loopback;

#[path = "../../../harness/tests/common/scrub.rs"]
pub mod scrub;

#[path = "../../../harness/tests/common/target.rs"]
pub mod target;

/// nextest's JUnit of the `ci` profile, which `cargo xtask test` runs.
pub fn ci_junit() -> PathBuf {
    target::target_dir().join("nextest/ci/junit.xml")
}

/// The demo's Python environment, which `cargo xtask setup` creates.
pub fn demo_python() -> PathBuf {
    target::target_dir().join("torch-harness/demo-venv/bin/python")
}

/// A copy of the demo's Python side in a temporary folder.
pub fn demo_copy() -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let demo = workspace().join("demo");
    for entry in walkdir::WalkDir::new(&demo) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(&demo).unwrap();
        let skip = ["build", "csrc", ".pytest_cache"]
            .iter()
            .any(|s| rel.starts_with(s))
            || rel.components().any(|c| c.as_os_str() == "__pycache__");
        if skip {
            continue;
        }
        let to = copy.path().join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
    copy
}

/// One `<testcase>` of a JUnit file as counted here: its name and what it came to
/// (`failure`, `error`, `skipped` or `passed`, the first in that order that it holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub name: String,
    pub outcome: &'static str,
}

/// The testcases of a JUnit file, counted with quick-xml's events here rather than
/// with the harness's reader, so a report's totals are checked against a count made
/// apart from the code that made them. `<rerun>` (a retry in the same process) is
/// no outcome.
pub fn count_testcases(xml: &str) -> Vec<Counted> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut counted = Vec::new();
    let mut open: Option<(String, Vec<String>)> = None;
    let name_of = |e: &quick_xml::events::BytesStart| {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == "name")
            .map(|a| a.value.to_string())
            .unwrap_or_default()
    };
    let finish = |(name, children): (String, Vec<String>)| {
        let outcome = ["failure", "error", "skipped"]
            .into_iter()
            .find(|kind| children.iter().any(|c| c == kind))
            .unwrap_or("passed");
        Counted { name, outcome }
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) if e.name().as_ref() == "testcase" => {
                open = Some((name_of(&e), Vec::new()));
            }
            // `<testcase …/>`: passed, with nothing inside.
            Event::Empty(e) if e.name().as_ref() == "testcase" => {
                counted.push(finish((name_of(&e), Vec::new())));
            }
            Event::Start(e) | Event::Empty(e) => {
                if let Some((_, children)) = open.as_mut() {
                    children.push(e.name().as_ref().to_string());
                }
            }
            Event::End(e) if e.name().as_ref() == "testcase" => {
                counted.extend(open.take().map(finish));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    counted
}

/// A plan of the demo wider than its cases (`cargo xtask plan --json`): its JSON, the
/// shard count and a shard that has no case.
pub fn plan_with_an_empty_shard() -> (String, usize, u64) {
    let shards = demo_cases().len() + 5;
    let mut plan = clean(Command::new(env!("CARGO_BIN_EXE_xtask")));
    plan.args(["plan", "--shards", &shards.to_string(), "--json"]);
    let text = ok(plan.output().unwrap());
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let empty = json["shards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["cases"].as_array().unwrap().is_empty())
        .expect("an empty shard")["shard"]
        .as_u64()
        .unwrap();
    (text, shards, empty)
}

/// `cargo nextest run` of the one case `test_only` of `root`, with the system python in
/// unittest mode, into the checkout's default run folder.
pub fn run_test_only(root: &Path) -> Output {
    clean(Command::new(env!("CARGO")))
        .args([
            "nextest",
            "run",
            "--package",
            "torch-suite",
            "-E",
            "test(=test_only)",
        ])
        .env("PYTORCH_ROOT", root)
        .env("PYTHON", "python3")
        .env("TORCH_HARNESS_PYTEST", "0")
        .output()
        .unwrap()
}
