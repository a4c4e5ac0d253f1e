//! "The newest run" is the run that started last: after `cargo xtask report OLD_RUN`
//! writes its timeline into an old run, bare `report`, `times update`, `expected-failures
//! update` and failed-first still take the newer run.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FAILING: &str = "import unittest\nclass T(unittest.TestCase):\n    def test_ok(self):\n        self.fail('broken')\nif __name__ == '__main__':\n    unittest.main(argv=['x'])\n";
const PASSING: &str = "import unittest\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\nif __name__ == '__main__':\n    unittest.main(argv=['x'])\n";

fn xtask(root: &Path, args: &[&str]) -> Output {
    common::clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .args(args)
        .env("PYTORCH_ROOT", root)
        .env("PYTHON", "python3")
        .output()
        .unwrap()
}

/// The folder bare `report` takes now, from its JSON (its timeline written elsewhere,
/// so the run's folder stays as it was).
fn reported_run(root: &Path) -> PathBuf {
    let json = root.join("report.json");
    let timeline = root.join("timeline.html");
    xtask(
        root,
        &[
            "report",
            "--json",
            json.to_str().unwrap(),
            "--timeline",
            timeline.to_str().unwrap(),
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    PathBuf::from(report["run_dir"].as_str().unwrap())
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_report_written_into_an_old_run_leaves_the_newest_run_the_newest() {
    let checkout = tempfile::tempdir().unwrap();
    let root = checkout.path();
    let file = root.join("test/test_only.py");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, FAILING).unwrap();
    assert!(!common::run_test_only(root).status.success());
    let old = reported_run(root);
    std::fs::write(&file, PASSING).unwrap();
    common::check(&common::run_test_only(root));
    let new = reported_run(root);
    assert_ne!(old, new);

    // The report of the old run writes its timeline there: the old folder is now the
    // one changed last.
    let of_old = xtask(root, &["report", old.to_str().unwrap()]);
    assert!(text(&of_old).contains("timeline: "), "{}", text(&of_old));
    let modified = |dir: &Path| std::fs::metadata(dir).unwrap().modified().unwrap();
    assert!(modified(&old) > modified(&new));

    let name = |dir: &Path| dir.file_name().unwrap().to_string_lossy().into_owned();
    let bare = xtask(root, &["report"]);
    let said = text(&bare);
    assert!(
        said.contains(&format!("run {} (1 cases)", name(&new))),
        "{said}"
    );
    assert!(!said.contains(&name(&old)), "{said}");

    let times = xtask(root, &["times", "update"]);
    let said = text(&times);
    assert!(
        said.contains(&format!("1 files from {} into ", new.display())),
        "{said}"
    );

    // The newest run passed: nothing to run first.
    let dry = xtask(root, &["test", "--dry-run"]);
    let said = text(&dry);
    assert!(dry.status.success(), "{said}");
    assert!(said.contains("    test_only"), "{said}");
    assert!(!said.contains("failed in the previous run"), "{said}");

    let expected = xtask(root, &["expected-failures", "update"]);
    let said = text(&expected);
    assert!(
        said.contains(&format!("{} is not a run in dynamo mode", new.display())),
        "{said}"
    );

    // What this test left under the workspace's target/: its runs and its times.
    std::fs::remove_dir_all(new.parent().unwrap()).unwrap();
    let store = said_store(&text(&times));
    std::fs::remove_file(store).unwrap();
}

/// The store `times update` said it wrote: `… into <store> (<job> / <config>)`.
fn said_store(said: &str) -> PathBuf {
    let line = said
        .lines()
        .find_map(|l| l.split_once(" into ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no store in:\n{said}"));
    PathBuf::from(line.rsplit_once(" (").unwrap().0)
}
