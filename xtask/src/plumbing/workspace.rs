//! The workspace xtask belongs to, and where cargo builds it.

use anyhow::{Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The workspace of this xtask (its manifest's parent folder).
pub fn root() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// Cargo's target directory for the workspace at `root`, as cargo itself resolves it:
/// `CARGO_TARGET_DIR`, `CARGO_BUILD_TARGET_DIR`, `build.target-dir` in any
/// `.cargo/config.toml` that applies, else `<root>/target`.
pub fn target_dir(root: &Path) -> Result<PathBuf> {
    let manifest = root.join("Cargo.toml");
    let metadata = cargo_metadata::MetadataCommand::new()
        .cargo_path(cargo())
        .manifest_path(&manifest)
        // Config files are found from the current folder, as for the user's own cargo.
        .current_dir(root)
        .no_deps()
        .exec()
        .with_context(|| format!("cargo metadata for {}", manifest.display()))?;
    Ok(metadata.target_directory.into_std_path_buf())
}

/// The target directory a run uses: `--target-dir DIR` among the arguments passed on to
/// cargo or nextest (relative to `root`, where they run), else cargo's own.
pub fn target_dir_with(root: &Path, passed_on: &[String]) -> Result<PathBuf> {
    let mut args = passed_on.iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            break; // what follows goes to the test binaries
        }
        let dir = match arg.strip_prefix("--target-dir") {
            Some("") => args.next().map(String::as_str),
            Some(value) => value.strip_prefix('='),
            None => None,
        };
        if let Some(dir) = dir {
            return Ok(root.join(dir));
        }
    }
    target_dir(root)
}

/// The cargo that runs us, so a pinned toolchain is used throughout.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A shell for xtask's commands, in the workspace.
pub fn shell(root: &Path) -> Result<xshell::Shell> {
    let sh = xshell::Shell::new()?;
    sh.change_dir(root);
    Ok(sh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_dir_among_passed_arguments() {
        let root = Path::new("/ws");
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for passed in [
            args(&["-E", "all()", "--target-dir", "out"]),
            args(&["--target-dir=out", "--no-fail-fast"]),
        ] {
            assert_eq!(
                target_dir_with(root, &passed).unwrap(),
                Path::new("/ws/out")
            );
        }
        assert_eq!(
            target_dir_with(root, &args(&["--target-dir", "/abs/t"])).unwrap(),
            Path::new("/abs/t")
        );
    }
}
