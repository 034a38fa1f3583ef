//! Reading any HDF5 file, within limits a hostile file cannot talk us out of (groups, depth,
//! decompressed size against the file's size).

use std::path::Path;

use hdf5_pure as h5;

use super::contents::{absolute, child_path, AttrValue, H5Attribute, H5Contents, H5Dataset};
use crate::mesh::error::{invalid, Context, MeshError, ParseError, ParseResult, Result};
use crate::mesh::field::{ScalarType, Values};

/// Groups visited at most while walking a file: a corrupt file can link a group into itself.
pub(super) const MAX_GROUPS: usize = 100_000;
/// Deepest group nesting followed.
pub(super) const MAX_DEPTH: usize = 64;
/// Deflate compresses at most about 1032:1, so a dataset or chunk whose decoded size is larger than
/// this many times the file is corrupt (or unwritten fill-value storage, which is not read).
pub(super) const MAX_EXPANSION: u64 = 1100;
/// Decoded sizes always allowed, however small the file.
pub(super) const MIN_SIZE_LIMIT: u64 = 256 << 20;

/// What a file of `len` bytes is trusted to describe. Checked before every read, because
/// `hdf5-pure` allocates claimed sizes up front: a corrupt shape would abort the process, and a
/// corrupt storage size makes the streaming reader allocate and fill gigabytes before it notices
/// the end of the file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
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
    contents_of(&file, len).at(path)
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
    check_superblock(&file, len)?;
    contents_of(&file, len)
}

pub(super) fn contents_of(file: &h5::File, len: u64) -> ParseResult<H5Contents> {
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
pub(super) fn check_superblock(file: &h5::File, len: u64) -> ParseResult<()> {
    let sb = file.superblock();
    let end = sb.base_address.get().saturating_add(sb.eof_address);
    if sb.eof_address != u64::MAX && end > len {
        return Err(invalid!(
            "truncated HDF5 file: {len} bytes, but the superblock says it ends at byte {end}"
        ));
    }
    Ok(())
}

/// Reads one dataset (`name` like `"surface/pressure"` or `"/surface/pressure"`).
pub fn read_dataset(path: &Path, name: &str) -> Result<H5Dataset> {
    let (ds, dataset_path, len) = find_dataset(path, name)?;
    match convert_dataset(&ds, &dataset_path, Limits::new(len)).at(path)? {
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
pub(super) fn find_dataset(path: &Path, name: &str) -> Result<(h5::Dataset, String, u64)> {
    let (file, len) = open(path)?;
    let dataset_path = absolute(name);
    let ds = file
        .dataset(dataset_path.trim_start_matches('/'))
        .map_err(|e| MeshError::invalid(path, format!("no dataset '{dataset_path}': {e}")))?;
    Ok((ds, dataset_path, len))
}

/// The rows (first dimension) and values per row of an opened dataset.
pub(super) fn rows_and_width(
    path: &Path,
    ds: &h5::Dataset,
    dataset_path: &str,
) -> Result<(u64, usize)> {
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
pub(super) fn open(path: &Path) -> Result<(h5::File, u64)> {
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
    check_superblock(&file, len).at(path)?;
    Ok((file, len))
}

pub(super) struct Walker<'a> {
    limits: Limits,
    groups: usize,
    out: &'a mut H5Contents,
}

impl Walker<'_> {
    fn walk(&mut self, group: &h5::Group, group_path: &str, depth: usize) -> ParseResult<()> {
        self.groups += 1;
        if self.groups > MAX_GROUPS || depth > MAX_DEPTH {
            return Err(invalid!(
                "too many or too deeply nested groups at '{group_path}' (a link cycle?)"
            ));
        }
        let attrs = group
            .attrs()
            .map_err(|e| invalid!("cannot read the attributes of '{group_path}': {e}"))?;
        push_attributes(group_path, attrs, self.out);
        let datasets = group
            .iter_datasets()
            .map_err(|e| invalid!("cannot list the datasets of '{group_path}': {e}"))?;
        for (name, ds) in datasets {
            let path = child_path(group_path, &name);
            if let Some(d) = convert_dataset(&ds, &path, self.limits)? {
                self.out.datasets.push(d);
            }
            let attrs = ds
                .attrs()
                .map_err(|e| invalid!("cannot read the attributes of '{path}': {e}"))?;
            push_attributes(&path, attrs, self.out);
        }
        let children = group
            .iter_groups()
            .map_err(|e| invalid!("cannot list the groups of '{group_path}': {e}"))?;
        for (name, child) in children {
            self.walk(&child, &child_path(group_path, &name), depth + 1)?;
        }
        Ok(())
    }
}

pub(super) fn push_attributes(
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

pub(super) fn convert_attr(v: &h5::AttrValue) -> Option<AttrValue> {
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
pub(super) fn convert_dataset(
    ds: &h5::Dataset,
    path: &str,
    limits: Limits,
) -> ParseResult<Option<H5Dataset>> {
    let cannot = |e: h5::Error| invalid!("cannot read dataset '{path}': {e}");
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
        .map_err(|_| invalid!("dataset '{path}' is too large for this machine"))?;
    let expected = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| invalid!("dataset '{path}' has an impossible shape {shape:?}"))?;
    let element = ds.element_size().map_err(cannot)?;
    let bytes = (expected as u64).saturating_mul(element);
    let chunk_bytes = ds
        .chunk_shape()
        .map_err(cannot)?
        .map(|c| c.iter().fold(element, |n, &d| n.saturating_mul(d)))
        .unwrap_or(0);
    if bytes > limits.decoded || chunk_bytes > limits.decoded.min(u64::from(u32::MAX)) {
        return Err(invalid!(
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
        return Err(invalid!(
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
pub(super) fn check_storage(ds: &h5::Dataset, path: &str, file_len: u64) -> ParseResult<()> {
    let outside =
        |address: u64, size: u64| address.checked_add(size).is_none_or(|end| end > file_len);
    let bad = || invalid!("dataset '{path}' points outside the file (truncated or corrupt)");
    match ds
        .layout()
        .map_err(|e| invalid!("cannot read dataset '{path}': {e}"))?
    {
        h5::Layout::Contiguous {
            address: Some(address),
            size,
        } if outside(address, size) => Err(bad()),
        h5::Layout::Chunked { .. } => {
            let chunks = ds
                .chunks()
                .map_err(|e| invalid!("cannot read the chunk index of dataset '{path}': {e}"))?;
            if chunks.iter().any(|c| outside(c.address, c.storage_size)) {
                return Err(bad());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
