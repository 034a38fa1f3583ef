//! What a file holds, as `slipstream info` reports it (the JSON shape is a stable interface, see
//! DESIGN.md).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::geometry;
use crate::mesh::{self, Document, Format, Location, MeshKind, Result};

/// One array's summary.
#[derive(Debug, Clone, Serialize)]
pub struct ArraySummary {
    pub name: String,
    /// `"point"`, `"cell"`, `"field"` or, for HDF5, `"dataset"`.
    pub location: String,
    pub components: usize,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    /// HDF5 only: the dataset's shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<usize>>,
}

/// The summary of one file. `Default` leaves out every geometric quantity, as summaries of HDF5
/// datasets and of streamed files do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileSummary {
    pub format: String,
    pub points: usize,
    pub cells: usize,
    pub cell_types: BTreeMap<String, usize>,
    pub arrays: Vec<ArraySummary>,
    /// `[xmin, ymin, zmin, xmax, ymax, zmax]`; absent when there are no points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounds: Option<[f64; 6]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_m2: Option<f64>,
    /// Signed: negative when the surface's normals point inward.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enclosed_volume_m3: Option<f64>,
    /// Surfaces: area projected along +x (the usual flow direction), m², rasterised with 2000 pixels
    /// across the larger projected extent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontal_area_m2: Option<f64>,
    /// Estimated discretisation error of `frontal_area_m2`, m².
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontal_area_error_m2: Option<f64>,
    /// Volume meshes: the sum of the cell volumes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_volume_m3: Option<f64>,
    /// Named parts (STL solids, OBJ groups) with their cell counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<BTreeMap<String, usize>>,
}

/// VTK XML files above this size are summarised by streaming (no mesh in memory, no surface area).
pub const STREAMING_THRESHOLD_BYTES: u64 = 1 << 30;

/// Reads `path` and summarises it. VTK XML files larger than [`STREAMING_THRESHOLD_BYTES`] (or any, with
/// `force_streaming`) are streamed array by array in bounded memory; their summary then lacks the
/// quantities that need the whole topology (surface area, enclosed, frontal and cell volume).
pub fn summarize(path: &Path, force_streaming: bool) -> Result<FileSummary> {
    let format = Format::from_path(path)?;
    if matches!(format, Format::Vtp | Format::Vtu) {
        // Whole or in parts (`info volume_1.vtu` beside `volume_1.vtu.00.part`, …).
        let size = mesh::SplitFile::open(path)?.len();
        if force_streaming || size > STREAMING_THRESHOLD_BYTES {
            let s = mesh::vtk_xml::summarize_streaming(path)?;
            return Ok(summary_of_stream(format, &s));
        }
    }
    let doc = mesh::read(path)?;
    Ok(summarize_document(format, &doc))
}

fn summary_of_stream(format: Format, s: &mesh::vtk_xml::StreamedSummary) -> FileSummary {
    FileSummary {
        format: format.name().into(),
        points: s.n_points as usize,
        cells: s.n_cells as usize,
        cell_types: s
            .cell_types
            .iter()
            .map(|(t, &n)| (t.name(), n as usize))
            .collect(),
        arrays: s
            .arrays
            .iter()
            .map(|a| ArraySummary {
                name: a.name.clone(),
                location: location_name(a.location).into(),
                components: a.components,
                min: a.stats.min,
                max: a.stats.max,
                sum: a.stats.sum,
                shape: None,
            })
            .collect(),
        bounds: s.bounds,
        ..Default::default()
    }
}

fn location_name(loc: Location) -> &'static str {
    match loc {
        Location::Point => "point",
        Location::Cell => "cell",
        Location::Field => "field",
    }
}

pub fn summarize_document(format: Format, doc: &Document) -> FileSummary {
    match doc {
        Document::Mesh(m) => {
            let arrays = m
                .all_fields()
                .map(|(loc, f)| {
                    let s = f.stats();
                    ArraySummary {
                        name: f.name.clone(),
                        location: location_name(loc).into(),
                        components: f.components,
                        min: s.min,
                        max: s.max,
                        sum: s.sum,
                        shape: None,
                    }
                })
                .collect();
            let kind = m.kind();
            let surface = (kind == MeshKind::Surface).then(|| geometry::surface_properties(m));
            let frontal = surface.as_ref().and_then(|_| frontal_area_along_x(m));
            let parts = m.parts.as_ref().map(|p| {
                let mut counts = BTreeMap::new();
                for &i in &p.cell_part {
                    if let Some(name) = p.names.get(i as usize) {
                        *counts.entry(name.clone()).or_insert(0) += 1;
                    }
                }
                counts
            });
            FileSummary {
                format: format.name().into(),
                points: m.n_points(),
                cells: m.n_cells(),
                cell_types: m
                    .cells
                    .type_counts()
                    .into_iter()
                    .map(|(t, n)| (t.name(), n))
                    .collect(),
                arrays,
                bounds: geometry::bounding_box(&m.points).map(|b| b.to_min_max_array()),
                area_m2: surface.as_ref().map(|s| s.total_area_m2),
                enclosed_volume_m3: surface.as_ref().map(|s| s.enclosed_volume_m3),
                frontal_area_m2: frontal.as_ref().map(|f| f.area_m2),
                frontal_area_error_m2: frontal.as_ref().map(|f| f.error_m2),
                cell_volume_m3: (kind == MeshKind::Volume).then(|| geometry::total_volume_m3(m)),
                parts,
            }
        }
        Document::Hdf5(c) => FileSummary {
            format: format.name().into(),
            points: 0,
            cells: 0,
            cell_types: BTreeMap::new(),
            arrays: c
                .datasets
                .iter()
                .map(|d| {
                    let s = mesh::FieldStats::of(d.values.iter_f64());
                    ArraySummary {
                        name: d.path.clone(),
                        location: "dataset".into(),
                        components: d.components(),
                        min: s.min,
                        max: s.max,
                        sum: s.sum,
                        shape: Some(d.shape.clone()),
                    }
                })
                .collect(),
            ..Default::default()
        },
    }
}

/// Pixels across the larger projected extent for `info`'s frontal area: fine enough for a
/// per-mille estimate on a car, fast on millions of triangles.
const FRONTAL_AREA_PIXELS: f64 = 2000.0;

fn frontal_area_along_x(m: &mesh::Mesh) -> Option<geometry::FrontalArea> {
    let b = geometry::bounding_box(&m.points)?;
    let extent = b.extent();
    let across = extent[1].max(extent[2]);
    if across.is_nan() || across <= 0.0 {
        return None;
    }
    let soup = geometry::TriangleSoup::from_mesh(m);
    geometry::frontal_area(&soup, [1.0, 0.0, 0.0], across / FRONTAL_AREA_PIXELS).ok()
}

impl FileSummary {
    /// Human-readable report.
    pub fn to_text(&self, path: &Path) -> String {
        let mut s = format!("{}\n  format      {}\n", path.display(), self.format);
        if self.format != "hdf5" {
            s.push_str(&format!(
                "  points      {}\n  cells       {}\n",
                self.points, self.cells
            ));
            for (t, n) in &self.cell_types {
                s.push_str(&format!("    {t:<22} {n}\n"));
            }
        }
        if let Some(b) = self.bounds {
            s.push_str(&format!(
                "  bounds      x [{:.6}, {:.6}]  y [{:.6}, {:.6}]  z [{:.6}, {:.6}]\n",
                b[0], b[3], b[1], b[4], b[2], b[5]
            ));
        }
        if let Some(a) = self.area_m2 {
            s.push_str(&format!("  area        {a:.6} m²\n"));
        }
        if let Some(v) = self.enclosed_volume_m3 {
            s.push_str(&format!(
                "  enclosed    {v:.6} m³{}\n",
                if v < 0.0 {
                    " (normals point inward)"
                } else {
                    ""
                }
            ));
        }
        if let (Some(a), Some(e)) = (self.frontal_area_m2, self.frontal_area_error_m2) {
            s.push_str(&format!(
                "  frontal     {a:.6} ± {e:.6} m² (projected along x)\n"
            ));
        }
        if let Some(v) = self.cell_volume_m3 {
            s.push_str(&format!("  cell volume {v:.6} m³\n"));
        }
        if let Some(parts) = &self.parts {
            s.push_str(&format!("  parts       {}\n", parts.len()));
            for (name, n) in parts {
                s.push_str(&format!("    {name:<22} {n} cells\n"));
            }
        }
        s.push_str(&format!("  arrays      {}\n", self.arrays.len()));
        for a in &self.arrays {
            let shape = a
                .shape
                .as_ref()
                .map(|sh| format!("{sh:?}"))
                .unwrap_or_else(|| format!("{} comp", a.components));
            s.push_str(&format!(
                "    {:<28} {:<8} {:<10} min {:<14.6e} max {:<14.6e} sum {:.6e}\n",
                a.name, a.location, shape, a.min, a.max, a.sum
            ));
        }
        s
    }
}
