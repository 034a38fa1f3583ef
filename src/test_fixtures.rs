//! Locating `../shared/fixtures` for the unit tests (the integration tests have `tests/common`).

use std::path::{Path, PathBuf};

/// The fixtures folder, or `None` (with a message) when this clone has none. Under `CI=true` a
/// missing folder is a failure, never a silent skip.
pub fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "fixtures folder {} is missing (required under CI=true)",
            dir.display()
        );
    }
    eprintln!("skipping: fixtures folder {} is missing", dir.display());
    None
}

/// `DIR/SET/manifest.json`, parsed.
pub fn manifest(dir: &Path, set: &str) -> serde_json::Value {
    let path = dir.join(set).join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
