//! Writing `.vtp` / `.vtu` in VTK's default layout: binary data in one `<AppendedData>` block (raw, or
//! zlib-compressed in 32 KiB blocks), UInt64 headers, little-endian.
//!
//! Polyhedra are written with the `faces`/`faceoffsets` arrays, which every VTK since 8 reads
//! (ParaView 5.x included), rather than the VTK ≥ 9.4 layout that older readers reject.

use std::io::Write;

use rayon::prelude::*;

use crate::mesh::cells::CellType;
use crate::mesh::field::{Field, Values};
use crate::mesh::model::Mesh;

use super::tag::escape;
use super::{Encoding, Kind};

/// Uncompressed size of one compression block (VTK's default).
const BLOCK_BYTES: usize = 32 * 1024;

/// Array data waiting to be written.
enum Data<'a> {
    F32(std::borrow::Cow<'a, [f32]>),
    F64(&'a [f64]),
    I64(Vec<i64>),
    U8(Vec<u8>),
}

impl Data<'_> {
    fn vtk_type(&self) -> &'static str {
        match self {
            Data::F32(_) => "Float32",
            Data::F64(_) => "Float64",
            Data::I64(_) => "Int64",
            Data::U8(_) => "UInt8",
        }
    }

    fn byte_len(&self) -> usize {
        match self {
            Data::F32(v) => v.len() * 4,
            Data::F64(v) => v.len() * 8,
            Data::I64(v) => v.len() * 8,
            Data::U8(v) => v.len(),
        }
    }

    /// Little-endian bytes of values `[from, to)` bytes.
    fn bytes(&self) -> Vec<u8> {
        match self {
            Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U8(v) => v.clone(),
        }
    }
}

struct ArrayOut<'a> {
    name: String,
    components: usize,
    /// For field data: `NumberOfTuples`.
    tuples: Option<usize>,
    data: Data<'a>,
}

impl<'a> ArrayOut<'a> {
    fn field(f: &'a Field, with_tuples: bool) -> Self {
        let data = match &f.values {
            Values::F32(v) => Data::F32(std::borrow::Cow::Borrowed(v)),
            Values::F64(v) => Data::F64(v),
        };
        ArrayOut {
            name: f.name.clone(),
            components: f.components,
            tuples: with_tuples.then(|| f.tuples()),
            data,
        }
    }

    fn ints(name: &str, values: Vec<i64>) -> Self {
        ArrayOut {
            name: name.into(),
            components: 1,
            tuples: None,
            data: Data::I64(values),
        }
    }
}

/// One encoded block of the appended section.
enum Encoded<'a> {
    /// Written straight from the array (no copy).
    Raw(&'a Data<'a>),
    Compressed(Vec<u8>),
}

fn encode<'a>(data: &'a Data<'a>, enc: Encoding) -> Encoded<'a> {
    match enc {
        Encoding::AppendedRaw => Encoded::Raw(data),
        Encoding::AppendedZlib => {
            let bytes = data.bytes();
            let blocks: Vec<Vec<u8>> = bytes
                .par_chunks(BLOCK_BYTES)
                .map(|b| {
                    let mut z =
                        flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(5));
                    // Writing into a Vec cannot fail.
                    let _ = z.write_all(b);
                    z.finish().unwrap_or_default()
                })
                .collect();
            let n = blocks.len() as u64;
            let last = bytes.len() % BLOCK_BYTES;
            let mut out = Vec::new();
            for v in [n, BLOCK_BYTES as u64, last as u64] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for b in &blocks {
                out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            }
            for b in &blocks {
                out.extend_from_slice(b);
            }
            Encoded::Compressed(out)
        }
    }
}

impl Encoded<'_> {
    fn len(&self) -> u64 {
        match self {
            Encoded::Raw(d) => 8 + d.byte_len() as u64,
            Encoded::Compressed(v) => v.len() as u64,
        }
    }

    fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        match self {
            Encoded::Compressed(v) => w.write_all(v),
            Encoded::Raw(d) => {
                w.write_all(&(d.byte_len() as u64).to_le_bytes())?;
                // Stream in pieces so a multi-GB array is never copied whole.
                match d {
                    Data::F32(v) => write_le(w, v, |x| x.to_le_bytes()),
                    Data::F64(v) => write_le(w, v, |x| x.to_le_bytes()),
                    Data::I64(v) => write_le(w, v, |x| x.to_le_bytes()),
                    Data::U8(v) => w.write_all(v),
                }
            }
        }
    }
}

fn write_le<T: Copy, const N: usize>(
    w: &mut impl Write,
    v: &[T],
    f: impl Fn(T) -> [u8; N],
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    for chunk in v.chunks((1 << 16) / N) {
        buf.clear();
        for &x in chunk {
            buf.extend_from_slice(&f(x));
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// The values of tuples `order[..].1` of a `c`-component array, in that order; `None` where the array
/// is too short.
fn permute_tuples<T: Copy>(v: &[T], c: usize, order: &[(usize, usize)]) -> Option<Vec<T>> {
    let mut out = Vec::with_capacity(v.len());
    for &(_, i) in order {
        out.extend_from_slice(v.get(i.checked_mul(c)?..i.checked_add(1)?.checked_mul(c)?)?);
    }
    Some(out)
}

/// The cell categories of PolyData, in the order VTK stores them.
fn poly_category(t: CellType) -> Option<usize> {
    match t {
        CellType::VERTEX | CellType::POLY_VERTEX => Some(0),
        CellType::LINE | CellType::POLY_LINE => Some(1),
        CellType::TRIANGLE | CellType::QUAD | CellType::POLYGON => Some(2),
        CellType::TRIANGLE_STRIP => Some(3),
        _ => None,
    }
}

/// Writes `mesh` as VTK XML to `w`. Errors only on I/O or when the mesh does not fit the dataset kind
/// (3D cells in PolyData).
pub fn write_to(w: &mut impl Write, mesh: &Mesh, kind: Kind, enc: Encoding) -> std::io::Result<()> {
    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    mesh.validate().map_err(|e| invalid(e.to_string()))?;
    let cells = &mesh.cells;
    let n_cells = cells.len();

    // PolyData stores cells grouped (verts, lines, polys, strips); reorder cell data the same way.
    // `order` holds (category, cell) in the order the file stores the cells.
    let order: Vec<(usize, usize)> = if kind == Kind::PolyData {
        let mut order = Vec::with_capacity(n_cells);
        for (i, &t) in cells.types.iter().enumerate() {
            let c = poly_category(t).ok_or_else(|| {
                invalid(format!(
                    "cell {i} is a {}, which a .vtp cannot hold (write .vtu)",
                    t.name()
                ))
            })?;
            order.push((c, i));
        }
        // Stable: cells keep their order within a category.
        order.sort_by_key(|&(c, _)| c);
        order
    } else {
        (0..n_cells).map(|i| (0, i)).collect()
    };
    let poly_count = |cat: usize| order.iter().filter(|&&(c, _)| c == cat).count();
    let sorted = order.iter().enumerate().all(|(k, &(_, i))| k == i);
    let permute = |f: &Field| -> std::io::Result<Field> {
        let c = f.components;
        let short = || {
            invalid(format!(
                "cell array '{}' holds fewer values than the cells",
                f.name
            ))
        };
        let values = match &f.values {
            Values::F32(v) => Values::F32(permute_tuples(v, c, &order).ok_or_else(short)?),
            Values::F64(v) => Values::F64(permute_tuples(v, c, &order).ok_or_else(short)?),
        };
        Ok(Field {
            values,
            ..f.clone()
        })
    };
    let permuted_cell_data: Vec<Field> = if sorted {
        Vec::new()
    } else {
        mesh.cell_data
            .iter()
            .map(permute)
            .collect::<std::io::Result<_>>()?
    };
    let cell_data: &[Field] = if sorted {
        &mesh.cell_data
    } else {
        &permuted_cell_data
    };

    let field_arrays: Vec<ArrayOut> = mesh
        .field_data
        .iter()
        .map(|f| ArrayOut::field(f, true))
        .collect();
    let point_arrays: Vec<ArrayOut> = mesh
        .point_data
        .iter()
        .map(|f| ArrayOut::field(f, false))
        .collect();
    let cell_arrays: Vec<ArrayOut> = cell_data
        .iter()
        .map(|f| ArrayOut::field(f, false))
        .collect();
    let flat_points: Vec<f32> = mesh.points.iter().flatten().copied().collect();
    let points = ArrayOut {
        name: "Points".into(),
        components: 3,
        tuples: None,
        data: Data::F32(std::borrow::Cow::Owned(flat_points)),
    };

    // Topology sections.
    let mut sections: Vec<(&str, Vec<ArrayOut>)> = Vec::new();
    match kind {
        Kind::UnstructuredGrid => {
            let conn: Vec<i64> = cells.connectivity.iter().map(|&p| p as i64).collect();
            let ends: Vec<i64> = cells.offsets.iter().skip(1).map(|&o| o as i64).collect();
            let types: Vec<u8> = cells.types.iter().map(|t| t.0).collect();
            let mut arrays = vec![
                ArrayOut::ints("connectivity", conn),
                ArrayOut::ints("offsets", ends),
                ArrayOut {
                    name: "types".into(),
                    components: 1,
                    tuples: None,
                    data: Data::U8(types),
                },
            ];
            if let Some(poly) = cells
                .polyhedra
                .as_ref()
                .filter(|_| cells.types.contains(&CellType::POLYHEDRON))
            {
                let mut faces = Vec::new();
                let mut face_ends = Vec::with_capacity(n_cells);
                for (i, t) in cells.types.iter().enumerate() {
                    if *t == CellType::POLYHEDRON {
                        let fs: Vec<&[u32]> = poly.faces_of(i).collect();
                        faces.push(fs.len() as i64);
                        for f in fs {
                            faces.push(f.len() as i64);
                            faces.extend(f.iter().map(|&p| p as i64));
                        }
                        face_ends.push(faces.len() as i64);
                    } else {
                        face_ends.push(-1);
                    }
                }
                arrays.push(ArrayOut::ints("faces", faces));
                arrays.push(ArrayOut::ints("faceoffsets", face_ends));
            }
            sections.push(("Cells", arrays));
        }
        Kind::PolyData => {
            for (cat, name) in ["Verts", "Lines", "Polys", "Strips"].iter().enumerate() {
                let mut conn = Vec::new();
                let mut ends = Vec::new();
                for &(c, i) in &order {
                    if c == cat {
                        conn.extend(cells.cell(i).iter().map(|&p| p as i64));
                        ends.push(conn.len() as i64);
                    }
                }
                sections.push((
                    name,
                    vec![
                        ArrayOut::ints("connectivity", conn),
                        ArrayOut::ints("offsets", ends),
                    ],
                ));
            }
        }
    }

    // Encode (compress) everything first so that offsets are known.
    let mut all: Vec<&ArrayOut> = Vec::new();
    all.extend(field_arrays.iter());
    all.extend(point_arrays.iter());
    all.extend(cell_arrays.iter());
    all.push(&points);
    for (_, arrays) in &sections {
        all.extend(arrays.iter());
    }
    let encoded: Vec<Encoded> = all.iter().map(|a| encode(&a.data, enc)).collect();
    let mut offsets = Vec::with_capacity(encoded.len());
    let mut off = 0u64;
    for e in &encoded {
        offsets.push(off);
        off += e.len();
    }
    // The arrays are described in the order they were encoded, so each takes the next offset.
    let mut offsets = offsets.into_iter();
    let mut array_xml = |out: &mut String, a: &ArrayOut, indent: &str| -> std::io::Result<()> {
        let offset = offsets.next().ok_or_else(|| {
            std::io::Error::other(format!("internal: array '{}' was not encoded", a.name))
        })?;
        let comps = if a.components != 1 {
            format!(" NumberOfComponents=\"{}\"", a.components)
        } else {
            String::new()
        };
        let tuples = a
            .tuples
            .map(|t| format!(" NumberOfTuples=\"{t}\""))
            .unwrap_or_default();
        out.push_str(&format!(
            "{indent}<DataArray type=\"{}\" Name=\"{}\"{comps}{tuples} format=\"appended\" offset=\"{}\"/>\n",
            a.data.vtk_type(),
            escape(&a.name),
            offset
        ));
        Ok(())
    };

    let (type_name, piece_attrs) = match kind {
        Kind::UnstructuredGrid => (
            "UnstructuredGrid",
            format!("NumberOfPoints=\"{}\" NumberOfCells=\"{}\"", mesh.points.len(), n_cells),
        ),
        Kind::PolyData => (
            "PolyData",
            format!(
                "NumberOfPoints=\"{}\" NumberOfVerts=\"{}\" NumberOfLines=\"{}\" NumberOfStrips=\"{}\" NumberOfPolys=\"{}\"",
                mesh.points.len(),
                poly_count(0),
                poly_count(1),
                poly_count(3),
                poly_count(2)
            ),
        ),
    };
    let compressor = match enc {
        Encoding::AppendedRaw => "",
        Encoding::AppendedZlib => " compressor=\"vtkZLibDataCompressor\"",
    };
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\"?>\n");
    x.push_str(&format!(
        "<VTKFile type=\"{type_name}\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\"{compressor}>\n"
    ));
    x.push_str(&format!("  <{type_name}>\n"));
    if !field_arrays.is_empty() {
        x.push_str("    <FieldData>\n");
        for a in &field_arrays {
            array_xml(&mut x, a, "      ")?;
        }
        x.push_str("    </FieldData>\n");
    }
    x.push_str(&format!("    <Piece {piece_attrs}>\n"));
    for (tag, arrays) in [("PointData", &point_arrays), ("CellData", &cell_arrays)] {
        x.push_str(&format!("      <{tag}>\n"));
        for a in arrays.iter() {
            array_xml(&mut x, a, "        ")?;
        }
        x.push_str(&format!("      </{tag}>\n"));
    }
    x.push_str("      <Points>\n");
    array_xml(&mut x, &points, "        ")?;
    x.push_str("      </Points>\n");
    for (tag, arrays) in &sections {
        x.push_str(&format!("      <{tag}>\n"));
        for a in arrays {
            array_xml(&mut x, a, "        ")?;
        }
        x.push_str(&format!("      </{tag}>\n"));
    }
    x.push_str("    </Piece>\n");
    x.push_str(&format!("  </{type_name}>\n"));
    x.push_str("  <AppendedData encoding=\"raw\">\n   _");
    w.write_all(x.as_bytes())?;
    for e in &encoded {
        e.write_to(w)?;
    }
    w.write_all(b"\n  </AppendedData>\n</VTKFile>\n")?;
    Ok(())
}
