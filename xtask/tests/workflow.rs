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
        "cargo xtask plan --shards ${{ env.SHARDS }} --json",
        "cargo xtask test --archive-file suite.tar.zst --plan plan.json --shard",
        "cargo xtask report --plan plan.json",
        "cargo xtask report",
        "cargo xtask times update",
    ] {
        assert!(all.contains(command), "{command} missing from:\n{all}");
    }
    // Planned once in the build job, shipped with the archive, checked whole in the report.
    let build = jobs["build"]["steps"].as_array().unwrap();
    let shipped = build
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact"))
        })
        .filter_map(|s| s["with"]["path"].as_str())
        .any(|path| path.contains("suite.tar.zst") && path.contains("plan.json"));
    assert!(shipped, "the build job uploads the plan with the archive");
    let report = serde_json::to_string(&jobs["report"]["steps"]).unwrap();
    assert!(report.contains("--plan plan.json"), "{report}");
    // Each xtask subcommand the workflow uses exists.
    for sub in ["archive", "plan", "test", "report", "times"] {
        let help = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(help.status.success(), "cargo xtask {sub}");
    }
}
