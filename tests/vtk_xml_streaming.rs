//! Streaming (extraction of arrays and cell centres, summaries for `info`) gives exactly what
//! reading the whole file gives.

mod common;

use slipstream::geometry;
use slipstream::mesh::vtk_xml::{self, ExtractRequest};
use slipstream::mesh::{self, Location};

/// The `.vtp` and `.vtu` files of a fixture folder.
fn vtk_xml_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("vtp" | "vtu")))
        .collect()
}

#[test]
fn extract_matches_full_read_on_every_vtk_xml_fixture() {
    let Some(root) = common::fixtures_dir() else {
        return;
    };
    let mut checked = 0;
    for path in vtk_xml_files(&root.join("synthetic")) {
        let full = mesh::read_mesh(&path).unwrap();
        let request = ExtractRequest {
            points: true,
            cell_centres: true,
            point_arrays: full.point_data.iter().map(|f| f.name.clone()).collect(),
            cell_arrays: full.cell_data.iter().map(|f| f.name.clone()).collect(),
            cell_rows: None,
        };
        let got = vtk_xml::extract(&path, &request).unwrap();
        let name = path.display();
        assert_eq!(got.n_points as usize, full.n_points(), "{name}");
        assert_eq!(got.n_cells as usize, full.n_cells(), "{name}");
        assert_eq!(got.points.as_ref().unwrap(), &full.points, "{name}");
        let want_centres = geometry::cell_centres(&full);
        let centres = got.cell_centres.as_ref().unwrap();
        assert_eq!(centres.len(), want_centres.len(), "{name}");
        for (a, b) in centres.iter().zip(&want_centres) {
            for k in 0..3 {
                assert!(
                    (a[k] - b[k]).abs() <= 1e-6 * b[k].abs().max(1.0),
                    "{name}: centre {a:?} vs {b:?}"
                );
            }
        }
        for f in got.point_arrays.iter() {
            assert_eq!(
                Some(f),
                full.field(Location::Point, &f.name),
                "{name}: {}",
                f.name
            );
        }
        for f in got.cell_arrays.iter() {
            assert_eq!(
                Some(f),
                full.field(Location::Cell, &f.name),
                "{name}: {}",
                f.name
            );
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} VTK XML fixtures found");
}

/// A selection of cells gives exactly the selected rows of the full extraction, with only the
/// points those cells use held in memory; multi-piece files select across pieces.
#[test]
fn extract_of_selected_rows_equals_the_rows_of_the_full_extraction() {
    let Some(root) = common::fixtures_dir() else {
        return;
    };
    let mut checked = 0;
    for path in vtk_xml_files(&root.join("synthetic")) {
        let outline = vtk_xml::outline(&path).unwrap();
        let all = ExtractRequest {
            cell_centres: true,
            cell_arrays: outline.cell_arrays.iter().map(|a| a.0.clone()).collect(),
            ..Default::default()
        };
        let full = vtk_xml::extract(&path, &all).unwrap();
        // Every third cell, plus the last one.
        let n = full.n_cells;
        let mut rows: Vec<u64> = (0..n).step_by(3).collect();
        if rows.last() != Some(&(n - 1)) {
            rows.push(n - 1);
        }
        let picked = vtk_xml::extract(
            &path,
            &ExtractRequest {
                cell_rows: Some(rows.clone()),
                ..all.clone()
            },
        )
        .unwrap();
        let name = path.display();
        let want: Vec<[f32; 3]> = rows
            .iter()
            .map(|&r| full.cell_centres.as_ref().unwrap()[r as usize])
            .collect();
        assert_eq!(picked.cell_centres.as_ref().unwrap(), &want, "{name}");
        for (a, b) in picked.cell_arrays.iter().zip(&full.cell_arrays) {
            let c = b.components;
            let want: Vec<f64> = rows
                .iter()
                .flat_map(|&r| (0..c).map(move |k| r as usize * c + k))
                .map(|i| b.values.get(i).unwrap())
                .collect();
            let got: Vec<f64> = (0..a.values.len())
                .map(|i| a.values.get(i).unwrap())
                .collect();
            assert_eq!(got, want, "{name}: {}", a.name);
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} VTK XML fixtures found");
    // A row past the end is refused.
    let path = root.join("synthetic/volume_f32_binary_u64.vtu");
    let err = vtk_xml::extract(
        &path,
        &ExtractRequest {
            cell_centres: true,
            cell_rows: Some(vec![u64::MAX]),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("past the file"), "{err}");
}

#[test]
fn extract_names_a_missing_array() {
    let Some(root) = common::fixtures_dir() else {
        return;
    };
    let path = root.join("synthetic/volume_f32_binary_u64.vtu");
    let request = ExtractRequest {
        cell_arrays: vec!["noSuchArray".into()],
        ..Default::default()
    };
    let err = vtk_xml::extract(&path, &request).unwrap_err().to_string();
    assert!(
        err.contains("noSuchArray") && err.contains("volume_f32_binary_u64.vtu"),
        "{err}"
    );
}

#[test]
fn streaming_summary_matches_the_full_summary_on_every_vtk_xml_fixture() {
    let Some(root) = common::fixtures_dir() else {
        return;
    };
    let mut checked = 0;
    for path in vtk_xml_files(&root.join("synthetic")) {
        let full = slipstream::inspect::summarize(&path, false).unwrap();
        let streamed = slipstream::inspect::summarize(&path, true).unwrap();
        let name = path.display();
        assert_eq!(streamed.points, full.points, "{name}");
        assert_eq!(streamed.cells, full.cells, "{name}");
        assert_eq!(streamed.cell_types, full.cell_types, "{name}");
        assert_eq!(
            streamed.bounds.map(|b| b.map(|x| x as f32)),
            full.bounds.map(|b| b.map(|x| x as f32)),
            "{name}"
        );
        assert_eq!(streamed.arrays.len(), full.arrays.len(), "{name}");
        for (a, b) in streamed.arrays.iter().zip(&full.arrays) {
            assert_eq!(
                (&a.name, &a.location, a.components),
                (&b.name, &b.location, b.components),
                "{name}"
            );
            for (x, y) in [(a.min, b.min), (a.max, b.max), (a.sum, b.sum)] {
                // Float64 arrays are held as float32 by the full reader, not by the stream.
                assert!(
                    (x - y).abs() <= 1e-6 * y.abs().max(1.0),
                    "{name}: {}: {x} vs {y}",
                    a.name
                );
            }
        }
        assert!(streamed.area_m2.is_none() && streamed.cell_volume_m3.is_none());
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} VTK XML fixtures found");
}

#[test]
fn streaming_summary_rejects_the_corrupt_vtk_xml_fixtures() {
    let Some(root) = common::fixtures_dir() else {
        return;
    };
    for path in vtk_xml_files(&root.join("corrupt")) {
        let err =
            slipstream::inspect::summarize(&path, true).expect_err(&path.display().to_string());
        assert!(err
            .to_string()
            .contains(path.file_name().unwrap().to_str().unwrap()));
    }
}
