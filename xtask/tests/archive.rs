//! Build once, run on many machines: an archive and a copy of the checkout moved to
//! another folder run as two shards that together cover every demo case once.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn clean(mut cmd: Command) -> Command {
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("NEXTEST") || k == "PYTORCH_ROOT" || k == "TORCH_HARNESS_PLAN" {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(workspace());
    cmd
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?}:\n{text}");
    text
}

/// The checkout's files (tracked and new, not ignored) plus the demo's built binaries.
fn copy_checkout(to: &Path) {
    let listed = ok(clean(Command::new("git")).args([
        "ls-files",
        "--cached",
        "--others",
        "--exclude-standard",
        "-z",
    ]));
    let mut files: Vec<PathBuf> = listed
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .collect();
    if let Ok(bins) = std::fs::read_dir(workspace().join("demo/build/bin")) {
        files.extend(
            bins.filter_map(Result::ok)
                .map(|e| Path::new("demo/build/bin").join(e.file_name())),
        );
    }
    for file in files {
        let from = workspace().join(&file);
        if !from.is_file() {
            continue;
        }
        let dest = to.join(&file);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&from, &dest).unwrap();
    }
}

fn recorded(out: &Path) -> Vec<String> {
    std::fs::read_dir(out)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().join("attempt-1/record.json").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn two_shards_from_a_moved_archive_cover_the_demo_once() {
    let scratch = tempfile::tempdir().unwrap();
    let built = scratch.path().join("suite.tar.zst");
    ok(clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .arg("archive")
        .arg(&built));

    let moved = scratch.path().join("elsewhere");
    copy_checkout(&moved);
    let archive = moved.join("suite.tar.zst");
    std::fs::rename(&built, &archive).unwrap();

    let mut all = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = scratch.path().join(format!("out-{}", &shard[..1]));
        ok(clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
            .args(["test", "--archive-file"])
            .arg(&archive)
            .arg("--workspace-remap")
            .arg(&moved)
            .args(["--shard", shard])
            .env("TORCH_HARNESS_OUT", &out));
        let cases = recorded(&out);
        assert!(!cases.is_empty(), "shard {shard} ran nothing");
        // The cases ran in the moved checkout, not in the one that built the archive.
        let record =
            std::fs::read_to_string(out.join(&cases[0]).join("attempt-1/record.json")).unwrap();
        let record: serde_json::Value = serde_json::from_str(&record).unwrap();
        let cwd = std::fs::canonicalize(record["cwd"].as_str().unwrap()).unwrap();
        assert!(
            cwd.starts_with(std::fs::canonicalize(&moved).unwrap()),
            "{}",
            cwd.display()
        );
        all.extend(cases);
    }
    all.sort();
    let mut expected = recorded_names_of_a_full_run(&moved);
    expected.sort();
    assert_eq!(all, expected);
}

/// Every case the demo has, from the moved checkout's own listing.
fn recorded_names_of_a_full_run(moved: &Path) -> Vec<String> {
    let listed = ok(clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .args(["test", "--dry-run", "--archive-file"])
        .arg(moved.join("suite.tar.zst"))
        .arg("--workspace-remap")
        .arg(moved));
    listed
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .map(|c| c.replace("::", ".").replace('/', "."))
        .collect()
}
