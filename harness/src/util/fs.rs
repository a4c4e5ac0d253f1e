//! Writing files so that a reader never sees half of one (a temporary file in the same
//! folder, renamed into place), and the file stamps that caches are keyed on.

use serde::Serialize;
use std::io::Write;
use std::path::Path;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Stores `value` as JSON at `path`, best effort: a cache that cannot be written only
/// costs the next reader a recomputation.
pub fn write_cache(path: &Path, value: &impl Serialize) {
    if let Ok(json) = serde_json::to_vec(value) {
        let _ = write_atomic(path, &json);
    }
}

/// Each path with its modification time (0 when it cannot be read), so a cache keyed on
/// them goes stale when any of the files changes.
pub fn stamps(paths: &[String]) -> Vec<(String, u128)> {
    paths
        .iter()
        .map(|p| {
            let mtime = std::fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            (p.clone(), mtime)
        })
        .collect()
}
