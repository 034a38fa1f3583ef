//! The mesh and geometry commands: `info`, `convert`, `sample`, `bench read`, `bench geometry`.

use std::path::Path;

use anyhow::{Context, Result};

use super::args::*;
use super::BadInput;

use slipstream::bench;
use slipstream::geometry;
use slipstream::inspect;
use slipstream::mesh::{self, vtk_xml, Document, Format};

pub(super) fn info(a: &InfoArgs) -> Result<()> {
    let summary = inspect::summarize(&a.file, a.streaming)?;
    if a.json {
        outln!("{}", serde_json::to_string(&summary)?)?;
    } else {
        out!("{}", summary.to_text(&a.file))?;
    }
    Ok(())
}

pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

pub(super) fn convert(a: &ConvertArgs) -> Result<()> {
    if same_file(&a.input, &a.output) {
        return Err(BadInput(anyhow::anyhow!(
            "{}: input and output are the same file; choose another output name",
            a.output.display()
        ))
        .into());
    }
    // An output name of no known format is refused before the input is read.
    Format::from_path(&a.output)?;
    let doc = mesh::read(&a.input)?;
    let Document::Mesh(m) = doc else {
        return Err(BadInput(anyhow::anyhow!(
            "{}: this HDF5 file holds datasets, not a mesh; nothing to convert (see `slipstream info`)",
            a.input.display()
        ))
        .into());
    };
    mesh::write_mesh_compressed(&a.output, &m, a.compress)?;
    eprintln!(
        "wrote {} ({} points, {} cells, {} arrays)",
        a.output.display(),
        m.n_points(),
        m.n_cells(),
        m.point_data.len() + m.cell_data.len() + m.field_data.len()
    );
    Ok(())
}

pub(super) fn bench_read(a: &BenchReadArgs) -> Result<()> {
    let request = vtk_xml::ExtractRequest {
        points: a.points,
        cell_centres: a.cell_centres,
        point_arrays: a.point_arrays.clone(),
        cell_arrays: a.cell_arrays.clone(),
        cell_rows: None,
    };
    let r = bench::read::run(&a.file, &request).with_context(|| "bench read failed")?;
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
    } else {
        outln!(
            "{}: {:.1} MB, {} points, {} cells\n  extracted {} ({:.1} MB) in {:.3} s = {:.1} MB/s of file\n  peak RSS {} MB ({}x the extracted size)",
            r.file,
            r.file_mb,
            r.points,
            r.cells,
            r.arrays.join(", "),
            r.extracted_mb,
            r.seconds,
            r.mb_per_s,
            r.peak_rss_mb.map_or("?".into(), |p| format!("{p:.1}")),
            r.rss_over_extracted.map_or("?".into(), |p| format!("{p:.2}")),
        )?;
    }
    Ok(())
}

pub(super) fn sample(a: &SampleArgs) -> Result<()> {
    let axes =
        slipstream::physics::Axes::new(a.flow_axis, a.up_axis).map_err(|e| BadInput(e.into()))?;
    let out_format = Format::from_path(&a.out)?;
    if !matches!(out_format, Format::Vtp | Format::Vtu | Format::Hdf5) {
        return Err(BadInput(anyhow::anyhow!(
            "{}: write the points as .vtp, .vtu or .h5",
            a.out.display()
        ))
        .into());
    }
    let surface = mesh::read_mesh(&a.geometry)?;
    let options = geometry::SampleOptions {
        surface_points: a.surface,
        volume_points: a.volume,
        seed: a.seed,
        volume: geometry::VolumeSamplingConfig {
            flow_axis: axes.flow,
            up_axis: axes.up,
            ground_m: a.ground,
            near_wall_fraction: a.near_wall_fraction,
            ..Default::default()
        },
    };
    let (cloud, report) = geometry::sample_cloud(&surface, &options)
        .map_err(|e| BadInput(anyhow::anyhow!("{}: {e}", a.geometry.display())))?;
    mesh::write_mesh(&a.out, &cloud)?;
    if a.json {
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        eprintln!(
            "wrote {}: {} surface + {} volume points from {} triangles{}",
            a.out.display(),
            report.surface_points,
            report.volume_points,
            report.triangles,
            if report.reoriented {
                " (the surface was wound inward; normals turned outward)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

pub(super) fn bench_geometry(a: &BenchGeometryArgs) -> Result<()> {
    let config = bench::geometry::GeometryBenchConfig {
        triangles: a.triangles,
        surface_samples: a.samples,
        winding_queries: a.queries,
        knn_points: a.knn_points,
        knn_queries: a.knn_queries,
        ..Default::default()
    };
    eprintln!(
        "geometry benchmark on {} threads",
        rayon::current_num_threads()
    );
    let r = bench::geometry::run(&config, &super::progress::on_stderr(false));
    if a.json {
        outln!("{}", serde_json::to_string(&r)?)?;
    }
    Ok(())
}
