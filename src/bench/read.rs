//! `slipstream bench read`: how fast named arrays come out of a large VTK XML file, and at what memory.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::mesh::vtk_xml::{self, ExtractRequest};
use crate::mesh::Result;

/// The numbers one extraction produced.
#[derive(Debug, Clone, Serialize)]
pub struct ReadBenchmark {
    pub file: String,
    pub file_mb: f64,
    pub points: u64,
    pub cells: u64,
    pub arrays: Vec<String>,
    /// Bytes of the arrays handed back (float32), MB.
    pub extracted_mb: f64,
    pub seconds: f64,
    /// File bytes per second.
    pub mb_per_s: f64,
    pub peak_rss_mb: Option<f64>,
    /// Peak RSS divided by the extracted size.
    pub rss_over_extracted: Option<f64>,
}

pub fn run(path: &Path, request: &ExtractRequest) -> Result<ReadBenchmark> {
    let file_bytes = std::fs::metadata(path)
        .map_err(|e| crate::mesh::MeshError::io(path, e))?
        .len();
    let start = Instant::now();
    let extracted = vtk_xml::extract(path, request)?;
    let seconds = start.elapsed().as_secs_f64();
    let peak = super::peak_rss_mb();
    let extracted_mb = extracted.payload_bytes() as f64 / 1e6;
    let mut arrays = Vec::new();
    if request.points {
        arrays.push("points".to_string());
    }
    if request.cell_centres {
        arrays.push("cell_centres".to_string());
    }
    arrays.extend(request.point_arrays.iter().map(|a| format!("point:{a}")));
    arrays.extend(request.cell_arrays.iter().map(|a| format!("cell:{a}")));
    Ok(ReadBenchmark {
        file: path.display().to_string(),
        file_mb: file_bytes as f64 / 1e6,
        points: extracted.n_points,
        cells: extracted.n_cells,
        arrays,
        extracted_mb,
        seconds,
        mb_per_s: file_bytes as f64 / 1e6 / seconds.max(1e-9),
        peak_rss_mb: peak,
        rss_over_extracted: peak.map(|p| p * 1.048576 / extracted_mb.max(1e-9)),
    })
}
