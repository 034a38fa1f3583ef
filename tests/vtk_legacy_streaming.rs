//! Streaming a BINARY legacy VTK volume (DrivAerNet++'s volume format) gives what reading the
//! whole file gives, for every cell or a subset, in both the version-4 and version-5 layouts,
//! with and without VTK's attribute keywords; ASCII files and polydata are left to the whole
//! read; truncated files are errors that name the file.

mod common;

use slipstream::geometry;
use slipstream::mesh::vtk_legacy::stream::{extract, outline};
use slipstream::mesh::vtk_xml::ExtractRequest;
use slipstream::mesh::{self, CellType, Location};

const BINARY_VOLUMES: [&str; 3] = [
    "volume_f32_legacy_v42_binary.vtk",
    "volume_f32_legacy_v51_binary.vtk",
    "volume_f32_legacy_v51_binary_attributes.vtk",
];

fn request(rows: Option<Vec<u64>>) -> ExtractRequest {
    ExtractRequest {
        cell_centres: true,
        cell_arrays: vec!["pMeanTrim".into(), "UMeanTrim".into()],
        cell_rows: rows,
        ..Default::default()
    }
}

#[test]
fn streamed_cells_equal_the_whole_read() {
    let Some(root) = common::fixtures_dir() else {
        return;
    };
    let synthetic = root.join("synthetic");
    let m = common::load_manifest(&synthetic);
    for name in BINARY_VOLUMES {
        let path = synthetic.join(name);
        let facts = &m["files"][name];
        let full = mesh::read_mesh(&path).unwrap();
        let o = outline(&path)
            .unwrap()
            .unwrap_or_else(|| panic!("{name} not streamable"));
        assert_eq!(o.n_cells, facts["n_cells"].as_u64().unwrap(), "{name}");
        assert_eq!(o.n_points, facts["n_points"].as_u64().unwrap(), "{name}");
        for array in facts["arrays"].as_array().unwrap() {
            let entry = (
                array["name"].as_str().unwrap().to_string(),
                array["n_components"].as_u64().unwrap() as usize,
            );
            match array["association"].as_str().unwrap() {
                "CellData" => assert!(o.cell_arrays.contains(&entry), "{name}: {entry:?}"),
                "PointData" => assert!(o.point_arrays.contains(&entry), "{name}: {entry:?}"),
                _ => {}
            }
        }

        let centres = geometry::cell_centres(&full);
        let cell = |array: &str| {
            full.field(Location::Cell, array)
                .unwrap()
                .values
                .to_f32()
                .into_owned()
        };
        let (p, u) = (cell("pMeanTrim"), cell("UMeanTrim"));
        // Every cell, then a subset holding the first and last cells and polyhedra.
        let polyhedra: Vec<u64> = (0..full.n_cells())
            .filter(|&c| full.cells.types[c] == CellType::POLYHEDRON)
            .map(|c| c as u64)
            .collect();
        assert!(!polyhedra.is_empty(), "{name} has no polyhedra to test");
        let mut subset = vec![
            0,
            7,
            1200,
            polyhedra[0],
            polyhedra[5],
            full.n_cells() as u64 - 1,
        ];
        subset.sort_unstable();
        subset.dedup();
        for rows in [None, Some(subset.clone())] {
            let got = extract(&path, &request(rows.clone())).unwrap().unwrap();
            let picked: Vec<usize> = match &rows {
                Some(r) => r.iter().map(|&r| r as usize).collect(),
                None => (0..full.n_cells()).collect(),
            };
            let got_centres = got.cell_centres.as_ref().unwrap();
            assert_eq!(got_centres.len(), picked.len(), "{name}");
            for (k, &c) in picked.iter().enumerate() {
                for d in 0..3 {
                    assert!(
                        (got_centres[k][d] - centres[c][d]).abs() <= 1e-6,
                        "{name}: cell {c} centre {:?} vs {:?}",
                        got_centres[k],
                        centres[c]
                    );
                }
            }
            let field = |array: &str| {
                got.cell_arrays
                    .iter()
                    .find(|f| f.name == array)
                    .unwrap()
                    .values
                    .to_f32()
                    .into_owned()
            };
            let want_p: Vec<f32> = picked.iter().map(|&c| p[c]).collect();
            let want_u: Vec<f32> = picked
                .iter()
                .flat_map(|&c| u[3 * c..3 * c + 3].to_vec())
                .collect();
            assert_eq!(field("pMeanTrim"), want_p, "{name}");
            assert_eq!(field("UMeanTrim"), want_u, "{name}");
        }
    }
}

#[test]
fn other_files_are_left_to_the_whole_read_and_bad_ones_are_errors() {
    let Some(root) = common::fixtures_dir() else {
        return;
    };
    let synthetic = root.join("synthetic");
    for name in [
        "volume_f32_legacy_v42_ascii.vtk",
        "volume_f64_legacy_v51_ascii.vtk",
        "surface_f32_legacy_v42_binary.vtk",
    ] {
        let path = synthetic.join(name);
        assert!(outline(&path).unwrap().is_none(), "{name}");
        assert!(extract(&path, &request(None)).unwrap().is_none(), "{name}");
    }
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(synthetic.join("volume_f32_legacy_v42_binary.vtk")).unwrap();
    // Cut in the last (point) arrays, then in the connectivity: the outline, which walks the
    // whole file (prepare reads it first), is an error naming the file; so is an extraction
    // that needs the missing part. (One that stops before the cut has all it asked for.)
    for keep in [bytes.len() - 2000, bytes.len() / 3] {
        let cut = dir.path().join(format!("cut_{keep}.vtk"));
        std::fs::write(&cut, &bytes[..keep]).unwrap();
        let e = outline(&cut).unwrap_err().to_string();
        assert!(
            e.contains(&format!("cut_{keep}.vtk")) && e.contains("truncated"),
            "{e}"
        );
    }
    let cut = dir.path().join(format!("cut_{}.vtk", bytes.len() / 3));
    let e = extract(&cut, &request(None)).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
    // Absurd sizes in a header are errors before anything is allocated.
    for header in [
        "POINTS 1000000000000000 float\n",
        "POINTS 1 float\n\0\0\0\0\0\0\0\0\0\0\0\0\nCELLS 5 18446744073709551615\n",
    ] {
        let huge = dir.path().join("huge.vtk");
        let text =
            format!("# vtk DataFile Version 4.2\nx\nBINARY\nDATASET UNSTRUCTURED_GRID\n{header}");
        std::fs::write(&huge, text).unwrap();
        let e = extract(&huge, &request(None)).unwrap_err().to_string();
        assert!(e.contains("huge.vtk") && e.contains("truncated"), "{e}");
    }
    let path = synthetic.join("volume_f32_legacy_v42_binary.vtk");
    let missing = ExtractRequest {
        cell_arrays: vec!["vorticity".into()],
        ..request(None)
    };
    let e = extract(&path, &missing).unwrap_err().to_string();
    assert!(e.contains("no cell array `vorticity`"), "{e}");
    let e = extract(&path, &request(Some(vec![5, 3])))
        .unwrap_err()
        .to_string();
    assert!(e.contains("ascending"), "{e}");
    let past = extract(&path, &request(Some(vec![3, 100_000])));
    assert!(past.is_err(), "a row past the last cell is an error");
}
