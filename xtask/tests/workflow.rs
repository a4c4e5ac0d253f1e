//! The example workflow is well-formed YAML whose jobs chain build → shards → report and
//! call the xtask commands that exist (actionlint is not installable here).

use std::path::Path;
use std::process::Command;
use yaml_rust2::YamlLoader;

#[test]
fn the_example_workflow_builds_once_shards_and_reports() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/pytorch-tests.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    assert_eq!(docs.len(), 1, "one YAML document");
    let wf = &docs[0];
    let jobs = &wf["jobs"];
    assert_eq!(jobs["test"]["needs"].as_str(), Some("build"));
    assert_eq!(jobs["report"]["needs"].as_str(), Some("test"));
    let shards = jobs["test"]["strategy"]["matrix"]["shard"]
        .as_vec()
        .expect("a shard matrix");
    let declared = wf["env"]["SHARDS"].as_i64().expect("env.SHARDS");
    assert_eq!(declared as usize, shards.len());
    let numbers: Vec<i64> = shards.iter().filter_map(|s| s.as_i64()).collect();
    assert_eq!(numbers, (1..=declared).collect::<Vec<_>>());
    let runs: Vec<String> = ["build", "test", "report"]
        .iter()
        .flat_map(|job| jobs[*job]["steps"].as_vec().expect("steps").iter())
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
    let build = jobs["build"]["steps"].as_vec().expect("build steps");
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
    let report: Vec<&str> = jobs["report"]["steps"]
        .as_vec()
        .expect("report steps")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(
        report.iter().any(|r| r.contains("--plan plan.json")),
        "{report:?}"
    );
    // Each xtask subcommand the workflow uses exists.
    for sub in ["archive", "plan", "test", "report", "times"] {
        let help = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(help.status.success(), "cargo xtask {sub}");
    }
}
