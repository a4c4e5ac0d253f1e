//! The one shell line in a case's record that runs the case again under nextest, from a
//! fresh shell: `cd <workspace> && VAR=… cargo nextest run --package torch-suite -E
//! 'test(=case)'`, with every variable that decided what this run ran and how.

use super::Context;
use crate::launch;
use crate::settings::{Settings, var};

/// The harness's inputs a fresh shell would lack, besides the checkout and the target
/// directory (written only when they are not the defaults): whichever of these the run
/// had. A piece (`test_ops::shard_2_of_9`) exists only under its plan and shard, and a
/// CI-mode case must read the same lists, not PyTorch's newest.
pub const VARS: [&str; 19] = [
    "TEST_CONFIG",
    "BUILD_ENVIRONMENT",
    "JOB_NAME",
    var::PYTHON,
    "PYTHONPATH",
    var::MANIFESTS,
    var::PYTEST,
    var::PYTEST_K,
    var::XDOCTEST_COMMAND,
    "PYTORCH_TEST_DO_NOT_USE_PYTEST",
    "CPP_TESTS_DIR",
    crate::launch::devices::DEVICES_VAR,
    crate::launch::devices::PROCS_VAR,
    var::PLAN,
    var::SHARD,
    crate::lists::var::DISABLED,
    crate::lists::var::SLOW,
    crate::lists::var::REENABLED,
    crate::launch::coverage::VAR,
];

pub(super) fn repro(cx: &Context, case: &str) -> String {
    line(&cx.settings, case, std::env::vars().collect())
}

/// The line for `case` in an environment of `env` (name and value).
fn line(settings: &Settings, case: &str, env: Vec<(String, String)>) -> String {
    let quote = launch::shell_quote;
    let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut vars: Vec<(String, String)> = Vec::new();
    if settings.root != settings.workspace.join("demo") {
        vars.push((
            var::PYTORCH_ROOT.into(),
            settings.root.display().to_string(),
        ));
    }
    // Runs, locks, caches and the lists xtask resolved live under the target directory.
    if settings.target_dir != settings.workspace.join("target") {
        vars.push((
            "CARGO_TARGET_DIR".into(),
            settings.target_dir.display().to_string(),
        ));
    }
    for name in VARS {
        if let Some(value) = get(name).filter(|v| !v.is_empty()) {
            vars.push((name.to_string(), value));
        }
    }
    for (k, v) in launch::passed_on_from(env.iter().cloned()) {
        if !vars.iter().any(|(set, _)| *set == k) {
            vars.push((k, v));
        }
    }
    let mut line = format!(
        "cd {} && ",
        quote(&settings.workspace.display().to_string())
    );
    for (k, v) in vars {
        line.push_str(&quote(&format!("{k}={v}")));
        line.push(' ');
    }
    line.push_str(&format!(
        "cargo nextest run --package torch-suite -E {}",
        quote(&format!("test(={case})"))
    ));
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn settings(target: &str, root: &str) -> Settings {
        Settings {
            workspace: PathBuf::from("/ws"),
            target_dir: PathBuf::from(target),
            root: PathBuf::from(root),
            python: PathBuf::from("python3"),
            manifests: PathBuf::from("/ws/test-manifests"),
            out_dir: PathBuf::from("/ws/target/torch-harness/runs/x/1"),
        }
    }

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_left_out_and_everything_else_is_written() {
        let plain = line(&settings("/ws/target", "/ws/demo"), "test_nn", env(&[]));
        assert_eq!(
            plain,
            "cd /ws && cargo nextest run --package torch-suite -E 'test(=test_nn)'"
        );
        let full = line(
            &settings("/elsewhere/t", "/src/pytorch"),
            "test_ops::shard_2_of_9",
            env(&[
                ("TORCH_HARNESS_PLAN", "/p/plan.json"),
                ("TORCH_HARNESS_SHARD", "2/3"),
                ("TORCH_HARNESS_DISABLED_TESTS", "/l/disabled.json"),
                ("TORCH_HARNESS_SLOW_TESTS", "/l/slow.json"),
                ("REENABLED_ISSUES", "12,13"),
                ("PYTORCH_COLLECT_COVERAGE", "1"),
                ("TORCH_HARNESS_XDOCTEST_COMMAND", "list"),
                ("CI", "1"),
                ("HOME", "/home/me"),
                ("TORCH_HARNESS_OUT", "/o"),
            ]),
        );
        assert_eq!(
            full,
            "cd /ws && PYTORCH_ROOT=/src/pytorch CARGO_TARGET_DIR=/elsewhere/t \
             TORCH_HARNESS_XDOCTEST_COMMAND=list TORCH_HARNESS_PLAN=/p/plan.json \
             TORCH_HARNESS_SHARD=2/3 TORCH_HARNESS_DISABLED_TESTS=/l/disabled.json \
             TORCH_HARNESS_SLOW_TESTS=/l/slow.json REENABLED_ISSUES=12,13 \
             PYTORCH_COLLECT_COVERAGE=1 CI=1 \
             cargo nextest run --package torch-suite -E 'test(=test_ops::shard_2_of_9)'"
        );
    }
}
