//! [`H5Writer`]: nested groups, numeric datasets (chunked and deflated when large), text and
//! number attributes, written atomically.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5_pure as h5;

use super::contents::absolute;
use crate::mesh::atomic_write::write_bytes_atomically;
use crate::mesh::error::{invalid, Context, ParseResult, Result};

/// Datasets with at least this many values are written chunked and deflate-compressed.
pub(super) const COMPRESS_MIN_VALUES: usize = 4096;
/// Target size of one chunk in bytes.
pub(super) const CHUNK_BYTES: usize = 1 << 20;
/// zlib effort for compressed datasets (1 is fast and gets most of the gain on float data).
pub(super) const DEFLATE_LEVEL: u32 = 1;

#[derive(Debug, Clone)]
pub(super) enum Data {
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
pub(super) struct PendingDataset {
    shape: Vec<usize>,
    data: Data,
}

pub(super) type Attrs<'a> = Vec<(&'a str, &'a h5::AttrValue)>;

/// A group of the file being written, borrowing the writer's data.
#[derive(Default)]
pub(super) struct Node<'a> {
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
    pub(super) datasets: Vec<(String, PendingDataset)>,
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
    fn to_bytes(&self) -> ParseResult<Vec<u8>> {
        let root = self.tree()?;
        let mut fb = h5::FileBuilder::new();
        fill(&mut fb, &root, self.compress);
        fb.finish().map_err(|e| invalid!("cannot encode HDF5: {e}"))
    }

    /// Writes the file atomically (it appears complete or not at all).
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes().at(path)?;
        write_bytes_atomically(path, &bytes)
    }

    /// Arranges the datasets and attributes into groups, checking names, shapes and duplicates.
    fn tree(&self) -> ParseResult<Node<'_>> {
        let mut root = Node::default();
        for (path, ds) in &self.datasets {
            let (parents, leaf) = split_path(path)?;
            let expected = ds.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
            if expected != Some(ds.data.len()) {
                return Err(invalid!(
                    "dataset '{path}': shape {:?} does not hold {} values",
                    ds.shape,
                    ds.data.len()
                ));
            }
            let group = group_mut(&mut root, &parents, path)?;
            if group.groups.contains_key(leaf) || group.datasets.contains_key(leaf) {
                return Err(invalid!("'{path}' is written twice"));
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
                return Err(invalid!(
                    "attribute '{name}' of '{}' is set twice",
                    absolute(object)
                ));
            }
            target.push((name, value));
        }
        Ok(root)
    }
}

pub(super) fn components(path: &str) -> ParseResult<Vec<&str>> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = trimmed.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(invalid!("'{path}' is not a valid HDF5 path"));
    }
    Ok(parts)
}

pub(super) fn split_path(path: &str) -> ParseResult<(Vec<&str>, &str)> {
    let mut parts = components(path)?;
    let leaf = parts
        .pop()
        .ok_or_else(|| invalid!("'{path}' names the root, not a dataset"))?;
    Ok((parts, leaf))
}

pub(super) fn group_mut<'n, 'a>(
    root: &'n mut Node<'a>,
    parents: &[&'a str],
    full: &str,
) -> ParseResult<&'n mut Node<'a>> {
    let mut node = root;
    for &part in parents {
        if node.datasets.contains_key(part) {
            return Err(invalid!("'{full}': '{part}' is a dataset, not a group"));
        }
        node = node.groups.entry(part).or_default();
    }
    Ok(node)
}

/// What the root (`FileBuilder`) and a group (`GroupBuilder`) have in common.
pub(super) trait Container {
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

pub(super) fn fill(target: &mut impl Container, node: &Node, compress: bool) {
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
