//! HDF5 files, through the pure-Rust `hdf5-pure` crate (no libhdf5).
//!
//! Three things live here:
//!
//! - [`read`] / [`read_dataset`]: any HDF5 file as plain numeric datasets and attributes
//!   ([`H5Contents`]), for `info`, for dataset layouts written by other tools (h5py) and for prepared
//!   training runs.
//! - slipstream's own mesh layout (root attribute `layout = "slipstream-mesh"`): [`write_mesh`] and
//!   [`mesh_from_contents`].
//! - [`H5Writer`], a small general writer (nested groups, float/integer datasets, text and number
//!   attributes) that writes atomically.
//!
//! # The mesh layout
//!
//! | dataset | shape | type |
//! |---|---|---|
//! | `points` | `[N, 3]` | float32 |
//! | `cells/types` | `[C]` | uint8 (VTK cell type ids) |
//! | `cells/offsets` | `[C + 1]` | int64 |
//! | `cells/connectivity` | `[K]` | int64 |
//! | `cells/polyhedron_faces`, `cells/face_offsets`, `cells/face_connectivity` | `[C + 1]`, `[F + 1]`, `[L]` | int64, only with polyhedra |
//! | `cells/part_id` | `[C]` | int32, only with parts; root attribute `part_names` holds the names joined by `'\n'` |
//! | `point_data/<name>`, `cell_data/<name>` | `[N]` or `[N, components]` | float32 or float64 as held in memory |
//! | `field_data/<name>` | `[T]` or `[T, components]` | float32 or float64 |
//!
//! Array names containing `/` are stored with `|` in its place. Every array carries an attribute
//! `index` (its position, so that the order of the arrays survives the round trip) and, where the
//! array came from a file that stored it as another type (ids as `Int32`), `source_type` (VTK's
//! spelling). The root also carries `layout_version = 1`.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5_pure as h5;
use serde::Serialize;

use super::atomic_write::write_bytes_atomically;
use super::cells::{CellType, Cells, Polyhedra};
use super::error::{Context, MeshError, ParseError, Result};
use super::field::{Field, Location, ScalarType, Values};
use super::model::{Mesh, Parts};

/// Value of the root attribute `layout` in a mesh written by slipstream.
pub const MESH_LAYOUT: &str = "slipstream-mesh";
/// Version of the mesh layout this module writes (root attribute `layout_version`).
pub const MESH_LAYOUT_VERSION: f64 = 1.0;

/// Everything numeric an HDF5 file holds: its datasets (sorted by path) and the attributes of the
/// root, of its groups and of its datasets (sorted by object, then name).
///
/// Datasets of other types (strings, compounds, references) are left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct H5Contents {
    pub datasets: Vec<H5Dataset>,
    pub attributes: Vec<H5Attribute>,
}

impl H5Contents {
    /// The dataset at `path` (`"/surface/pressure"`; the leading `/` may be left out).
    pub fn dataset(&self, path: &str) -> Option<&H5Dataset> {
        let path = absolute(path);
        self.datasets.iter().find(|d| d.path == path)
    }

    /// The value of attribute `name` on `object` (`"/"` for the root, else a group or dataset path).
    pub fn attribute(&self, object: &str, name: &str) -> Option<&AttrValue> {
        let object = absolute(object);
        self.attributes
            .iter()
            .find(|a| a.object == object && a.name == name)
            .map(|a| &a.value)
    }

    /// All attributes of `object`.
    pub fn attributes_of<'a>(&'a self, object: &str) -> impl Iterator<Item = &'a H5Attribute> + 'a {
        let object = absolute(object);
        self.attributes.iter().filter(move |a| a.object == object)
    }
}

/// One numeric dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct H5Dataset {
    /// Absolute path, e.g. `"/surface/pressure"`.
    pub path: String,
    /// Dimensions (empty for a scalar dataset).
    pub shape: Vec<usize>,
    /// The type the file stores.
    pub dtype: ScalarType,
    /// `F32` for float32 datasets, `F64` for float64 and every integer type (integers beyond 2^53
    /// lose precision).
    pub values: Values,
}

impl H5Dataset {
    /// The last component of the path.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// Number of rows (the first dimension; 1 for a scalar dataset).
    pub fn tuples(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Values per row: the product of the dimensions after the first (1 for rank 0 and 1).
    pub fn components(&self) -> usize {
        self.shape.iter().skip(1).product()
    }
}

/// An attribute of the root (`object == "/"`), a group or a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct H5Attribute {
    pub object: String,
    pub name: String,
    pub value: AttrValue,
}

/// An attribute value: scalars become `Number`, arrays `Numbers` (integers as `f64`), strings `Text`
/// (an array of strings is joined with `'\n'`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttrValue {
    Number(f64),
    Numbers(Vec<f64>),
    Text(String),
}

impl AttrValue {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            AttrValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The number of a scalar or of a one-element array.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            AttrValue::Number(x) => Some(*x),
            AttrValue::Numbers(v) => match v.as_slice() {
                [x] => Some(*x),
                _ => None,
            },
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// Groups visited at most while walking a file: a corrupt file can link a group into itself.
const MAX_GROUPS: usize = 100_000;
/// Deepest group nesting followed.
const MAX_DEPTH: usize = 64;
/// Deflate compresses at most about 1032:1, so a dataset or chunk whose decoded size is larger than
/// this many times the file is corrupt (or unwritten fill-value storage, which is not read).
const MAX_EXPANSION: u64 = 1100;
/// Decoded sizes always allowed, however small the file.
const MIN_SIZE_LIMIT: u64 = 256 << 20;

/// What a file of `len` bytes is trusted to describe. Checked before every read, because
/// `hdf5-pure` allocates claimed sizes up front: a corrupt shape would abort the process, and a
/// corrupt storage size makes the streaming reader allocate and fill gigabytes before it notices
/// the end of the file.
#[derive(Debug, Clone, Copy)]
struct Limits {
    file_len: u64,
    /// Largest decoded dataset or chunk, in bytes.
    decoded: u64,
}

impl Limits {
    fn new(file_len: u64) -> Self {
        Limits {
            file_len,
            decoded: file_len.saturating_mul(MAX_EXPANSION).max(MIN_SIZE_LIMIT),
        }
    }
}

/// Reads every numeric dataset in every group (recursively) and every attribute.
pub fn read(path: &Path) -> Result<H5Contents> {
    let (file, len) = open(path)?;
    contents_of(&file, len).map_err(|m| MeshError::invalid(path, m))
}

/// Parses an HDF5 file held in memory (the fuzz targets' entry point).
pub fn parse(bytes: &[u8]) -> std::result::Result<H5Contents, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Invalid(
            "empty file (0 bytes), not an HDF5 file".into(),
        ));
    }
    if !h5::is_hdf5_bytes(bytes) {
        return Err(ParseError::Invalid(
            "not an HDF5 file (no HDF5 signature)".into(),
        ));
    }
    let file = h5::File::from_bytes(bytes.to_vec())
        .map_err(|e| ParseError::Invalid(format!("cannot open as HDF5: {e}")))?;
    let len = bytes.len() as u64;
    check_superblock(&file, len).map_err(ParseError::Invalid)?;
    contents_of(&file, len).map_err(ParseError::Invalid)
}

fn contents_of(file: &h5::File, len: u64) -> std::result::Result<H5Contents, String> {
    let mut contents = H5Contents::default();
    let mut walker = Walker {
        limits: Limits::new(len),
        groups: 0,
        out: &mut contents,
    };
    walker.walk(&file.root(), "/", 0)?;
    contents.datasets.sort_by(|a, b| a.path.cmp(&b.path));
    contents
        .attributes
        .sort_by(|a, b| (&a.object, &a.name).cmp(&(&b.object, &b.name)));
    Ok(contents)
}

/// A file cut short still has a superblock claiming its full length: compare.
fn check_superblock(file: &h5::File, len: u64) -> std::result::Result<(), String> {
    let sb = file.superblock();
    let end = sb.base_address.get().saturating_add(sb.eof_address);
    if sb.eof_address != u64::MAX && end > len {
        return Err(format!(
            "truncated HDF5 file: {len} bytes, but the superblock says it ends at byte {end}"
        ));
    }
    Ok(())
}

/// Reads one dataset (`name` like `"surface/pressure"` or `"/surface/pressure"`).
pub fn read_dataset(path: &Path, name: &str) -> Result<H5Dataset> {
    let (ds, dataset_path, len) = find_dataset(path, name)?;
    match convert_dataset(&ds, &dataset_path, Limits::new(len))
        .map_err(|m| MeshError::invalid(path, m))?
    {
        Some(d) => Ok(d),
        None => Err(MeshError::unsupported(
            path,
            format!(
                "dataset '{dataset_path}' is not numeric (its type is {})",
                ds.dtype()
                    .map(|t| t.to_string())
                    .unwrap_or_else(|_| "unreadable".into())
            ),
        )),
    }
}

/// Dataset `name` of `path` opened for streaming reads, with its absolute path (for messages)
/// and the file's length.
fn find_dataset(path: &Path, name: &str) -> Result<(h5::Dataset, String, u64)> {
    let (file, len) = open(path)?;
    let dataset_path = absolute(name);
    let ds = file
        .dataset(dataset_path.trim_start_matches('/'))
        .map_err(|e| MeshError::invalid(path, format!("no dataset '{dataset_path}': {e}")))?;
    Ok((ds, dataset_path, len))
}

/// The rows (first dimension) and values per row of an opened dataset.
fn rows_and_width(path: &Path, ds: &h5::Dataset, dataset_path: &str) -> Result<(u64, usize)> {
    let shape = ds
        .shape()
        .map_err(|e| MeshError::invalid(path, format!("'{dataset_path}': {e}")))?;
    let rows = shape.first().copied().unwrap_or(1);
    Ok((rows, shape.iter().skip(1).product::<u64>() as usize))
}

/// The number of rows (first dimension) and values per row of dataset `name`, without reading it.
pub fn dataset_shape(path: &Path, name: &str) -> Result<(usize, usize)> {
    let (ds, dataset_path, _) = find_dataset(path, name)?;
    let (rows, width) = rows_and_width(path, &ds, &dataset_path)?;
    Ok((rows as usize, width))
}

/// Rows of a float dataset, `rows` in any order and with repeats, as `[rows.len() · width]`
/// float32, reading only windows of the dataset around them (a few thousand rows at a time, the
/// chunks they overlap): memory follows the request, not the dataset.
pub fn read_rows_f32(path: &Path, name: &str, rows: &[usize]) -> Result<Vec<f32>> {
    const WINDOW_ROWS: u64 = 4096;
    let (ds, dataset_path, _) = find_dataset(path, name)?;
    let bad = |e: h5::Error| MeshError::invalid(path, format!("'{dataset_path}': {e}"));
    let (n, width) = rows_and_width(path, &ds, &dataset_path)?;
    // (row, where it goes), by row: each window serves every request inside it.
    let mut order: Vec<(u64, usize)> = rows
        .iter()
        .enumerate()
        .map(|(k, &r)| (r as u64, k))
        .collect();
    order.sort_unstable();
    let mut out = vec![0f32; rows.len() * width];
    let mut pending = order.iter().peekable();
    while let Some(&&(start, _)) = pending.peek() {
        if start >= n {
            return Err(MeshError::invalid(
                path,
                format!("'{dataset_path}' has {n} rows; row {start} was asked for"),
            ));
        }
        let window = ds.read_f32_rows(start, WINDOW_ROWS).map_err(bad)?;
        let end = start + (window.len() / width.max(1)) as u64;
        if end == start {
            return Err(MeshError::invalid(
                path,
                format!("'{dataset_path}': row {start} could not be read"),
            ));
        }
        while let Some(&(row, k)) = pending.next_if(|(row, _)| *row < end) {
            let local = (row - start) as usize * width;
            let (Some(src), Some(dst)) = (
                window.get(local..local + width),
                out.get_mut(k * width..(k + 1) * width),
            ) else {
                return Err(MeshError::invalid(
                    path,
                    format!("'{dataset_path}': row {row} is shorter than {width} values"),
                ));
            };
            dst.copy_from_slice(src);
        }
    }
    Ok(out)
}

/// The root group's attributes only, without reading any dataset (a prepared run's units and
/// references, for training that reads its rows lazily).
pub fn read_root_attributes(path: &Path) -> Result<H5Contents> {
    let (file, _) = open(path)?;
    let attrs = file
        .root()
        .attrs()
        .map_err(|e| MeshError::invalid(path, format!("cannot read the root attributes: {e}")))?;
    let mut out = H5Contents::default();
    push_attributes("/", attrs, &mut out);
    out.attributes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Opens `path` for streaming reads after checking that it is a complete HDF5 file; also returns
/// the file's length.
fn open(path: &Path) -> Result<(h5::File, u64)> {
    let len = std::fs::metadata(path)
        .map_err(|e| MeshError::io(path, e))?
        .len();
    if len == 0 {
        return Err(MeshError::invalid(
            path,
            "empty file (0 bytes), not an HDF5 file",
        ));
    }
    match h5::is_hdf5(path) {
        Ok(true) => {}
        Ok(false) => {
            return Err(MeshError::invalid(
                path,
                "not an HDF5 file (no HDF5 signature)",
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::Other => {
            return Err(MeshError::invalid(
                path,
                format!("not a readable HDF5 file: {e}"),
            ))
        }
        Err(e) => return Err(MeshError::io(path, e)),
    }
    let file = h5::File::open_streaming(path)
        .map_err(|e| match e {
            h5::Error::Io(e) => ParseError::Io(e),
            e => ParseError::Invalid(format!("cannot open as HDF5: {e}")),
        })
        .at(path)?;
    check_superblock(&file, len).map_err(|m| MeshError::invalid(path, m))?;
    Ok((file, len))
}

struct Walker<'a> {
    limits: Limits,
    groups: usize,
    out: &'a mut H5Contents,
}

impl Walker<'_> {
    fn walk(
        &mut self,
        group: &h5::Group,
        group_path: &str,
        depth: usize,
    ) -> std::result::Result<(), String> {
        self.groups += 1;
        if self.groups > MAX_GROUPS || depth > MAX_DEPTH {
            return Err(format!(
                "too many or too deeply nested groups at '{group_path}' (a link cycle?)"
            ));
        }
        let attrs = group
            .attrs()
            .map_err(|e| format!("cannot read the attributes of '{group_path}': {e}"))?;
        push_attributes(group_path, attrs, self.out);
        let datasets = group
            .iter_datasets()
            .map_err(|e| format!("cannot list the datasets of '{group_path}': {e}"))?;
        for (name, ds) in datasets {
            let path = child_path(group_path, &name);
            if let Some(d) = convert_dataset(&ds, &path, self.limits)? {
                self.out.datasets.push(d);
            }
            let attrs = ds
                .attrs()
                .map_err(|e| format!("cannot read the attributes of '{path}': {e}"))?;
            push_attributes(&path, attrs, self.out);
        }
        let children = group
            .iter_groups()
            .map_err(|e| format!("cannot list the groups of '{group_path}': {e}"))?;
        for (name, child) in children {
            self.walk(&child, &child_path(group_path, &name), depth + 1)?;
        }
        Ok(())
    }
}

fn push_attributes(
    object: &str,
    attrs: std::collections::HashMap<String, h5::AttrValue>,
    out: &mut H5Contents,
) {
    for (name, value) in attrs {
        if let Some(value) = convert_attr(&value) {
            out.attributes.push(H5Attribute {
                object: object.to_string(),
                name,
                value,
            });
        }
    }
}

fn convert_attr(v: &h5::AttrValue) -> Option<AttrValue> {
    use h5::AttrValue as A;
    fn many<T: Copy + Into<f64>>(v: &[T]) -> AttrValue {
        AttrValue::Numbers(v.iter().map(|&x| x.into()).collect())
    }
    Some(match v {
        A::F32(x) => AttrValue::Number((*x).into()),
        A::F64(x) => AttrValue::Number(*x),
        A::I8(x) => AttrValue::Number((*x).into()),
        A::I16(x) => AttrValue::Number((*x).into()),
        A::I32(x) => AttrValue::Number((*x).into()),
        A::I64(x) => AttrValue::Number(*x as f64),
        A::U8(x) => AttrValue::Number((*x).into()),
        A::U16(x) => AttrValue::Number((*x).into()),
        A::U32(x) => AttrValue::Number((*x).into()),
        A::U64(x) => AttrValue::Number(*x as f64),
        A::F32Array(v) => many(v),
        A::F64Array(v) => many(v),
        A::I8Array(v) => many(v),
        A::I16Array(v) => many(v),
        A::I32Array(v) => many(v),
        A::I64Array(v) => AttrValue::Numbers(v.iter().map(|&x| x as f64).collect()),
        A::U8Array(v) => many(v),
        A::U16Array(v) => many(v),
        A::U32Array(v) => many(v),
        A::U64Array(v) => AttrValue::Numbers(v.iter().map(|&x| x as f64).collect()),
        other => AttrValue::Text(other.as_strings()?.join("\n")),
    })
}

/// Converts a dataset with a numeric type; `None` for other types. Datasets whose sizes or
/// storage do not fit `limits` are refused before anything is read.
fn convert_dataset(
    ds: &h5::Dataset,
    path: &str,
    limits: Limits,
) -> std::result::Result<Option<H5Dataset>, String> {
    let cannot = |e: h5::Error| format!("cannot read dataset '{path}': {e}");
    let dtype = match ds.dtype().map_err(cannot)? {
        h5::DType::F32 => ScalarType::F32,
        h5::DType::F64 => ScalarType::F64,
        h5::DType::I8 => ScalarType::I8,
        h5::DType::I16 => ScalarType::I16,
        h5::DType::I32 => ScalarType::I32,
        h5::DType::I64 => ScalarType::I64,
        h5::DType::U8 => ScalarType::U8,
        h5::DType::U16 => ScalarType::U16,
        h5::DType::U32 => ScalarType::U32,
        h5::DType::U64 => ScalarType::U64,
        _ => return Ok(None),
    };
    let shape = ds
        .shape()
        .map_err(cannot)?
        .into_iter()
        .map(usize::try_from)
        .collect::<std::result::Result<Vec<usize>, _>>()
        .map_err(|_| format!("dataset '{path}' is too large for this machine"))?;
    let expected = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("dataset '{path}' has an impossible shape {shape:?}"))?;
    let element = ds.element_size().map_err(cannot)?;
    let bytes = (expected as u64).saturating_mul(element);
    let chunk_bytes = ds
        .chunk_shape()
        .map_err(cannot)?
        .map(|c| c.iter().fold(element, |n, &d| n.saturating_mul(d)))
        .unwrap_or(0);
    if bytes > limits.decoded || chunk_bytes > limits.decoded.min(u64::from(u32::MAX)) {
        return Err(format!(
            "dataset '{path}' claims {bytes} bytes (shape {shape:?}, chunks of {chunk_bytes} bytes), \
             more than the file can hold: corrupt?"
        ));
    }
    check_storage(ds, path, limits.file_len)?;
    let values = match dtype {
        ScalarType::F32 => Values::F32(ds.read_f32().map_err(cannot)?),
        _ => Values::F64(ds.read_f64().map_err(cannot)?),
    };
    let scalar_without_value = shape.is_empty() && values.is_empty();
    if values.len() != expected && !scalar_without_value {
        return Err(format!(
            "dataset '{path}' has {} values for its shape {shape:?}",
            values.len()
        ));
    }
    Ok(Some(H5Dataset {
        path: path.to_string(),
        shape,
        dtype,
        values,
    }))
}

/// Checks that the stored bytes of a dataset lie inside the file.
fn check_storage(ds: &h5::Dataset, path: &str, file_len: u64) -> std::result::Result<(), String> {
    let outside =
        |address: u64, size: u64| address.checked_add(size).is_none_or(|end| end > file_len);
    let bad = || format!("dataset '{path}' points outside the file (truncated or corrupt)");
    match ds
        .layout()
        .map_err(|e| format!("cannot read dataset '{path}': {e}"))?
    {
        h5::Layout::Contiguous {
            address: Some(address),
            size,
        } if outside(address, size) => Err(bad()),
        h5::Layout::Chunked { .. } => {
            let chunks = ds
                .chunks()
                .map_err(|e| format!("cannot read the chunk index of dataset '{path}': {e}"))?;
            if chunks.iter().any(|c| outside(c.address, c.storage_size)) {
                return Err(bad());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// `"a/b"` → `"/a/b"`; `""` → `"/"`; trailing slashes dropped.
fn absolute(path: &str) -> String {
    format!("/{}", path.trim_matches('/'))
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Datasets with at least this many values are written chunked and deflate-compressed.
const COMPRESS_MIN_VALUES: usize = 4096;
/// Target size of one chunk in bytes.
const CHUNK_BYTES: usize = 1 << 20;
/// zlib effort for compressed datasets (1 is fast and gets most of the gain on float data).
const DEFLATE_LEVEL: u32 = 1;

#[derive(Debug, Clone)]
enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
}

impl Data {
    fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::U8(v) => v.len(),
        }
    }

    fn element_bytes(&self) -> usize {
        match self {
            Data::F32(_) | Data::I32(_) => 4,
            Data::F64(_) | Data::I64(_) => 8,
            Data::U8(_) => 1,
        }
    }
}

#[derive(Debug, Clone)]
struct PendingDataset {
    shape: Vec<usize>,
    data: Data,
}

type Attrs<'a> = Vec<(&'a str, &'a h5::AttrValue)>;

/// A group of the file being written, borrowing the writer's data.
#[derive(Default)]
struct Node<'a> {
    attrs: Attrs<'a>,
    groups: BTreeMap<&'a str, Node<'a>>,
    datasets: BTreeMap<&'a str, (&'a PendingDataset, Attrs<'a>)>,
}

/// Builds an HDF5 file in memory and writes it atomically.
///
/// Paths are relative to the root (`"surface/position"`, a leading `/` is allowed); the groups on
/// the way are created as needed. Attributes go to `object`: `"/"` for the root, a group path or a
/// dataset path (a path that names no dataset becomes a group). Mistakes (a shape that does not
/// match the values, a name used twice, an empty path component) are reported by [`write`](Self::write).
///
/// Large datasets are stored chunked and deflate-compressed, which every HDF5 reader (h5py,
/// ParaView, the C library) reads.
///
/// ```no_run
/// # use slipstream::mesh::hdf5::H5Writer;
/// let mut w = H5Writer::new();
/// w.dataset_f32("surface/pressure", &[2], &[1.0, 2.0])
///     .attr_text("/", "layout", "example")
///     .attr_f64("surface", "density_kg_m3", 1.2);
/// w.write(std::path::Path::new("out.h5")).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct H5Writer {
    datasets: Vec<(String, PendingDataset)>,
    attrs: Vec<(String, String, h5::AttrValue)>,
    compress: bool,
}

impl Default for H5Writer {
    fn default() -> Self {
        H5Writer {
            datasets: Vec::new(),
            attrs: Vec::new(),
            compress: true,
        }
    }
}

impl H5Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns deflate compression of large datasets on (the default) or off.
    pub fn compress(&mut self, on: bool) -> &mut Self {
        self.compress = on;
        self
    }

    pub fn dataset_f32(&mut self, path: &str, shape: &[usize], values: &[f32]) -> &mut Self {
        self.push(path, shape, Data::F32(values.to_vec()))
    }

    pub fn dataset_f64(&mut self, path: &str, shape: &[usize], values: &[f64]) -> &mut Self {
        self.push(path, shape, Data::F64(values.to_vec()))
    }

    pub fn dataset_i32(&mut self, path: &str, shape: &[usize], values: &[i32]) -> &mut Self {
        self.push(path, shape, Data::I32(values.to_vec()))
    }

    pub fn dataset_i64(&mut self, path: &str, shape: &[usize], values: &[i64]) -> &mut Self {
        self.push(path, shape, Data::I64(values.to_vec()))
    }

    pub fn dataset_u8(&mut self, path: &str, shape: &[usize], values: &[u8]) -> &mut Self {
        self.push(path, shape, Data::U8(values.to_vec()))
    }

    /// A text attribute (stored as a variable-length UTF-8 string, as h5py writes `str`).
    pub fn attr_text(&mut self, object: &str, name: &str, value: &str) -> &mut Self {
        self.attrs.push((
            object.to_string(),
            name.to_string(),
            h5::AttrValue::VarLenString(value.to_string()),
        ));
        self
    }

    /// A float64 scalar attribute.
    pub fn attr_f64(&mut self, object: &str, name: &str, value: f64) -> &mut Self {
        self.attrs.push((
            object.to_string(),
            name.to_string(),
            h5::AttrValue::F64(value),
        ));
        self
    }

    /// A float64 array attribute (a bounding box, a reference point).
    pub fn attr_f64s(&mut self, object: &str, name: &str, values: &[f64]) -> &mut Self {
        self.attrs.push((
            object.to_string(),
            name.to_string(),
            h5::AttrValue::F64Array(values.to_vec()),
        ));
        self
    }

    fn push(&mut self, path: &str, shape: &[usize], data: Data) -> &mut Self {
        self.datasets.push((
            path.to_string(),
            PendingDataset {
                shape: shape.to_vec(),
                data,
            },
        ));
        self
    }

    /// Serialises the file.
    fn to_bytes(&self) -> std::result::Result<Vec<u8>, String> {
        let root = self.tree()?;
        let mut fb = h5::FileBuilder::new();
        fill(&mut fb, &root, self.compress);
        fb.finish().map_err(|e| format!("cannot encode HDF5: {e}"))
    }

    /// Writes the file atomically (it appears complete or not at all).
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes().map_err(|m| MeshError::invalid(path, m))?;
        write_bytes_atomically(path, &bytes)
    }

    /// Arranges the datasets and attributes into groups, checking names, shapes and duplicates.
    fn tree(&self) -> std::result::Result<Node<'_>, String> {
        let mut root = Node::default();
        for (path, ds) in &self.datasets {
            let (parents, leaf) = split_path(path)?;
            let expected = ds.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
            if expected != Some(ds.data.len()) {
                return Err(format!(
                    "dataset '{path}': shape {:?} does not hold {} values",
                    ds.shape,
                    ds.data.len()
                ));
            }
            let group = group_mut(&mut root, &parents, path)?;
            if group.groups.contains_key(leaf) || group.datasets.contains_key(leaf) {
                return Err(format!("'{path}' is written twice"));
            }
            group.datasets.insert(leaf, (ds, Vec::new()));
        }
        for (object, name, value) in &self.attrs {
            let components = components(object)?;
            let target = match components.split_last() {
                Some((leaf, parents)) => {
                    let group = group_mut(&mut root, parents, object)?;
                    match group.datasets.get_mut(*leaf) {
                        Some((_, attrs)) => attrs,
                        None => &mut group.groups.entry(leaf).or_default().attrs,
                    }
                }
                None => &mut root.attrs,
            };
            if target.iter().any(|(n, _)| n == name) {
                return Err(format!(
                    "attribute '{name}' of '{}' is set twice",
                    absolute(object)
                ));
            }
            target.push((name, value));
        }
        Ok(root)
    }
}

fn components(path: &str) -> std::result::Result<Vec<&str>, String> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = trimmed.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(format!("'{path}' is not a valid HDF5 path"));
    }
    Ok(parts)
}

fn split_path(path: &str) -> std::result::Result<(Vec<&str>, &str), String> {
    let mut parts = components(path)?;
    let leaf = parts
        .pop()
        .ok_or_else(|| format!("'{path}' names the root, not a dataset"))?;
    Ok((parts, leaf))
}

fn group_mut<'n, 'a>(
    root: &'n mut Node<'a>,
    parents: &[&'a str],
    full: &str,
) -> std::result::Result<&'n mut Node<'a>, String> {
    let mut node = root;
    for &part in parents {
        if node.datasets.contains_key(part) {
            return Err(format!("'{full}': '{part}' is a dataset, not a group"));
        }
        node = node.groups.entry(part).or_default();
    }
    Ok(node)
}

/// What the root (`FileBuilder`) and a group (`GroupBuilder`) have in common.
trait Container {
    fn dataset(&mut self, name: &str) -> &mut h5::DatasetBuilder;
    fn new_group(&mut self, name: &str) -> h5::GroupBuilder;
    fn add(&mut self, group: h5::FinishedGroup);
    fn attr(&mut self, name: &str, value: h5::AttrValue);
}

impl Container for h5::FileBuilder {
    fn dataset(&mut self, name: &str) -> &mut h5::DatasetBuilder {
        self.create_dataset(name)
    }
    fn new_group(&mut self, name: &str) -> h5::GroupBuilder {
        self.create_group(name)
    }
    fn add(&mut self, group: h5::FinishedGroup) {
        self.add_group(group)
    }
    fn attr(&mut self, name: &str, value: h5::AttrValue) {
        self.set_attr(name, value)
    }
}

impl Container for h5::GroupBuilder {
    fn dataset(&mut self, name: &str) -> &mut h5::DatasetBuilder {
        self.create_dataset(name)
    }
    fn new_group(&mut self, name: &str) -> h5::GroupBuilder {
        self.create_group(name)
    }
    fn add(&mut self, group: h5::FinishedGroup) {
        self.add_group(group)
    }
    fn attr(&mut self, name: &str, value: h5::AttrValue) {
        self.set_attr(name, value)
    }
}

fn fill(target: &mut impl Container, node: &Node, compress: bool) {
    for &(name, value) in &node.attrs {
        target.attr(name, value.clone());
    }
    for (name, (ds, attrs)) in &node.datasets {
        let b = target.dataset(name);
        match &ds.data {
            Data::F32(v) => b.with_f32_data(v),
            Data::F64(v) => b.with_f64_data(v),
            Data::I32(v) => b.with_i32_data(v),
            Data::I64(v) => b.with_i64_data(v),
            Data::U8(v) => b.with_u8_data(v),
        };
        let shape: Vec<u64> = ds.shape.iter().map(|&d| d as u64).collect();
        b.with_shape(&shape);
        if compress && ds.data.len() >= COMPRESS_MIN_VALUES {
            // Chunks of whole rows, about CHUNK_BYTES each.
            let row: usize = ds.shape.iter().skip(1).product::<usize>().max(1);
            let rows = (CHUNK_BYTES / (row * ds.data.element_bytes())).max(1);
            let mut chunk = shape.clone();
            if let Some(first) = chunk.first_mut() {
                *first = (*first).min(rows as u64).max(1);
            }
            b.with_chunks(&chunk)
                .with_shuffle()
                .with_deflate(DEFLATE_LEVEL);
        }
        for &(name, value) in attrs {
            b.set_attr(name, value.clone());
        }
    }
    for (name, child) in &node.groups {
        let mut g = target.new_group(name);
        fill(&mut g, child, compress);
        target.add(g.finish());
    }
}

// ---------------------------------------------------------------------------------------------
// The mesh layout
// ---------------------------------------------------------------------------------------------

const LOCATIONS: [(Location, &str); 3] = [
    (Location::Point, "point_data"),
    (Location::Cell, "cell_data"),
    (Location::Field, "field_data"),
];

/// Array name → HDF5 link name (`/` is the path separator there).
fn encode_name(name: &str) -> String {
    name.replace('/', "|")
}

fn decode_name(name: &str) -> String {
    name.replace('|', "/")
}

/// Writes `mesh` in slipstream's mesh layout, atomically.
pub fn write_mesh(path: &Path, mesh: &Mesh) -> Result<()> {
    let writer = mesh_writer(mesh).map_err(|m| MeshError::invalid(path, m))?;
    writer.write(path)
}

fn mesh_writer(mesh: &Mesh) -> std::result::Result<H5Writer, String> {
    mesh.validate()?;
    let mut w = H5Writer::new();
    w.attr_text("/", "layout", MESH_LAYOUT)
        .attr_f64("/", "layout_version", MESH_LAYOUT_VERSION);

    let n = mesh.n_points();
    let c = mesh.n_cells();
    w.dataset_f32("points", &[n, 3], mesh.points.as_flattened());

    let cells = &mesh.cells;
    let types: Vec<u8> = cells.types.iter().map(|t| t.0).collect();
    w.dataset_u8("cells/types", &[c], &types);
    let offsets = to_i64(&cells.offsets, "cell offsets")?;
    w.dataset_i64("cells/offsets", &[offsets.len()], &offsets);
    let conn: Vec<i64> = cells.connectivity.iter().map(|&p| i64::from(p)).collect();
    w.dataset_i64("cells/connectivity", &[conn.len()], &conn);
    if let Some(poly) = &cells.polyhedra {
        let cell_faces = to_i64(&poly.cell_faces, "polyhedron face ranges")?;
        w.dataset_i64("cells/polyhedron_faces", &[cell_faces.len()], &cell_faces);
        let face_offsets = to_i64(&poly.face_offsets, "polyhedron face offsets")?;
        w.dataset_i64("cells/face_offsets", &[face_offsets.len()], &face_offsets);
        let face_conn: Vec<i64> = poly
            .face_connectivity
            .iter()
            .map(|&p| i64::from(p))
            .collect();
        w.dataset_i64("cells/face_connectivity", &[face_conn.len()], &face_conn);
    }
    if let Some(parts) = &mesh.parts {
        let ids = parts
            .cell_part
            .iter()
            .map(|&p| i32::try_from(p).map_err(|_| format!("part id {p} does not fit int32")))
            .collect::<std::result::Result<Vec<i32>, String>>()?;
        w.dataset_i32("cells/part_id", &[ids.len()], &ids);
        if let Some(bad) = parts.names.iter().find(|n| n.contains('\n')) {
            return Err(format!("part name {bad:?} contains a line break"));
        }
        w.attr_text("/", "part_names", &parts.names.join("\n"));
    }

    for (location, group) in LOCATIONS {
        let mut seen = std::collections::HashSet::new();
        for (index, field) in mesh.fields(location).iter().enumerate() {
            let link = encode_name(&field.name);
            if components(&link).map(|c| c.len()) != Ok(1) {
                return Err(format!(
                    "{location:?} array name {:?} cannot be stored in HDF5",
                    field.name
                ));
            }
            if !seen.insert(link.clone()) {
                return Err(format!(
                    "two {location:?} arrays are both stored as '{link}' (names differ only in '/' and '|'?)"
                ));
            }
            let comps = field.components;
            if comps == 0 || field.values.len() % comps != 0 {
                return Err(format!(
                    "{location:?} array '{}' has {} values, not a multiple of its {comps} components",
                    field.name,
                    field.values.len()
                ));
            }
            let tuples = field.values.len() / comps;
            let shape: Vec<usize> = if comps == 1 {
                vec![tuples]
            } else {
                vec![tuples, comps]
            };
            let path = format!("{group}/{link}");
            let stored = match &field.values {
                Values::F32(v) => {
                    w.dataset_f32(&path, &shape, v);
                    ScalarType::F32
                }
                Values::F64(v) => {
                    w.dataset_f64(&path, &shape, v);
                    ScalarType::F64
                }
            };
            w.attr_f64(&path, "index", index as f64);
            if field.source_type != stored {
                w.attr_text(&path, "source_type", field.source_type.vtk_name());
            }
        }
    }
    Ok(w)
}

fn to_i64(values: &[u64], what: &str) -> std::result::Result<Vec<i64>, String> {
    values
        .iter()
        .map(|&v| i64::try_from(v).map_err(|_| format!("{what}: {v} does not fit int64")))
        .collect()
}

/// Rebuilds a mesh from a file's contents: `None` when the file is not in slipstream's mesh layout
/// (no root attribute `layout = "slipstream-mesh"`), `Some(Err)` when it claims the layout but its
/// datasets are missing or inconsistent.
pub fn mesh_from_contents(contents: &H5Contents) -> Option<std::result::Result<Mesh, String>> {
    let layout = contents.attribute("/", "layout")?.as_text()?;
    if layout != MESH_LAYOUT {
        return None;
    }
    Some(build_mesh(contents))
}

fn build_mesh(contents: &H5Contents) -> std::result::Result<Mesh, String> {
    if let Some(version) = contents.attribute("/", "layout_version") {
        match version.as_number() {
            Some(v) if v <= MESH_LAYOUT_VERSION => {}
            Some(v) => {
                return Err(format!(
                    "mesh layout version {v} is newer than this slipstream reads ({MESH_LAYOUT_VERSION})"
                ))
            }
            None => return Err(format!("the root attribute 'layout_version' is not a number: {version:?}")),
        }
    }

    let points_ds = contents
        .dataset("points")
        .ok_or("the mesh layout needs a dataset 'points'")?;
    let n = points_ds.tuples();
    if !matches!(points_ds.shape.as_slice(), [_, 3]) {
        return Err(format!(
            "'points' has shape {:?}, expected [N, 3]",
            points_ds.shape
        ));
    }
    let flat = points_ds.values.to_f32();
    if flat.len() != n * 3 {
        return Err(format!(
            "'points' has {} values for its shape {:?}",
            flat.len(),
            points_ds.shape
        ));
    }
    let (points, _) = flat.as_chunks::<3>();
    let points: Vec<[f32; 3]> = points.to_vec();

    let types_ds = contents.dataset("cells/types");
    let offsets_ds = contents.dataset("cells/offsets");
    let conn_ds = contents.dataset("cells/connectivity");
    let mut cells =
        match (types_ds, offsets_ds, conn_ds) {
            (None, None, None) => Cells::default(),
            (Some(t), Some(o), Some(c)) => Cells {
                types: integers(t, u64::from(u8::MAX))?
                    .into_iter()
                    .map(|v| CellType(v as u8))
                    .collect(),
                offsets: integers(o, u64::MAX)?,
                connectivity: integers(c, u64::from(u32::MAX))?
                    .into_iter()
                    .map(|v| v as u32)
                    .collect(),
                polyhedra: None,
            },
            _ => return Err(
                "the mesh layout needs all of cells/types, cells/offsets and cells/connectivity"
                    .into(),
            ),
        };
    let poly = (
        contents.dataset("cells/polyhedron_faces"),
        contents.dataset("cells/face_offsets"),
        contents.dataset("cells/face_connectivity"),
    );
    cells.polyhedra = match poly {
        (None, None, None) => None,
        (Some(cf), Some(fo), Some(fc)) => Some(Polyhedra {
            cell_faces: integers(cf, u64::MAX)?,
            face_offsets: integers(fo, u64::MAX)?,
            face_connectivity: integers(fc, u64::from(u32::MAX))?
                .into_iter()
                .map(|v| v as u32)
                .collect(),
        }),
        _ => {
            return Err(
                "polyhedra need all of cells/polyhedron_faces, cells/face_offsets and cells/face_connectivity".into(),
            )
        }
    };
    let c = cells.len();

    let parts = match (
        contents.dataset("cells/part_id"),
        contents.attribute("/", "part_names"),
    ) {
        (None, None) => None,
        (Some(ids), Some(names)) => {
            let names = names
                .as_text()
                .ok_or("the root attribute 'part_names' is not text")?;
            let cell_part: Vec<u32> = integers(ids, u64::from(u32::MAX))?
                .into_iter()
                .map(|v| v as u32)
                .collect();
            let names: Vec<String> = if names.is_empty() && cell_part.is_empty() {
                Vec::new()
            } else {
                names.split('\n').map(str::to_string).collect()
            };
            Some(Parts { names, cell_part })
        }
        (Some(_), None) => {
            return Err("cells/part_id without the root attribute 'part_names'".into())
        }
        (None, Some(_)) => {
            return Err("the root attribute 'part_names' without cells/part_id".into())
        }
    };

    let mut fields: [Vec<(f64, Field)>; 3] = Default::default();
    for ds in &contents.datasets {
        let Some((slot, location, rest)) =
            fields
                .iter_mut()
                .zip(LOCATIONS)
                .find_map(|(slot, (loc, group))| {
                    ds.path
                        .strip_prefix('/')
                        .and_then(|p| p.strip_prefix(group))
                        .and_then(|p| p.strip_prefix('/'))
                        .map(|rest| (slot, loc, rest))
                })
        else {
            continue;
        };
        if rest.contains('/') {
            return Err(format!("unexpected nested dataset '{}'", ds.path));
        }
        let field = field_from_dataset(ds, location, decode_name(rest), n, c)?;
        let index = contents
            .attribute(&ds.path, "index")
            .and_then(AttrValue::as_number)
            .unwrap_or(f64::INFINITY);
        let source_type = contents
            .attribute(&ds.path, "source_type")
            .and_then(AttrValue::as_text)
            .and_then(ScalarType::from_vtk_name);
        let field = Field {
            source_type: source_type.unwrap_or(field.source_type),
            ..field
        };
        slot.push((index, field));
    }
    let [point_data, cell_data, field_data] = fields.map(|mut v| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        v.into_iter().map(|(_, f)| f).collect::<Vec<Field>>()
    });

    let mesh = Mesh {
        points,
        cells,
        point_data,
        cell_data,
        field_data,
        parts,
    };
    mesh.validate()?;
    Ok(mesh)
}

/// An array of the mesh layout from its dataset; point and cell arrays must have one row per point
/// or cell.
fn field_from_dataset(
    ds: &H5Dataset,
    location: Location,
    name: String,
    n_points: usize,
    n_cells: usize,
) -> std::result::Result<Field, String> {
    let expected_rows = match location {
        Location::Point => Some(n_points),
        Location::Cell => Some(n_cells),
        Location::Field => None,
    };
    if let Some(rows) = expected_rows {
        if ds.shape.first() != Some(&rows) {
            return Err(format!(
                "'{}' has shape {:?}, expected {rows} rows",
                ds.path, ds.shape
            ));
        }
    }
    let components = ds.components();
    if components == 0 {
        return Err(format!(
            "'{}' has no components (shape {:?})",
            ds.path, ds.shape
        ));
    }
    let values = match (&ds.values, ds.dtype, location) {
        (Values::F32(v), _, _) => Values::F32(v.clone()),
        (Values::F64(v), ScalarType::F64, _) | (Values::F64(v), _, Location::Field) => {
            Values::F64(v.clone())
        }
        // Integer point and cell arrays are held as f32, like the other readers do.
        (Values::F64(v), _, _) => Values::F32(v.iter().map(|&x| x as f32).collect()),
    };
    Ok(Field {
        name,
        components,
        values,
        source_type: ds.dtype,
    })
}

/// The values of an integer dataset of rank 1, each checked to be a whole number in `0..=max`.
fn integers(ds: &H5Dataset, max: u64) -> std::result::Result<Vec<u64>, String> {
    if ds.shape.len() != 1 {
        return Err(format!(
            "'{}' has shape {:?}, expected one dimension",
            ds.path, ds.shape
        ));
    }
    ds.values
        .iter_f64()
        .map(|v| {
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= max as f64 {
                Ok(v as u64)
            } else {
                Err(format!(
                    "'{}' holds {v}, expected an integer in 0..={max}",
                    ds.path
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
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
            .unwrap_err();
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
}
