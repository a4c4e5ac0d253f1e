//! `cargo xtask check` runs this project's tests without retries: a test that fails
//! once and then passes fails the check instead of passing as FLAKY.

mod common;

use common::clean;
use std::process::Command;

/// Kills the harness running it the first time (no record, as if the harness had
/// crashed), passes from then on.
const FAILS_ONCE: &str = r#"import os, signal
marker = os.environ["MARKER"]
if not os.path.exists(marker):
    open(marker, "w").close()
    os.kill(os.getppid(), signal.SIGKILL)
"#;

#[test]
fn a_test_that_fails_once_fails_the_check() {
    let checkout = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(checkout.path().join("test")).unwrap();
    std::fs::write(checkout.path().join("test/test_fails_once.py"), FAILS_ONCE).unwrap();
    let marker = checkout.path().join("ran-once");
    let out = clean(Command::new(env!("CARGO_BIN_EXE_xtask")))
        .args([
            "check",
            "--",
            "-E",
            "package(torch-suite) & test(=test_fails_once)",
        ])
        .env("PYTORCH_ROOT", checkout.path())
        .env("PYTHON", "python3")
        .env("TORCH_HARNESS_PYTEST", "0")
        .env("TORCH_HARNESS_OUT", checkout.path().join("out"))
        .env("MARKER", &marker)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(marker.exists(), "the test never ran:\n{stderr}");
    assert!(
        !out.status.success(),
        "a test that failed once passed:\n{stderr}"
    );
    assert!(!stderr.contains("FLAKY"), "{stderr}");
    assert!(!stderr.contains("TRY 2"), "it was retried:\n{stderr}");
}
