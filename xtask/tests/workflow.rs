//! The example workflow is well-formed YAML whose jobs chain build → shards → report and
//! call the xtask commands that exist (actionlint is not installable here).

use std::path::Path;
use std::process::Command;

#[test]
fn the_example_workflow_builds_once_shards_and_reports() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/pytorch-tests.yml");
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wf: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let jobs = &wf["jobs"];
    assert_eq!(jobs["test"]["needs"], "build");
    assert_eq!(jobs["report"]["needs"], "test");
    let shards = jobs["test"]["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap();
    assert_eq!(wf["env"]["SHARDS"].as_u64().unwrap() as usize, shards.len());
    let runs: Vec<String> = ["build", "test", "report"]
        .iter()
        .flat_map(|job| jobs[job]["steps"].as_array().unwrap().iter())
        .filter_map(|step| step["run"].as_str().map(String::from))
        .collect();
    let all = runs.join("\n");
    for command in [
        "cargo xtask archive suite.tar.zst",
        "cargo xtask test --archive-file suite.tar.zst --shard",
        "cargo xtask report",
        "cargo xtask times update",
    ] {
        assert!(all.contains(command), "{command} missing from:\n{all}");
    }
    // Each xtask subcommand the workflow uses exists.
    for sub in ["archive", "test", "report", "times"] {
        let help = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(help.status.success(), "cargo xtask {sub}");
    }
}
