//! Writing files so that a reader never sees half of one: a temporary file in the same
//! folder, renamed into place.

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
