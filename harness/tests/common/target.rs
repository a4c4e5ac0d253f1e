//! Cargo's target directory for this workspace, as cargo itself resolves it
//! (`CARGO_TARGET_DIR`, `build.target-dir`, else `<workspace>/target`), from `cargo
//! metadata` as xtask takes it: where the runs under test write their files. Shared by
//! the harness's and xtask's tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn target_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let output = Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(&workspace)
            .output()
            .expect("cargo metadata runs");
        assert!(
            output.status.success(),
            "cargo metadata: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let metadata: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
        let dir = metadata["target_directory"]
            .as_str()
            .expect("cargo metadata names the target directory");
        PathBuf::from(dir)
    })
}
