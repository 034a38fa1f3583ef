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

/// Writes a small prepared dataset of `runs` synthetic runs into `dir` (HDF5 runs in the
/// prepared layout with smooth analytic fields, plus splits.json and stats.json), for tests of
/// training and evaluation that need no CFD data.
pub fn write_synthetic_prepared(dir: &std::path::Path, runs: usize) {
    write_synthetic_prepared_with(dir, runs, true)
}

/// [`write_synthetic_prepared`], with or without each run's force coefficients (a dataset without
/// force tables).
pub fn write_synthetic_prepared_with(dir: &std::path::Path, runs: usize, forces: bool) {
    write_synthetic_prepared_lacking(dir, runs, forces, &[])
}

/// [`write_synthetic_prepared_with`], the target fields `absent` left out of every run and
/// listed in its `absent_fields` attribute (a dataset such as ShapeNet-Car).
pub fn write_synthetic_prepared_lacking(
    dir: &std::path::Path,
    runs: usize,
    forces: bool,
    absent: &[&str],
) {
    use slipstream::data::split_rule::{write_splits_and_stats, SplitRule};
    use slipstream::mesh::hdf5::H5Writer;
    use slipstream::rng::Rng;
    std::fs::create_dir_all(dir).unwrap();
    let mut names = Vec::new();
    for k in 0..runs {
        let name = format!("run_{}", k + 1);
        let scale = 1.0 + 0.1 * k as f32;
        let mut rng = Rng::seed_from(k as u64);
        let mut u = || rng.uniform() as f32;
        // Surface: points on the six faces of a box, outward normals, equal areas per face.
        let size = [1.0 * scale, 0.4, 0.3];
        let (mut pos, mut nrm, mut area, mut p, mut tau) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for face in 0..6 {
            let axis = face / 2;
            let side = (face % 2) as f32;
            for _ in 0..60 {
                let mut x = [u() * size[0], (u() - 0.5) * size[1], u() * size[2] + 0.05];
                x[axis] = match axis {
                    0 => side * size[0],
                    1 => (side - 0.5) * size[1],
                    _ => side * size[2] + 0.05,
                };
                let mut n = [0.0f32; 3];
                n[axis] = if side > 0.0 { 1.0 } else { -1.0 };
                let face_area = size[(axis + 1) % 3] * size[(axis + 2) % 3] / 60.0;
                pos.extend_from_slice(&x);
                nrm.extend_from_slice(&n);
                area.push(face_area);
                p.push(scale * (std::f32::consts::PI * x[0] / size[0]).cos() * 400.0);
                tau.extend_from_slice(&[2.0 * x[2] + 1.0, 0.1 * x[1], -0.5]);
            }
        }
        let mut vpos = Vec::new();
        let (mut vel, mut vp, mut vort) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..500 {
            let x = [u() * 4.0 - 1.0, u() * 2.0 - 1.0, u() * 1.5];
            vpos.extend_from_slice(&x);
            let r = (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]).sqrt();
            vel.extend_from_slice(&[40.0 * (1.0 - (-r).exp() * scale * 0.5), 3.0 * x[1], x[2]]);
            vp.push(-300.0 * (-r).exp() * scale);
            vort.extend_from_slice(&[50.0 * x[1], -20.0 * x[0], 5.0]);
        }
        let geometry: Vec<f32> = pos.clone();
        let mut h = H5Writer::new();
        let targets: [(&str, Vec<usize>, &[f32]); 5] = [
            ("surface/pressure", vec![area.len()], &p),
            ("surface/wall_shear", vec![area.len(), 3], &tau),
            ("volume/velocity", vec![vp.len(), 3], &vel),
            ("volume/pressure", vec![vp.len()], &vp),
            ("volume/vorticity", vec![vp.len(), 3], &vort),
        ];
        for (name, shape, values) in targets {
            if !absent.contains(&name) {
                h.dataset_f32(name, &shape, values);
            }
        }
        if !absent.is_empty() {
            h.attr_text("/", "absent_fields", &absent.join(","));
        }
        h.dataset_f32("surface/position", &[area.len(), 3], &pos)
            .dataset_f32("surface/normal", &[area.len(), 3], &nrm)
            .dataset_f32("surface/area", &[area.len()], &area)
            .dataset_f32("volume/position", &[vp.len(), 3], &vpos)
            .dataset_f32("geometry/position", &[geometry.len() / 3, 3], &geometry)
            .attr_text("/", "layout", "slipstream")
            .attr_text("/", "run", &name)
            .attr_text("/", "pressure_kind", "static")
            .attr_f64("/", "density_kg_m3", 1.2)
            .attr_f64("/", "speed_m_s", 40.0)
            .attr_f64("/", "ref_area_m2", 0.12)
            .attr_f64("/", "ref_length_m", 1.0)
            .attr_text("/", "up_axis", "z")
            .attr_text("/", "flow_axis", "x")
            // Design parameters: the body's length scale (on which cd and cl below depend
            // linearly) and a width that does not vary.
            .attr_text("/", "parameter_names", "length_scale,width_m")
            .attr_f64s("/", "parameter_values", &[scale as f64, 0.4]);
        if forces {
            h.attr_f64("/", "cd", 0.3 + 0.01 * k as f64)
                .attr_f64("/", "cl", 0.1 - 0.01 * k as f64)
                .attr_f64("/", "cs", 0.0);
        }
        h.write(&dir.join(format!("{name}.h5"))).unwrap();
        names.push(name);
    }
    write_splits_and_stats(dir, &names, &SplitRule::Fractions([0.6, 0.2, 0.2]), 0).unwrap();
}
