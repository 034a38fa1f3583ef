//! What a read gives: an HDF5 file's numeric datasets and attributes, as plain values.

use serde::Serialize;

use crate::mesh::field::{ScalarType, Values};

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

pub(super) fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// `"a/b"` → `"/a/b"`; `""` → `"/"`; trailing slashes dropped.
pub(super) fn absolute(path: &str) -> String {
    format!("/{}", path.trim_matches('/'))
}
