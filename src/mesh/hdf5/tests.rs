use super::contents::*;
use super::mesh_layout::*;
use super::read::*;
use super::write::*;
use crate::mesh::cells::{CellType, Cells, Polyhedra};

use crate::mesh::field::{Field, ScalarType, Values};
use crate::mesh::model::{Mesh, Parts};
use crate::test_fixtures::fixtures;

use std::path::PathBuf;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn json_f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

#[test]
fn reads_the_h5py_fixture_as_its_manifest_says() {
    let Some(dir) = fixtures() else { return };
    let file = dir.join("synthetic/surface.h5");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("synthetic/manifest.json")).unwrap(),
    )
    .unwrap();
    let entry = &manifest["files"]["surface.h5"];
    let contents = read(&file).unwrap();

    let expected = entry["datasets"].as_object().unwrap();
    let paths: Vec<&str> = contents.datasets.iter().map(|d| d.path.as_str()).collect();
    let mut want: Vec<&str> = expected.keys().map(String::as_str).collect();
    want.sort();
    assert_eq!(paths, want);
    for (path, spec) in expected {
        let ds = contents.dataset(path).unwrap();
        let shape: Vec<usize> = spec["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(ds.shape, shape, "{path}");
        let dtype = match spec["dtype"].as_str().unwrap() {
            "float32" => ScalarType::F32,
            "float64" => ScalarType::F64,
            "int32" => ScalarType::I32,
            "int64" => ScalarType::I64,
            other => panic!("unexpected dtype {other}"),
        };
        assert_eq!(ds.dtype, dtype, "{path}");
        assert_eq!(
            matches!(ds.values, Values::F32(_)),
            dtype == ScalarType::F32
        );
        let values: Vec<f64> = ds.values.iter_f64().collect();
        let sum: f64 = values.iter().sum();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert!(
            close(sum, spec["sum"].as_f64().unwrap()),
            "{path}: sum {sum}"
        );
        assert_eq!(min, spec["min"].as_f64().unwrap(), "{path}");
        assert_eq!(max, spec["max"].as_f64().unwrap(), "{path}");
        let comps = ds.components();
        assert_eq!(comps as u64, spec["n_components"].as_u64().unwrap());
        // The manifest's tuples of float32 datasets are float64 values before the cast.
        let same = |got: &[f64], want: Vec<f64>| {
            got.len() == want.len()
                && got.iter().zip(&want).all(|(&g, &w)| match ds.dtype {
                    ScalarType::F32 => g as f32 == w as f32,
                    _ => g == w,
                })
        };
        assert!(
            same(&values[..comps], json_f64s(&spec["first_tuple"])),
            "{path}"
        );
        assert!(
            same(
                &values[values.len() - comps..],
                json_f64s(&spec["last_tuple"])
            ),
            "{path}"
        );
        // The single-dataset reader agrees with the whole-file one.
        assert_eq!(&read_dataset(&file, path).unwrap(), ds);
    }

    let attrs = entry["attributes"].as_object().unwrap();
    assert_eq!(contents.attributes.len(), attrs.len());
    for (key, spec) in attrs {
        let (object, name) = key.split_once('@').unwrap();
        let got = contents
            .attribute(object, name)
            .unwrap_or_else(|| panic!("missing attribute {key}"));
        let value = &spec["value"];
        match value {
            serde_json::Value::String(s) => {
                assert_eq!(got, &AttrValue::Text(s.clone()), "{key}")
            }
            serde_json::Value::Number(x) => {
                assert_eq!(got, &AttrValue::Number(x.as_f64().unwrap()), "{key}")
            }
            serde_json::Value::Array(_) => {
                assert_eq!(got, &AttrValue::Numbers(json_f64s(value)), "{key}")
            }
            other => panic!("unexpected attribute value {other}"),
        }
    }
    // Not a slipstream mesh.
    assert!(mesh_from_contents(&contents).is_none());
}

#[test]
fn damaged_files_are_errors_naming_the_file() {
    let Some(dir) = fixtures() else { return };
    for name in [
        "corrupt/truncated.h5",
        "corrupt/empty.h5",
        "synthetic/surface.obj",
    ] {
        let file = dir.join(name);
        let err = read(&file).expect_err(name);
        assert!(
            err.to_string().contains(&file.display().to_string()),
            "{err}"
        );
        assert!(read_dataset(&file, "surface/pressure").is_err(), "{name}");
    }
    let err = read_dataset(&dir.join("synthetic/surface.h5"), "surface/nothing").unwrap_err();
    assert!(err.to_string().contains("surface/nothing"), "{err}");
}

/// Cut and bit-flipped copies of the fixture give errors or data, never a panic (nor an abort
/// on a huge allocation, which the size checks before each read prevent).
#[test]
fn mangled_copies_do_not_panic() {
    let Some(dir) = fixtures() else { return };
    let good = std::fs::read(dir.join("synthetic/surface.h5")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mangled.h5");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut outcomes = [0usize; 2];
    for round in 0..200 {
        let mut bytes = good.clone();
        if round % 2 == 0 {
            bytes.truncate((next() % good.len() as u64) as usize);
        } else {
            for _ in 0..1 + next() % 8 {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] ^= 1 << (next() % 8);
            }
        }
        std::fs::write(&file, &bytes).unwrap();
        let result = std::panic::catch_unwind(|| read(&file));
        let result = result.unwrap_or_else(|_| panic!("panic on round {round}"));
        outcomes[result.is_ok() as usize] += 1;
        let _ = std::panic::catch_unwind(|| read_dataset(&file, "surface/faces"))
            .unwrap_or_else(|_| panic!("panic on round {round}"));
    }
    eprintln!(
        "mangled copies: {} errors, {} read",
        outcomes[0], outcomes[1]
    );
}

fn small_mesh() -> Mesh {
    let points = vec![
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [1.0, 1.0, 1.0],
    ];
    let mut cells = Cells::default();
    cells.push(CellType::TRIANGLE, &[0, 1, 2]);
    cells.push(CellType::TETRA, &[0, 1, 2, 3]);
    cells.push(CellType::POLYHEDRON, &[0, 1, 2, 4]);
    // Only the polyhedron has faces.
    cells.polyhedra = Some(Polyhedra {
        cell_faces: vec![0, 0, 0, 4],
        face_offsets: vec![0, 3, 6, 9, 12],
        face_connectivity: vec![0, 2, 1, 0, 1, 4, 1, 2, 4, 2, 0, 4],
    });
    let mut ids = Field::new_f32("cell ids", 1, vec![7.0, 8.0, 9.0]);
    ids.source_type = ScalarType::I32;
    Mesh {
        points,
        cells,
        point_data: vec![
            Field::new_f32(
                "velocity/mean",
                3,
                (0..15).map(|i| i as f32 * 0.5).collect(),
            ),
            Field::new_f64("p", 1, vec![1.0, -2.5, 3.25, 1e-300, f64::MAX]),
        ],
        cell_data: vec![ids, Field::new_f32("area", 1, vec![0.5, 0.25, 0.125])],
        field_data: vec![
            Field::new_f64("TimeValue", 1, vec![3346.6275]),
            Field::new_f64("ref", 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        ],
        parts: Some(Parts {
            names: vec!["body".into(), "wheel / front".into()],
            cell_part: vec![0, 1, 1],
        }),
    }
}

#[test]
fn mesh_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mesh.h5");
    let mesh = small_mesh();
    write_mesh(&file, &mesh).unwrap();
    let contents = read(&file).unwrap();
    assert_eq!(
        contents.attribute("/", "layout"),
        Some(&AttrValue::Text(MESH_LAYOUT.into()))
    );
    let points = contents.dataset("/points").unwrap();
    assert_eq!(
        (points.shape.as_slice(), points.dtype),
        (&[5, 3][..], ScalarType::F32)
    );
    assert_eq!(
        contents.dataset("cells/types").unwrap().dtype,
        ScalarType::U8
    );
    assert_eq!(
        contents.dataset("cells/offsets").unwrap().dtype,
        ScalarType::I64
    );
    assert_eq!(
        contents.dataset("cells/part_id").unwrap().dtype,
        ScalarType::I32
    );
    assert_eq!(
        contents.dataset("point_data/velocity|mean").unwrap().shape,
        vec![5, 3]
    );
    assert_eq!(
        contents.dataset("point_data/p").unwrap().dtype,
        ScalarType::F64
    );
    let back = mesh_from_contents(&contents).unwrap().unwrap();
    assert_eq!(back, mesh);
    // Through the format-dispatching entry points too.
    assert_eq!(crate::mesh::read_mesh(&file).unwrap(), mesh);

    // Empty meshes and point clouds survive as well.
    for mesh in [
        Mesh::default(),
        Mesh::point_cloud(vec![[1.0, 2.0, 3.0]; 5000]),
    ] {
        write_mesh(&file, &mesh).unwrap();
        assert_eq!(
            mesh_from_contents(&read(&file).unwrap()).unwrap().unwrap(),
            mesh
        );
    }
}

#[test]
fn inconsistent_mesh_files_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.h5");
    let mut w = mesh_writer(&small_mesh()).unwrap();
    // A connectivity entry beyond the points.
    w.datasets.retain(|(p, _)| p != "cells/connectivity");
    w.dataset_i64(
        "cells/connectivity",
        &[15],
        &[0, 1, 2, 0, 1, 2, 3, 0, 1, 2, 99, 0, 0, 0, 0],
    );
    w.write(&file).unwrap();
    let err = mesh_from_contents(&read(&file).unwrap())
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(err.contains("99") || err.contains("offsets"), "{err}");
    assert!(crate::mesh::read_mesh(&file).is_err());

    let mut w = H5Writer::new();
    w.attr_text("/", "layout", MESH_LAYOUT);
    w.dataset_f32("points", &[1, 2], &[0.0, 1.0]);
    w.write(&file).unwrap();
    assert!(mesh_from_contents(&read(&file).unwrap()).unwrap().is_err());

    let mut w = H5Writer::new();
    w.attr_text("/", "layout", MESH_LAYOUT);
    w.dataset_f32("points", &[1, 3], &[0.0, 1.0, 2.0]);
    w.dataset_f32("point_data/x", &[2], &[0.0, 1.0]);
    w.write(&file).unwrap();
    assert!(mesh_from_contents(&read(&file).unwrap()).unwrap().is_err());
}

#[test]
fn writer_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("run.h5");
    let big: Vec<f32> = (0..30_000).map(|i| (i as f32 * 0.001).sin()).collect();
    let mut w = H5Writer::new();
    w.dataset_f32("surface/position", &[10_000, 3], &big)
        .dataset_f32("/surface/pressure", &[3], &[1.0, 2.0, 3.0])
        .dataset_i64("volume/ids", &[2, 2], &[-1, i64::from(i32::MAX) + 5, 0, 7])
        .dataset_u8("flags", &[3], &[0, 1, 255])
        .dataset_f64("deep/er/still", &[0, 3], &[])
        .attr_text("/", "layout", "slipstream-run")
        .attr_f64("/", "cd", 0.25)
        .attr_f64s("/", "bbox", &[0.0, 1.0])
        .attr_text("surface", "units", "m")
        .attr_f64("surface/pressure", "scale", 2.0)
        .attr_text("empty_group", "note", "ünïcode");
    w.write(&file).unwrap();

    let c = read(&file).unwrap();
    let paths: Vec<&str> = c.datasets.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/deep/er/still",
            "/flags",
            "/surface/position",
            "/surface/pressure",
            "/volume/ids"
        ]
    );
    assert_eq!(
        c.dataset("surface/position").unwrap().values,
        Values::F32(big)
    );
    assert_eq!(
        c.dataset("surface/position").unwrap().shape,
        vec![10_000, 3]
    );
    let ids = c.dataset("volume/ids").unwrap();
    assert_eq!(
        (ids.dtype, ids.shape.clone()),
        (ScalarType::I64, vec![2, 2])
    );
    assert_eq!(ids.values, Values::F64(vec![-1.0, 2147483652.0, 0.0, 7.0]));
    assert_eq!(c.dataset("flags").unwrap().dtype, ScalarType::U8);
    assert_eq!(c.dataset("deep/er/still").unwrap().shape, vec![0, 3]);
    assert_eq!(c.attribute("/", "cd"), Some(&AttrValue::Number(0.25)));
    assert_eq!(
        c.attribute("/", "bbox"),
        Some(&AttrValue::Numbers(vec![0.0, 1.0]))
    );
    assert_eq!(
        c.attribute("/surface", "units"),
        Some(&AttrValue::Text("m".into()))
    );
    assert_eq!(
        c.attribute("/surface/pressure", "scale"),
        Some(&AttrValue::Number(2.0))
    );
    assert_eq!(
        c.attribute("empty_group", "note"),
        Some(&AttrValue::Text("ünïcode".into()))
    );
    assert!(mesh_from_contents(&c).is_none());
    assert_eq!(
        serde_json::to_string(&[AttrValue::Number(1.5), AttrValue::Text("a".into())]).unwrap(),
        r#"[1.5,"a"]"#
    );

    // Mistakes are reported on write, and leave no file behind.
    let bad = tmp.path().join("bad.h5");
    for w in [
        H5Writer::new().dataset_f32("a", &[2], &[1.0]).clone(),
        H5Writer::new()
            .dataset_f32("a", &[1], &[1.0])
            .dataset_f32("a/b", &[1], &[1.0])
            .clone(),
        H5Writer::new().dataset_f32("a//b", &[1], &[1.0]).clone(),
        H5Writer::new().dataset_f32("/", &[1], &[1.0]).clone(),
        H5Writer::new()
            .attr_f64("/", "x", 1.0)
            .attr_f64("/", "x", 2.0)
            .clone(),
    ] {
        assert!(w.write(&bad).is_err());
        assert!(!bad.exists());
    }
}

/// Writes files for a manual check with h5py: `SLIPSTREAM_H5_INTEROP_DIR=/tmp/x cargo test
/// --lib mesh::hdf5`. Next to each `NAME.h5` goes `NAME.json` with what slipstream reads back
/// (shape, type name, values, attributes), for comparing with what h5py reads.
#[test]
fn write_interop_files() {
    let Ok(dir) = std::env::var("SLIPSTREAM_H5_INTEROP_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    write_mesh(&dir.join("mesh.h5"), &small_mesh()).unwrap();
    let big: Vec<f32> = (0..30_000).map(|i| (i as f32 * 0.001).sin()).collect();
    H5Writer::new()
        .dataset_f32("surface/position", &[10_000, 3], &big)
        .dataset_f64("surface/area", &[3], &[0.1, 1e-300, -7.5])
        .dataset_i64("volume/ids", &[2, 2], &[-1, i64::from(i32::MAX) + 5, 0, 7])
        .dataset_i32("volume/part", &[3], &[-3, 0, i32::MAX])
        .dataset_u8("flags", &[3], &[0, 1, 255])
        .attr_text("/", "layout", "slipstream-run")
        .attr_f64("/", "cd", 0.25)
        .attr_f64s("/", "bbox", &[0.0, -1.5, 2.25])
        .attr_text("surface", "units", "m")
        .attr_f64("surface/position", "scale", 2.0)
        .write(&dir.join("run.h5"))
        .unwrap();
    for name in ["mesh", "run"] {
        let c = read(&dir.join(format!("{name}.h5"))).unwrap();
        let datasets: serde_json::Map<String, serde_json::Value> = c
            .datasets
            .iter()
            .map(|d| {
                let values: Vec<f64> = d.values.iter_f64().collect();
                let v = serde_json::json!({
                    "shape": d.shape, "dtype": d.dtype.vtk_name(), "values": values,
                });
                (d.path.clone(), v)
            })
            .collect();
        let attributes: serde_json::Map<String, serde_json::Value> = c
            .attributes
            .iter()
            .map(|a| {
                let v = serde_json::to_value(&a.value).unwrap();
                (format!("{}@{}", a.object, a.name), v)
            })
            .collect();
        let json = serde_json::json!({ "datasets": datasets, "attributes": attributes });
        std::fs::write(dir.join(format!("{name}.json")), json.to_string()).unwrap();
    }
}
