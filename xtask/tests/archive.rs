//! Build once, run on many machines: an archive and a copy of the checkout moved to
//! another folder run as two shards that together cover every demo case once.

mod common;

use common::{clean, ok, recorded, workspace};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The checkout's files (tracked and new, not ignored), as a clone elsewhere has them:
/// without the demo's C++ binaries, which are build outputs.
fn copy_checkout(to: &Path) {
    let listed = ok(clean(Command::new("git"))
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .output()
        .unwrap());
    let files: Vec<PathBuf> = listed
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .collect();
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

#[test]
fn two_shards_from_a_moved_archive_cover_the_demo_once() {
    let scratch = tempfile::tempdir().unwrap();
    let built = scratch.path().join("suite.tar.zst");
    ok(clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .arg("archive")
        .arg(&built)
        .output()
        .unwrap());

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
            .env("TORCH_HARNESS_OUT", &out)
            .output()
            .unwrap());
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
    // Every case the demo has, written out, C++ suites included.
    let mut expected: Vec<String> = common::demo_cases()
        .into_iter()
        .map(common::case_folder)
        .collect();
    expected.sort();
    assert_eq!(all, expected);
}
