//! Named arrays attached to points, cells or the whole dataset.

use serde::Serialize;

/// Where an array lives. Point and cell arrays have one tuple per point / cell; field arrays are
/// dataset-wide (a time value, reference quantities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Point,
    Cell,
    Field,
}

/// Scalar type of an array as the file stored it. Values are held as `f32` (point and cell data) or
/// `f64` (field data) in memory; the source type is kept for `info` and for faithful writing of ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarType {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl ScalarType {
    pub fn size_bytes(self) -> usize {
        match self {
            ScalarType::I8 | ScalarType::U8 => 1,
            ScalarType::I16 | ScalarType::U16 => 2,
            ScalarType::I32 | ScalarType::U32 | ScalarType::F32 => 4,
            ScalarType::I64 | ScalarType::U64 | ScalarType::F64 => 8,
        }
    }

    /// VTK XML spelling (`Float32`, `Int64`, ...).
    pub fn vtk_name(self) -> &'static str {
        match self {
            ScalarType::I8 => "Int8",
            ScalarType::U8 => "UInt8",
            ScalarType::I16 => "Int16",
            ScalarType::U16 => "UInt16",
            ScalarType::I32 => "Int32",
            ScalarType::U32 => "UInt32",
            ScalarType::I64 => "Int64",
            ScalarType::U64 => "UInt64",
            ScalarType::F32 => "Float32",
            ScalarType::F64 => "Float64",
        }
    }

    /// Parses the VTK XML spelling, also accepting the legacy-format spellings (`float`, `vtktypeint64`).
    pub fn from_vtk_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        let t = match lower.trim_start_matches("vtktype") {
            "int8" | "char" | "signed_char" => ScalarType::I8,
            "uint8" | "unsigned_char" | "bit" => ScalarType::U8,
            "int16" | "short" => ScalarType::I16,
            "uint16" | "unsigned_short" => ScalarType::U16,
            "int32" | "int" => ScalarType::I32,
            "uint32" | "unsigned_int" => ScalarType::U32,
            "int64" | "long" | "long_long" | "vtkidtype" | "idtype" => ScalarType::I64,
            "uint64" | "unsigned_long" | "unsigned_long_long" => ScalarType::U64,
            "float32" | "float" => ScalarType::F32,
            "float64" | "double" => ScalarType::F64,
            _ => return None,
        };
        Some(t)
    }

    pub fn is_float(self) -> bool {
        matches!(self, ScalarType::F32 | ScalarType::F64)
    }
}

/// Array values. Point and cell data are stored as `F32` to halve the memory of 100M-cell meshes;
/// field data (a handful of values) keeps `F64`.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<f64> {
        match self {
            Values::F32(v) => v.get(i).map(|&x| x as f64),
            Values::F64(v) => v.get(i).copied(),
        }
    }

    /// Iterates all values as `f64` (for statistics and writers that need one type).
    pub fn iter_f64(&self) -> Box<dyn Iterator<Item = f64> + '_> {
        match self {
            Values::F32(v) => Box::new(v.iter().map(|&x| x as f64)),
            Values::F64(v) => Box::new(v.iter().copied()),
        }
    }

    /// The values as `f32`, converting `F64` (with rounding) when needed.
    pub fn to_f32(&self) -> std::borrow::Cow<'_, [f32]> {
        match self {
            Values::F32(v) => std::borrow::Cow::Borrowed(v),
            Values::F64(v) => std::borrow::Cow::Owned(v.iter().map(|&x| x as f32).collect()),
        }
    }
}

/// A named array of `tuples × components` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub components: usize,
    pub values: Values,
    /// Scalar type in the file it came from (for `info` and for writing ids back as integers).
    pub source_type: ScalarType,
}

impl Field {
    pub fn new_f32(name: impl Into<String>, components: usize, values: Vec<f32>) -> Self {
        Field {
            name: name.into(),
            components,
            values: Values::F32(values),
            source_type: ScalarType::F32,
        }
    }

    pub fn new_f64(name: impl Into<String>, components: usize, values: Vec<f64>) -> Self {
        Field {
            name: name.into(),
            components,
            values: Values::F64(values),
            source_type: ScalarType::F64,
        }
    }

    /// Number of tuples (values / components).
    pub fn tuples(&self) -> usize {
        self.values.len().checked_div(self.components).unwrap_or(0)
    }

    /// Statistics over all values and components, accumulated in `f64`.
    pub fn stats(&self) -> FieldStats {
        FieldStats::of(self.values.iter_f64())
    }
}

/// min / max / sum over every value of an array.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FieldStats {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
}

impl FieldStats {
    pub fn of(values: impl Iterator<Item = f64>) -> Self {
        let mut s = FieldStats {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
        };
        for v in values {
            s.min = s.min.min(v);
            s.max = s.max.max(v);
            s.sum += v;
        }
        if s.min > s.max {
            // No values: report zeros rather than infinities (JSON has no infinity).
            s.min = 0.0;
            s.max = 0.0;
        }
        s
    }
}
