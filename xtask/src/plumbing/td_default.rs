//! When run_test.py turns `--enable-td` on without the flag (research §2.6): in CI, for
//! a pull request, in the `trunk` and `pull` workflows (and ROCm's), unless NO_TD says
//! no, and never on macOS or for XPU and ONNX builds. A CI job that switches to this
//! tool keeps its target determination without a new flag.

/// Why TD is on by default here, or None. `get` reads a variable (empty reads as unset).
pub fn reason(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    let get = |name: &str| get(name).filter(|v| !v.is_empty());
    // common_utils' IS_CI: CI set to anything.
    get("CI")?;
    if get("NO_TD").is_some_and(|v| truthy(&v)) || cfg!(target_os = "macos") {
        return None;
    }
    let build = get("BUILD_ENVIRONMENT").unwrap_or_default();
    if build.contains("xpu") || build.contains("onnx") {
        return None;
    }
    let workflow = get("GITHUB_WORKFLOW").unwrap_or_else(|| "slow".into());
    let td_workflow = matches!(workflow.as_str(), "trunk" | "pull")
        || workflow.starts_with("rocm-")
        || workflow.starts_with("periodic-rocm-");
    if !td_workflow {
        return None;
    }
    let pr = pr_number(&get)?;
    Some(format!("CI, pull request {pr}, workflow {workflow}"))
}

/// PR_NUMBER, else the number that ends a ciflow tag (`refs/tags/ciflow/trunk/12345`).
fn pr_number(get: &impl Fn(&str) -> Option<String>) -> Option<u64> {
    if let Some(number) = get("PR_NUMBER") {
        return number.trim().parse().ok();
    }
    let git_ref = get("GITHUB_REF")?;
    let tag = git_ref.strip_prefix("refs/tags/")?;
    let (_, number) = tag.rsplit_once('/')?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok()
}

/// run_test.py's strtobool: anything but "", "0", "false" and "off" (any case).
fn truthy(value: &str) -> bool {
    !matches!(
        value.to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "off"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn with(vars: &[(&str, &str)]) -> Option<String> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        reason(|name| map.get(name).cloned())
    }

    const PULL: [(&str, &str); 3] = [
        ("CI", "true"),
        ("PR_NUMBER", "170001"),
        ("GITHUB_WORKFLOW", "pull"),
    ];

    #[test]
    fn a_pull_request_in_the_pull_or_trunk_workflow_gets_td() {
        assert_eq!(
            with(&PULL).as_deref(),
            Some("CI, pull request 170001, workflow pull")
        );
        let trunk = [
            ("CI", "1"),
            ("GITHUB_REF", "refs/tags/ciflow/trunk/170002"),
            ("GITHUB_WORKFLOW", "trunk"),
        ];
        assert_eq!(
            with(&trunk).as_deref(),
            Some("CI, pull request 170002, workflow trunk")
        );
        let rocm = [
            ("CI", "1"),
            ("PR_NUMBER", "3"),
            ("GITHUB_WORKFLOW", "rocm-mi300"),
        ];
        assert!(with(&rocm).is_some());
    }

    #[test]
    fn outside_ci_without_a_pr_or_in_other_workflows_it_stays_off() {
        assert_eq!(with(&PULL[1..]), None, "no CI");
        assert_eq!(with(&[PULL[0], PULL[2]]), None, "no PR number");
        // A branch push is no pull request; the workflow defaults to `slow`.
        let push = [
            ("CI", "1"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_WORKFLOW", "pull"),
        ];
        assert_eq!(with(&push), None);
        assert_eq!(with(&PULL[..2]), None, "slow by default");
        let periodic = [PULL[0], PULL[1], ("GITHUB_WORKFLOW", "periodic")];
        assert_eq!(with(&periodic), None);
    }

    #[test]
    fn no_td_and_xpu_or_onnx_builds_turn_it_off() {
        for no in ["1", "true", "ON", "yes"] {
            let vars = [PULL[0], PULL[1], PULL[2], ("NO_TD", no)];
            assert_eq!(with(&vars), None, "NO_TD={no}");
        }
        for yes in ["0", "false", "Off", ""] {
            let vars = [PULL[0], PULL[1], PULL[2], ("NO_TD", yes)];
            assert!(with(&vars).is_some(), "NO_TD={yes}");
        }
        for build in ["linux-jammy-xpu-n-py3.10", "linux-jammy-py3.10-onnx"] {
            let vars = [PULL[0], PULL[1], PULL[2], ("BUILD_ENVIRONMENT", build)];
            assert_eq!(with(&vars), None, "{build}");
        }
    }
}
