//! Every fixture written by a third-party writer (VTK, h5py, numpy-stl, trimesh) reads, and the facts
//! its manifest records are recovered. New fixture files are picked up without code changes.

mod common;

use std::path::Path;

use serde_json::Value;
use slipstream::geometry;
use slipstream::mesh::{self, Document, Location, Mesh};

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// Tolerance for a file: legacy ASCII keeps 6 significant digits.
fn tolerance(name: &str) -> f64 {
    if name.contains("legacy") && name.contains("ascii") {
        2e-5
    } else {
        2e-6
    }
}

fn check_mesh(name: &str, mesh: &Mesh, facts: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let tol = tolerance(name);
    let mut expect = |ok: bool, what: String| {
        if !ok {
            errors.push(format!("{name}: {what}"));
        }
    };
    if let Some(n) = facts["n_points"].as_u64() {
        expect(
            mesh.n_points() as u64 == n,
            format!("n_points {} != {n}", mesh.n_points()),
        );
    }
    if let Some(n) = facts["n_cells"].as_u64() {
        expect(
            mesh.n_cells() as u64 == n,
            format!("n_cells {} != {n}", mesh.n_cells()),
        );
    }
    if let Some(counts) = facts["cell_type_counts"].as_object() {
        let got = mesh.cells.type_counts();
        for (t, n) in counts {
            let t: u8 = t.parse().unwrap();
            let g = got.get(&mesh::CellType(t)).copied().unwrap_or(0) as u64;
            expect(
                g == n.as_u64().unwrap(),
                format!("cell type {t}: {g} cells, manifest {n}"),
            );
        }
        expect(
            got.len() == counts.len(),
            format!("cell types {got:?} vs manifest {counts:?}"),
        );
    }
    if let Some(n) = facts["connectivity_length"].as_u64() {
        let g = mesh.cells.connectivity.len() as u64;
        expect(g == n, format!("connectivity length {g} != {n}"));
    }
    if let Some(p) = facts.get("polyhedra") {
        let count = p["count"].as_u64().unwrap_or(0) as usize;
        let poly = mesh.cells.polyhedra.as_ref();
        let ids: Vec<usize> = mesh
            .cells
            .types
            .iter()
            .enumerate()
            .filter(|(_, t)| **t == mesh::CellType::POLYHEDRON)
            .map(|(i, _)| i)
            .collect();
        expect(
            ids.len() == count,
            format!("{} polyhedra, manifest {count}", ids.len()),
        );
        let want_ids: Vec<usize> = f64s(&p["cell_ids"]).iter().map(|&x| x as usize).collect();
        expect(ids == want_ids, "polyhedron cell ids differ".into());
        // VTK 9.7 reports 0 faces for the polyhedra of multi-piece files although the faces are in
        // the file (the same manifest's total_cell_volume needs them); there the volumes are checked.
        let vtk_lost_faces = f64s(&p["faces_per_polyhedron"]).iter().all(|&x| x == 0.0);
        let faces: Vec<usize> = ids
            .iter()
            .map(|&i| poly.map(|p| p.faces_of(i).count()).unwrap_or(0))
            .collect();
        let want: Vec<usize> = f64s(&p["faces_per_polyhedron"])
            .iter()
            .map(|&x| x as usize)
            .collect();
        if !vtk_lost_faces {
            expect(
                faces == want,
                format!("faces per polyhedron {faces:?} != {want:?}"),
            );
        }
    }
    if let Some(bb) = facts.get("bounding_box") {
        let (lo, hi) = (f64s(&bb["min"]), f64s(&bb["max"]));
        let mut min = [f64::INFINITY; 3];
        let mut max = [f64::NEG_INFINITY; 3];
        for p in &mesh.points {
            for k in 0..3 {
                min[k] = min[k].min(p[k] as f64);
                max[k] = max[k].max(p[k] as f64);
            }
        }
        for k in 0..3 {
            expect(
                common::close(min[k], lo[k], 1e-6),
                format!("bbox min[{k}] {} != {}", min[k], lo[k]),
            );
            expect(
                common::close(max[k], hi[k], 1e-6),
                format!("bbox max[{k}] {} != {}", max[k], hi[k]),
            );
        }
    }
    if let Some(want) = facts["surface_area"].as_f64() {
        let props = geometry::surface_properties(mesh);
        expect(
            common::close(props.total_area_m2, want, 1e-6),
            format!("area {} != {want}", props.total_area_m2),
        );
        if let Some(v) = facts["enclosed_volume"].as_f64() {
            expect(
                common::close(props.enclosed_volume_m3, v, 1e-6),
                format!("enclosed volume {} != {v}", props.enclosed_volume_m3),
            );
        }
        if let Some(v) = facts["enclosed_volume_signed"].as_f64() {
            expect(
                common::close(props.enclosed_volume_m3, v, 1e-6),
                format!("signed enclosed volume {} != {v}", props.enclosed_volume_m3),
            );
        }
    }
    if let Some(want) = facts["total_cell_volume"].as_f64() {
        let vols = geometry::cell_volumes_m3(mesh);
        let total: f64 = vols.iter().sum();
        expect(
            common::close(total, want, 1e-6),
            format!("total cell volume {total} != {want}"),
        );
        if let Some(min) = facts["min_cell_volume"].as_f64() {
            let got = vols.iter().copied().fold(f64::INFINITY, f64::min);
            expect(
                common::close(got, min, 1e-5),
                format!("min cell volume {got} != {min}"),
            );
        }
    }
    for a in facts["arrays"].as_array().into_iter().flatten() {
        let aname = a["name"].as_str().unwrap();
        let loc = match a["association"].as_str().unwrap() {
            "PointData" => Location::Point,
            "CellData" => Location::Cell,
            _ => Location::Field,
        };
        let Some(f) = mesh.field(loc, aname) else {
            expect(false, format!("missing {loc:?} array {aname}"));
            continue;
        };
        let comps = a["n_components"].as_u64().unwrap() as usize;
        expect(
            f.components == comps,
            format!("{aname}: {} components != {comps}", f.components),
        );
        let tuples = a["n_tuples"].as_u64().unwrap() as usize;
        expect(
            f.tuples() == tuples,
            format!("{aname}: {} tuples != {tuples}", f.tuples()),
        );
        let stats = f.stats();
        let scale = a["max"]
            .as_f64()
            .unwrap()
            .abs()
            .max(a["min"].as_f64().unwrap().abs());
        // A sum of n values each rounded to float32 carries an error of order n·ε·max|x|.
        let sum_tol = tol * scale * (f.values.len() as f64);
        let want_sum = a["sum"].as_f64().unwrap();
        expect(
            (stats.sum - want_sum).abs() <= sum_tol.max(tol * want_sum.abs()),
            format!("{aname}: sum {} != {want_sum}", stats.sum),
        );
        for (got, key) in [(stats.min, "min"), (stats.max, "max")] {
            let want = a[key].as_f64().unwrap();
            expect(
                common::close(got, want, tol),
                format!("{aname}: {key} {got} != {want}"),
            );
        }
        for (key, tuple) in [
            ("first_tuple", 0usize),
            ("last_tuple", tuples.saturating_sub(1)),
        ] {
            let want = f64s(&a[key]);
            for (k, w) in want.iter().enumerate() {
                let g = f.values.get(tuple * comps + k).unwrap_or(f64::NAN);
                expect(
                    common::close(g, *w, tol),
                    format!("{aname}: {key}[{k}] {g} != {w}"),
                );
            }
        }
    }
    if let Some(solids) = facts["solids"].as_array() {
        match &mesh.parts {
            None => expect(false, "no parts for a multi-solid STL".into()),
            Some(parts) => {
                for (i, s) in solids.iter().enumerate() {
                    let (sname, count) = match s {
                        Value::String(n) => (n.as_str(), None),
                        _ => (s["name"].as_str().unwrap(), s["n_triangles"].as_u64()),
                    };
                    expect(
                        parts.names.get(i).map(String::as_str) == Some(sname),
                        format!("solid {i} name"),
                    );
                    if let Some(c) = count {
                        let g = parts.cell_part.iter().filter(|&&p| p as usize == i).count() as u64;
                        expect(g == c, format!("solid {sname}: {g} triangles != {c}"));
                    }
                }
            }
        }
    }
    if let Some(n) = facts["n_triangles"].as_u64() {
        let g = mesh
            .cells
            .types
            .iter()
            .filter(|t| **t == mesh::CellType::TRIANGLE)
            .count() as u64;
        expect(g == n, format!("{g} triangles != {n}"));
    }
    errors
}

fn check_hdf5(name: &str, doc: &Document, facts: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let Document::Hdf5(contents) = doc else {
        return vec![format!("{name}: expected HDF5 datasets")];
    };
    for (path, d) in facts["datasets"].as_object().into_iter().flatten() {
        let Some(ds) = contents.datasets.iter().find(|x| &x.path == path) else {
            errors.push(format!("{name}: missing dataset {path}"));
            continue;
        };
        let shape: Vec<usize> = f64s(&d["shape"]).iter().map(|&x| x as usize).collect();
        if ds.shape != shape {
            errors.push(format!("{name}:{path}: shape {:?} != {shape:?}", ds.shape));
        }
        let v: Vec<f64> = ds.values.iter_f64().collect();
        let sum: f64 = v.iter().sum();
        let want = d["sum"].as_f64().unwrap();
        if !common::close(sum, want, 1e-6) {
            errors.push(format!("{name}:{path}: sum {sum} != {want}"));
        }
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !common::close(min, d["min"].as_f64().unwrap(), 1e-7)
            || !common::close(max, d["max"].as_f64().unwrap(), 1e-7)
        {
            errors.push(format!("{name}:{path}: min/max {min}/{max}"));
        }
    }
    errors
}

fn run_manifest(sub: &str) {
    let Some(root) = common::fixtures_dir() else {
        return;
    };
    let dir = root.join(sub);
    let manifest = common::load_manifest(&dir);
    let mut errors = Vec::new();
    let mut checked = 0;
    for (name, facts) in manifest["files"].as_object().unwrap() {
        let path = dir.join(name);
        match mesh::read(Path::new(&path)) {
            Err(e) => errors.push(format!("{name}: read failed: {e}")),
            Ok(Document::Mesh(m)) => errors.extend(check_mesh(name, &m, facts)),
            Ok(doc) => errors.extend(check_hdf5(name, &doc, facts)),
        }
        checked += 1;
    }
    assert!(checked > 0, "no files in {}", dir.display());
    assert!(
        errors.is_empty(),
        "{} problems:\n{}",
        errors.len(),
        errors.join("\n")
    );
    eprintln!("{sub}: {checked} files match their manifest");
}

#[test]
fn synthetic_fixtures_match_manifest() {
    run_manifest("synthetic");
}

#[test]
fn real_fixtures_match_manifest() {
    run_manifest("real");
}

#[test]
fn corrupt_fixtures_are_rejected_with_the_file_named() {
    let Some(root) = common::fixtures_dir() else {
        return;
    };
    let dir = root.join("corrupt");
    let manifest = common::load_manifest(&dir);
    let mut problems = Vec::new();
    let mut names: Vec<String> = manifest["files"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    // Files in the folder that the manifest does not list are corrupt too.
    for e in std::fs::read_dir(&dir).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        if n != "manifest.json" && !names.contains(&n) {
            names.push(n);
        }
    }
    for name in names {
        let path = dir.join(&name);
        match std::panic::catch_unwind(|| mesh::read(&path)) {
            Err(_) => problems.push(format!("{name}: PANIC")),
            Ok(Ok(_)) => problems.push(format!("{name}: accepted")),
            Ok(Err(e)) => {
                let msg = e.to_string();
                if !msg.contains(&name) {
                    problems.push(format!("{name}: error does not name the file: {msg}"));
                }
                eprintln!("{name}: {msg}");
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
