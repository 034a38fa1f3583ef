use super::*;
use crate::mesh::cells::CellType;
use crate::mesh::error::ParseError;
use crate::mesh::field::{ScalarType, Values};
use crate::mesh::MeshError;
use crate::test_fixtures::fixtures;
use serde_json::Value;
use std::collections::BTreeMap;

fn close(actual: f64, expected: f64, scale: f64) -> bool {
    (actual - expected).abs() <= 1e-6 * scale.max(actual.abs()).max(expected.abs()) + 1e-12
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

fn check_file(path: &Path, facts: &Value) {
    let name = path.display().to_string();
    let mesh = read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    mesh.validate()
        .unwrap_or_else(|e| panic!("{name}: invalid mesh: {e}"));
    assert_eq!(
        mesh.n_points() as u64,
        facts["n_points"].as_u64().unwrap(),
        "{name}: n_points"
    );
    assert_eq!(
        mesh.n_cells() as u64,
        facts["n_cells"].as_u64().unwrap(),
        "{name}: n_cells"
    );

    let counts: BTreeMap<String, u64> = mesh
        .cells
        .type_counts()
        .into_iter()
        .map(|(t, n)| (t.0.to_string(), n as u64))
        .collect();
    let expected: BTreeMap<String, u64> = facts["cell_type_counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(counts, expected, "{name}: cell type counts");
    if let Some(n) = facts.get("n_triangles").and_then(Value::as_u64) {
        assert_eq!(
            counts.get("5").copied().unwrap_or(0),
            n,
            "{name}: triangles"
        );
    }
    if let Some(n) = facts.get("connectivity_length").and_then(Value::as_u64) {
        assert_eq!(
            mesh.cells.connectivity.len() as u64,
            n,
            "{name}: connectivity length"
        );
    }

    match facts.get("polyhedra") {
        Some(p) => {
            let poly = mesh.cells.polyhedra.as_ref().expect("polyhedra present");
            let ids: Vec<u64> = p["cell_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(ids.len() as u64, p["count"].as_u64().unwrap(), "{name}");
            let poly_cells: Vec<u64> = mesh
                .cells
                .types
                .iter()
                .enumerate()
                .filter(|(_, &t)| t == CellType::POLYHEDRON)
                .map(|(i, _)| i as u64)
                .collect();
            assert_eq!(poly_cells, ids, "{name}: polyhedron cell ids");
            let faces: Vec<u64> = p["faces_per_polyhedron"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            for (&cell, &nf) in ids.iter().zip(&faces) {
                let cell = cell as usize;
                assert_eq!(
                    poly.faces_of(cell).count() as u64,
                    nf,
                    "{name}: faces of cell {cell}"
                );
                // The cell's points are exactly the distinct points of its faces.
                let mut from_faces: Vec<u32> = poly.faces_of(cell).flatten().copied().collect();
                from_faces.sort_unstable();
                from_faces.dedup();
                let mut pts = mesh.cells.cell(cell).to_vec();
                let n = pts.len();
                pts.sort_unstable();
                pts.dedup();
                assert_eq!(pts.len(), n, "{name}: cell {cell} lists a point twice");
                assert_eq!(pts, from_faces, "{name}: points of polyhedron {cell}");
            }
            // Non-polyhedra have no faces.
            let total: usize = (0..mesh.n_cells()).map(|c| poly.faces_of(c).count()).sum();
            assert_eq!(
                total as u64,
                faces.iter().sum::<u64>(),
                "{name}: face count"
            );
        }
        None => assert!(
            mesh.cells.polyhedra.is_none(),
            "{name}: unexpected polyhedra"
        ),
    }

    let bb = &facts["bounding_box"];
    let (lo, hi) = (f64s(&bb["min"]), f64s(&bb["max"]));
    for axis in 0..3 {
        let values = mesh.points.iter().map(|p| f64::from(p[axis]));
        let min = values.clone().fold(f64::INFINITY, f64::min);
        let max = values.fold(f64::NEG_INFINITY, f64::max);
        assert!(
            close(min, lo[axis], 0.0),
            "{name}: bbox min[{axis}] {min} vs {}",
            lo[axis]
        );
        assert!(
            close(max, hi[axis], 0.0),
            "{name}: bbox max[{axis}] {max} vs {}",
            hi[axis]
        );
    }

    let arrays = facts["arrays"].as_array().unwrap();
    let n_expected = |loc: &str| arrays.iter().filter(|a| a["association"] == loc).count();
    assert_eq!(
        mesh.point_data.len(),
        n_expected("PointData"),
        "{name}: point arrays"
    );
    assert_eq!(
        mesh.cell_data.len(),
        n_expected("CellData"),
        "{name}: cell arrays"
    );
    assert_eq!(
        mesh.field_data.len(),
        n_expected("FieldData"),
        "{name}: field arrays"
    );
    for a in arrays {
        let array_name = a["name"].as_str().unwrap();
        let fields = match a["association"].as_str().unwrap() {
            "PointData" => &mesh.point_data,
            "CellData" => &mesh.cell_data,
            "FieldData" => &mesh.field_data,
            other => panic!("{name}: unknown association {other}"),
        };
        let label = format!("{name}: {} {array_name}", a["association"]);
        let f = fields
            .iter()
            .find(|f| f.name == array_name)
            .unwrap_or_else(|| panic!("{label}: missing"));
        if a["association"] == "FieldData" {
            assert!(
                matches!(f.values, Values::F64(_)),
                "{label}: field data must be f64"
            );
        } else {
            assert!(
                matches!(f.values, Values::F32(_)),
                "{label}: point/cell data must be f32"
            );
        }
        let expected_type = ScalarType::from_vtk_name(a["data_type"].as_str().unwrap()).unwrap();
        assert_eq!(f.source_type, expected_type, "{label}: source type");
        assert_eq!(
            f.components as u64,
            a["n_components"].as_u64().unwrap(),
            "{label}: components"
        );
        assert_eq!(
            f.tuples() as u64,
            a["n_tuples"].as_u64().unwrap(),
            "{label}: tuples"
        );
        let stats = f.stats();
        let abs_sum: f64 = f.values.iter_f64().map(f64::abs).sum();
        let checks = [
            ("sum", stats.sum, abs_sum),
            ("min", stats.min, 0.0),
            ("max", stats.max, 0.0),
        ];
        for (what, actual, scale) in checks {
            let expected = a[what].as_f64().unwrap();
            assert!(
                close(actual, expected, scale),
                "{label}: {what} {actual} vs {expected}"
            );
        }
        let c = f.components;
        let n = f.values.len();
        for (key, start) in [("first_tuple", 0), ("last_tuple", n - c)] {
            let expected = f64s(&a[key]);
            assert_eq!(expected.len(), c, "{label}: {key} length");
            for (k, e) in expected.iter().enumerate() {
                let actual = f.values.get(start + k).unwrap();
                assert!(
                    close(actual, *e, 0.0),
                    "{label}: {key}[{k}] {actual} vs {e}"
                );
            }
        }
    }
}

#[test]
fn synthetic_legacy_fixtures_match_manifest() {
    let Some(dir) = fixtures() else { return };
    let dir = dir.join("synthetic");
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let manifest: Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for (file, facts) in manifest["files"].as_object().unwrap() {
        if !facts["kind"].as_str().unwrap_or("").starts_with("legacy_") {
            continue;
        }
        check_file(&dir.join(file), facts);
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} legacy fixtures checked");
}

#[test]
fn empty_file_is_an_error() {
    let Some(dir) = fixtures() else { return };
    let path = dir.join("corrupt/empty.vtk");
    assert!(path.is_file());
    match read(&path) {
        Err(MeshError::Invalid { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
    assert!(read(&dir.join("corrupt/does_not_exist.vtk")).is_err());
}

fn message(r: ParseResult<Mesh>) -> String {
    match r {
        Err(ParseError::Invalid(m)) | Err(ParseError::Unsupported(m)) => m,
        Err(ParseError::Io(e)) => e.to_string(),
        Ok(m) => panic!("expected an error, got a mesh with {} points", m.n_points()),
    }
}

const HEAD: &str = "# vtk DataFile Version 4.2\ntitle\nASCII\n";

fn ascii(body: &str) -> Vec<u8> {
    format!("{HEAD}{body}").into_bytes()
}

#[test]
fn polydata_sections_merge_in_vtk_order() {
    // Sections deliberately out of order: the cell list is verts, lines, polys, strips.
    let text = ascii(
        "DATASET POLYDATA\nPOINTS 6 double\n0 0 0 1 0 0 1 1 0\n0 1 0 0 0 1 1 0 1\n\
         TRIANGLE_STRIPS 1 5\n4 0 1 2 3\n\
         POLYGONS 3 15\n3 0 1 2\n4 0 1 2 3\n5 0 1 2 3 4\n\
         LINES 2 7\n2 0 1\n3 1 2 3\n\
         VERTICES 2 5\n1 5\n2 4 5\n\
         CELL_DATA 8\nSCALARS id int 1\nLOOKUP_TABLE default\n0 1 2 3 4 5 6 7\n",
    );
    let mesh = parse(&text).unwrap();
    let types: Vec<u8> = mesh.cells.types.iter().map(|t| t.0).collect();
    assert_eq!(types, vec![1, 2, 3, 4, 5, 9, 7, 6]);
    assert_eq!(mesh.cells.cell(0), &[5]);
    assert_eq!(mesh.cells.cell(1), &[4, 5]);
    assert_eq!(mesh.cells.cell(3), &[1, 2, 3]);
    assert_eq!(mesh.cells.cell(6), &[0, 1, 2, 3, 4]);
    assert_eq!(mesh.cells.cell(7), &[0, 1, 2, 3]);
    mesh.validate().unwrap();
    assert_eq!(mesh.cell_data[0].source_type, ScalarType::I32);
}

#[test]
fn version5_layout_with_int32_arrays_and_metadata() {
    let text = "# vtk DataFile Version 5.1\nvtk output\nASCII\nDATASET UNSTRUCTURED_GRID\n\
        POINTS 5 float\n0 0 0 1 0 0 0 1 0 0 0 1 1 1 1\n\
        METADATA\nINFORMATION 0\n\n\
        CELLS 3 5\nOFFSETS vtktypeint32\n0 4 5\nCONNECTIVITY vtktypeint32\n0 1 2 3 4\n\
        CELL_TYPES 2\n10\n1\n\
        POINT_DATA 5\nVECTORS my%20velocity float\n1 2 3 1 2 3 1 2 3 1 2 3 1 2 3\n\
        METADATA\nCOMPONENT_NAMES\nu\n\nw\nINFORMATION 1\nNAME L2_NORM_RANGE LOCATION vtkDataArray\nDATA 2 0 1\n\n\
        FIELD FieldData 2\nNULL_ARRAY\nflags 1 5 bit\n1 0 1 1 0\n";
    let mesh = parse(text.as_bytes()).unwrap();
    mesh.validate().unwrap();
    assert_eq!(mesh.cells.types, vec![CellType::TETRA, CellType::VERTEX]);
    assert_eq!(mesh.cells.offsets, vec![0, 4, 5]);
    assert_eq!(mesh.point_data.len(), 2);
    assert_eq!(mesh.point_data[0].name, "my velocity");
    assert_eq!(mesh.point_data[0].components, 3);
    assert_eq!(mesh.point_data[1].name, "flags");
    assert_eq!(
        mesh.point_data[1].values,
        Values::F32(vec![1.0, 0.0, 1.0, 1.0, 0.0])
    );
    assert_eq!(mesh.point_data[1].source_type, ScalarType::U8);
}

#[test]
fn all_attribute_kinds() {
    let text = ascii(
        "DATASET POLYDATA\nFIELD FieldData 2\nTime 1 1 double\n0.125\nnames 1 2 string\nfirst\nsecond%20one\n\
         POINTS 2 float\n0 0 0 1 1 1\nVERTICES 2 4\n1 0\n1 1\n\
         POINT_DATA 2\n\
         SCALARS s float 2\nLOOKUP_TABLE my_table\n1 2 3 4\n\
         LOOKUP_TABLE my_table 2\n0 0 0 1 1 1 1 1\n\
         COLOR_SCALARS rgb 3\n0 0.5 1 1 1 1\n\
         NORMALS n float\n0 0 1 0 1 0\n\
         TEXTURE_COORDINATES uv 2 float\n0 0 1 1\n\
         TENSORS t double\n1 0 0 0 1 0 0 0 1 2 0 0 0 2 0 0 0 2\n\
         TENSORS6 t6 float\n1 2 3 4 5 6 1 2 3 4 5 6\n\
         GLOBAL_IDS gid vtkIdType\n7 8\n\
         CELL_DATA 2\nFIELD FieldData 1\nq 1 2 unsigned_short\n3 65535\n",
    );
    let mesh = parse(&text).unwrap();
    mesh.validate().unwrap();
    let names: Vec<&str> = mesh.point_data.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["s", "rgb", "n", "uv", "t", "t6", "gid"]);
    let comps: Vec<usize> = mesh.point_data.iter().map(|f| f.components).collect();
    assert_eq!(comps, [2, 3, 3, 2, 9, 6, 1]);
    assert_eq!(
        mesh.point_data[1].values,
        Values::F32(vec![0.0, 128.0, 255.0, 255.0, 255.0, 255.0])
    );
    assert_eq!(mesh.point_data[1].source_type, ScalarType::U8);
    assert_eq!(mesh.point_data[6].source_type, ScalarType::I64);
    assert_eq!(mesh.cell_data[0].values, Values::F32(vec![3.0, 65535.0]));
    assert_eq!(mesh.field_data.len(), 1, "string arrays are skipped");
    assert_eq!(mesh.field_data[0].values, Values::F64(vec![0.125]));
}

/// A tiny big-endian writer for hand-made BINARY files.
#[derive(Default)]
struct Bin(Vec<u8>);
impl Bin {
    fn text(mut self, s: &str) -> Self {
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    fn i32s(mut self, v: &[i32]) -> Self {
        v.iter()
            .for_each(|x| self.0.extend_from_slice(&x.to_be_bytes()));
        self.text("\n")
    }
    fn i64s(mut self, v: &[i64]) -> Self {
        v.iter()
            .for_each(|x| self.0.extend_from_slice(&x.to_be_bytes()));
        self.text("\n")
    }
    fn f32s(mut self, v: &[f32]) -> Self {
        v.iter()
            .for_each(|x| self.0.extend_from_slice(&x.to_be_bytes()));
        self.text("\n")
    }
    fn bytes(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self.text("\n")
    }
}

/// A pyramid-shaped polyhedron (5 points, 5 faces) and a vertex, in binary with the 5.1 layout.
fn binary_polyhedron() -> Vec<u8> {
    let stream: Vec<i64> = vec![
        5, 4, 0, 1, 2, 3, 3, 0, 1, 4, 3, 1, 2, 4, 3, 2, 3, 4, 3, 3, 0, 4, //
        0,
    ];
    let n = stream.len() as i64;
    Bin::default()
        .text("# vtk DataFile Version 5.1\nvtk output\nBINARY\nDATASET UNSTRUCTURED_GRID\n")
        .text("FIELD FieldData 2\nlabels 1 2 string\n")
        .bytes(&[0xc3, b'a', b'b', b'c', 0x80, 0x02, b'd', b'e'])
        .text("T 1 1 double\n")
        .bytes(&1.5f64.to_be_bytes())
        .text("POINTS 5 float\n")
        .f32s(&[0., 0., 0., 1., 0., 0., 1., 1., 0., 0., 1., 0., 0.5, 0.5, 1.])
        .text(&format!("CELLS 3 {n}\nOFFSETS vtktypeint64\n"))
        .i64s(&[0, n - 1, n])
        .text("CONNECTIVITY vtktypeint64\n")
        .i64s(&stream)
        .text("CELL_TYPES 2\n")
        .i32s(&[42, 1])
        .text("CELL_DATA 2\nSCALARS c unsigned_char\nLOOKUP_TABLE default\n")
        .bytes(&[7, 250])
        .text("POINT_DATA 5\nFIELD FieldData 1\nb 1 5 bit\n")
        .bytes(&[0b1010_1000])
        .0
}

#[test]
fn binary_polyhedron_and_strings() {
    let mesh = parse(&binary_polyhedron()).unwrap();
    mesh.validate().unwrap();
    assert_eq!(
        mesh.cells.types,
        vec![CellType::POLYHEDRON, CellType::VERTEX]
    );
    assert_eq!(mesh.cells.cell(0), &[0, 1, 2, 3, 4]);
    assert_eq!(mesh.cells.cell(1), &[0]);
    let poly = mesh.cells.polyhedra.as_ref().unwrap();
    assert_eq!(poly.cell_faces, vec![0, 5, 5]);
    let faces: Vec<Vec<u32>> = poly.faces_of(0).map(<[u32]>::to_vec).collect();
    assert_eq!(faces[0], vec![0, 1, 2, 3]);
    assert_eq!(faces[4], vec![3, 0, 4]);
    assert_eq!(mesh.field_data.len(), 1);
    assert_eq!(mesh.field_data[0].values, Values::F64(vec![1.5]));
    assert_eq!(mesh.cell_data[0].values, Values::F32(vec![7.0, 250.0]));
    assert_eq!(
        mesh.point_data[0].values,
        Values::F32(vec![1.0, 0.0, 1.0, 0.0, 1.0])
    );
}

#[test]
fn hand_made_errors() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty"),
        ("not vtk", b"solid cube\nfacet normal 0 0 1\n".to_vec(), "not a legacy VTK"),
        ("header only", b"# vtk DataFile Version 4.2\n".to_vec(), "title"),
        ("no dataset", ascii(""), "DATASET"),
        ("bad encoding", b"# vtk DataFile Version 4.2\nt\nTEXT\n".to_vec(), "ASCII or BINARY"),
        ("structured points", ascii("DATASET STRUCTURED_POINTS\nDIMENSIONS 2 2 2\n"), "STRUCTURED_POINTS"),
        ("unknown dataset", ascii("DATASET BLOB\n"), "BLOB"),
        ("truncated points", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 1 1\n"), "POINTS"),
        ("huge count", ascii("DATASET POLYDATA\nPOINTS 999999999999999 float\n0 0 0\n"), "POINTS"),
        ("overflowing count", ascii("DATASET POLYDATA\nPOINTS 9223372036854775807 float\n0 0 0\n"), "POINTS"),
        ("negative count", ascii("DATASET POLYDATA\nPOINTS -3 float\n0 0 0\n"), "bad count"),
        ("bad number", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 zero 0\n"), "bad number 'zero' in POINTS"),
        ("nan point", ascii("DATASET POLYDATA\nPOINTS 2 float\n0 0 0 1 nan 0\n"), "point 1"),
        ("bad type", ascii("DATASET POLYDATA\nPOINTS 1 quaternion\n0 0 0\n"), "unknown data type"),
        ("id out of range", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n3 0 1 3\n"), "point 3"),
        ("negative id", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n3 0 -1 2\n"), "POLYGONS"),
        ("cell past list", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n7 0 1 2\n"), "past the end"),
        ("cell list too long", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 5\n3 0 1 2 2\n"), "declares 5"),
        ("more cells than ints", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nVERTICES 5 2\n1 0\n"), "more cells"),
        ("bad id", ascii("DATASET POLYDATA\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n3 0 x 2\n"), "bad integer 'x' in POLYGONS"),
        ("missing cell types", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 1 float\n0 0 0\nCELLS 1 2\n1 0\n"), "CELL_TYPES"),
        ("cell type count", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 1 float\n0 0 0\nCELLS 1 2\n1 0\nCELL_TYPES 2\n1 1\n"), "CELL_TYPES"),
        ("bad cell type", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 1 float\n0 0 0\nCELLS 1 2\n1 0\nCELL_TYPES 1\n300\n"), "cell type 300"),
        ("wrong point count for type", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 3 float\n0 0 0 1 0 0 0 1 0\nCELLS 1 3\n2 0 1\nCELL_TYPES 1\n5\n"), "expected 3"),
        ("bad face stream", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 4 float\n0 0 0 1 0 0 0 1 0 0 0 1\nCELLS 1 6\n5 2 3 0 1 2\nCELL_TYPES 1\n42\n"), "polyhedron cell 0"),
        ("face stream too long", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 4 float\n0 0 0 1 0 0 0 1 0 0 0 1\nCELLS 1 7\n6 1 3 0 1 2 3\nCELL_TYPES 1\n42\n"), "polyhedron cell 0"),
        ("face id out of range", ascii("DATASET UNSTRUCTURED_GRID\nPOINTS 4 float\n0 0 0 1 0 0 0 1 0 0 0 1\nCELLS 1 6\n5 1 3 0 1 9\nCELL_TYPES 1\n42\n"), "point 9"),
        ("point data count", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nPOINT_DATA 2\n"), "POINT_DATA 2"),
        ("cell data count", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nVERTICES 1 2\n1 0\nCELL_DATA 3\n"), "CELL_DATA 3"),
        ("field tuples", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nPOINT_DATA 1\nFIELD FieldData 1\na 1 2 float\n1 2\n"), "tuples"),
        ("truncated scalars", ascii("DATASET POLYDATA\nPOINTS 2 float\n0 0 0 0 0 0\nPOINT_DATA 2\nSCALARS s float\nLOOKUP_TABLE default\n1\n"), "SCALARS 's'"),
        ("scalars without table", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nPOINT_DATA 1\nSCALARS s float\n1 2\n"), "LOOKUP_TABLE"),
        ("unknown attribute", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nPOINT_DATA 1\nBLOBS b float\n1\n"), "BLOBS"),
        ("unknown keyword", ascii("DATASET POLYDATA\nPOINTS 1 float\n0 0 0\nCELLS 1 2\n1 0\n"), "CELLS"),
        ("offsets not from 0", b"# vtk DataFile Version 5.1\nt\nASCII\nDATASET POLYDATA\nPOINTS 1 float\n0 0 0\nVERTICES 2 1\nOFFSETS vtktypeint64\n1 1\nCONNECTIVITY vtktypeint64\n0\n".to_vec(), "OFFSETS"),
        ("offsets decrease", b"# vtk DataFile Version 5.1\nt\nASCII\nDATASET POLYDATA\nPOINTS 1 float\n0 0 0\nVERTICES 3 1\nOFFSETS vtktypeint64\n0 1 0\nCONNECTIVITY vtktypeint64\n0\n".to_vec(), "decrease"),
        ("v5 without offsets", b"# vtk DataFile Version 5.1\nt\nASCII\nDATASET POLYDATA\nPOINTS 1 float\n0 0 0\nVERTICES 2 1\n0 1\n0\n".to_vec(), "OFFSETS"),
        ("float connectivity", b"# vtk DataFile Version 5.1\nt\nBINARY\nDATASET POLYDATA\nPOINTS 0 float\nVERTICES 1 0\nOFFSETS float\n\0\0\0\0\nCONNECTIVITY float\n".to_vec(), "integers"),
        ("variant", ascii("DATASET POLYDATA\nFIELD FieldData 1\nv 1 1 variant\n1 x\n"), "variant"),
    ];
    for (label, bytes, expected) in cases {
        let m = message(parse(&bytes));
        assert!(
            m.contains(expected),
            "{label}: message '{m}' should mention '{expected}'"
        );
    }
}

#[test]
fn truncated_binary_is_an_error() {
    let full = binary_polyhedron();
    assert!(parse(&full).is_ok());
    // Every cut inside the header or a data block must fail; cuts between sections may leave a
    // valid (smaller) file, but nothing may panic.
    for cut in 0..full.len() {
        let _ = parse(&full[..cut]);
    }
    let points_at = full.windows(6).position(|w| w == b"POINTS").unwrap();
    for cut in [points_at + 20, points_at + 40, points_at + 70] {
        assert!(parse(&full[..cut]).is_err(), "cut at {cut}");
    }
    let Some(dir) = fixtures() else { return };
    for name in [
        "volume_f32_legacy_v51_binary.vtk",
        "surface_f32_legacy_v42_binary.vtk",
        "volume_f32_legacy_v42_ascii.vtk",
    ] {
        let bytes = std::fs::read(dir.join("synthetic").join(name)).unwrap();
        for frac in [0.01, 0.05, 0.1, 0.3, 0.45, 0.6] {
            let cut = (bytes.len() as f64 * frac) as usize;
            let r = parse(&bytes[..cut]);
            assert!(r.is_err(), "{name} cut at {cut} of {}", bytes.len());
        }
    }
}

#[test]
fn garbage_never_panics() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for len in [0usize, 1, 10, 100, 1000, 10000] {
        inputs.push((0..len).map(|_| next() as u8).collect());
        let mut with_header =
            b"# vtk DataFile Version 5.1\nx\nBINARY\nDATASET UNSTRUCTURED_GRID\n".to_vec();
        with_header.extend((0..len).map(|_| next() as u8));
        inputs.push(with_header);
    }
    // Byte flips in a valid binary file.
    let base = binary_polyhedron();
    for _ in 0..2000 {
        let mut b = base.clone();
        for _ in 0..1 + next() % 3 {
            let i = (next() as usize) % b.len();
            b[i] = next() as u8;
        }
        inputs.push(b);
    }
    // Byte flips in an ASCII polydata file.
    let text = ascii(
        "DATASET POLYDATA\nPOINTS 4 float\n0 0 0 1 0 0 1 1 0 0 1 0\nPOLYGONS 2 8\n3 0 1 2\n3 0 2 3\n\
         CELL_DATA 2\nSCALARS s float 1\nLOOKUP_TABLE default\n1 2\n",
    );
    assert!(parse(&text).is_ok());
    let alphabet = b"0123456789 -.\nxPOLYGONS";
    for _ in 0..2000 {
        let mut b = text.clone();
        let i = (next() as usize) % b.len();
        b[i] = alphabet[(next() as usize) % alphabet.len()];
        inputs.push(b);
    }
    for input in &inputs {
        if let Ok(mesh) = parse(input) {
            mesh.validate().unwrap();
        }
    }
}
