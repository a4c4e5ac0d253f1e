//! The example workflow is well-formed YAML whose jobs chain build → shards → report and
//! call the xtask commands that exist (actionlint is not installable here), and tests a
//! PyTorch checkout at the commit its installed torch was built from.

use std::path::Path;
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

fn workflow() -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows/pytorch-tests.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    assert_eq!(docs.len(), 1, "one YAML document");
    docs.remove(0)
}

fn steps<'a>(wf: &'a Yaml, job: &str) -> &'a [Yaml] {
    wf["jobs"][job]["steps"]
        .as_vec()
        .unwrap_or_else(|| panic!("{job}: steps"))
}

/// The steps of `job` that check out pytorch/pytorch.
fn pytorch_checkouts<'a>(wf: &'a Yaml, job: &str) -> Vec<&'a Yaml> {
    steps(wf, job)
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout"))
                && s["with"]["repository"].as_str() == Some("pytorch/pytorch")
        })
        .collect()
}

#[test]
fn the_checkout_is_the_commit_the_installed_torch_was_built_from() {
    let wf = workflow();
    // The build job: a step reads the installed torch's version and commit ...
    let build = steps(&wf, "build");
    let (at, probe) = build
        .iter()
        .enumerate()
        .find(|(_, s)| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("torch.version.git_version"))
        })
        .expect("a build step that reads torch.version.git_version");
    let run = probe["run"].as_str().unwrap();
    assert!(
        run.contains("pip install torch")
            && run.contains("echo \"sha=$(python -c 'import torch; print(torch.version.git_version)')\" >> \"$GITHUB_OUTPUT\"")
            && run.contains("echo \"version=$(python -c 'import torch; print(torch.__version__)')\" >> \"$GITHUB_OUTPUT\""),
        "{run}"
    );
    let id = probe["id"].as_str().expect("the step has an id");
    // ... and PyTorch is checked out at that commit, after it.
    let sha = format!("${{{{ steps.{id}.outputs.sha }}}}");
    let checkouts = pytorch_checkouts(&wf, "build");
    assert_eq!(checkouts.len(), 1);
    assert_eq!(checkouts[0]["with"]["ref"].as_str(), Some(sha.as_str()));
    let checkout_at = build
        .iter()
        .position(|s| std::ptr::eq(s, checkouts[0]))
        .unwrap();
    assert!(at < checkout_at, "the commit is known before the checkout");
    let outputs = &wf["jobs"]["build"]["outputs"];
    assert_eq!(outputs["pytorch"].as_str(), Some(sha.as_str()));
    assert_eq!(
        outputs["torch"].as_str(),
        Some(format!("${{{{ steps.{id}.outputs.version }}}}").as_str())
    );

    // Every shard checks out that commit and installs that torch.
    let checkouts = pytorch_checkouts(&wf, "test");
    assert_eq!(checkouts.len(), 1);
    assert_eq!(
        checkouts[0]["with"]["ref"].as_str(),
        Some("${{ needs.build.outputs.pytorch }}")
    );
    let installs: Vec<&str> = steps(&wf, "test")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .filter(|r| r.contains("pip install"))
        .collect();
    assert!(!installs.is_empty());
    for install in installs {
        assert!(
            install.contains("pip install \"torch==${{ needs.build.outputs.torch }}\""),
            "{install}"
        );
    }
}

#[test]
fn the_example_workflow_builds_once_shards_and_reports() {
    let wf = workflow();
    let wf = &wf;
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
