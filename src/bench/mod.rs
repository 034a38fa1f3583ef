//! Benchmarks that print numbers (`slipstream bench ...`): speed and memory goals are checked here,
//! never by timed assertions in tests.

pub mod geometry;
#[cfg(feature = "model")]
pub mod model;
pub mod read;

/// Peak resident set size of this process so far (MB), where the OS reports it (Linux).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
