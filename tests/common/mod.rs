//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/fixtures`, or `None` (with a message) when this clone has no fixtures.
///
/// Under `CI=true` a missing fixtures folder is a failure, never a silent skip.
pub fn fixtures_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "fixtures folder {} is missing (required under CI=true)",
            dir.display()
        );
    }
    eprintln!("skipping: fixtures folder {} not found", dir.display());
    None
}

pub fn load_manifest(dir: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("manifest.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("manifest.json").display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("manifest.json").display()))
}

/// Relative closeness with an absolute floor, for float32-stored values summed in f64.
pub fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1.0)
}
