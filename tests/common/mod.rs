//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

#[path = "../../src/test_fixtures.rs"]
mod shared;

/// `../shared/fixtures`, or `None` (with a message) when this clone has no fixtures; under `CI=true`
/// a missing folder is a failure.
pub fn fixtures_dir() -> Option<PathBuf> {
    shared::fixtures()
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
