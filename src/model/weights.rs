//! Tensors by name from safetensors files: the reference's `state_dict` (PyTorch names,
//! `Linear.weight` as `[out, in]`) and its parity inputs and outputs.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::params::NamedTensor;
use super::ModelError;

/// A tensor as stored: floats widened or narrowed to f32, integers to i64.
#[derive(Debug, Clone)]
pub enum StoredTensor {
    Float(NamedTensor),
    Int { shape: Vec<usize>, values: Vec<i64> },
}

fn file_error(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Reads every tensor of a safetensors file.
pub fn read_safetensors(path: &Path) -> Result<BTreeMap<String, StoredTensor>, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| file_error(path, format!("not a safetensors file: {e}")))?;
    let mut out = BTreeMap::new();
    for (name, view) in file.tensors() {
        let shape = view.shape().to_vec();
        let data = view.data();
        let floats = |width: usize, f: &dyn Fn(&[u8]) -> f32| -> Vec<f32> {
            data.chunks_exact(width).map(f).collect()
        };
        let tensor = match view.dtype() {
            Dtype::F32 => StoredTensor::Float(NamedTensor {
                shape,
                values: floats(4, &|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            }),
            Dtype::F64 => StoredTensor::Float(NamedTensor {
                shape,
                values: floats(8, &|b| {
                    f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
                }),
            }),
            Dtype::BF16 => StoredTensor::Float(NamedTensor {
                shape,
                values: floats(2, &|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16)),
            }),
            Dtype::I64 => StoredTensor::Int {
                shape,
                values: data
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                    .collect(),
            },
            Dtype::I32 => StoredTensor::Int {
                shape,
                values: data
                    .chunks_exact(4)
                    .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                    .collect(),
            },
            other => {
                return Err(file_error(
                    path,
                    format!("tensor `{name}` has dtype {other:?}; f32, f64, bf16, i32 and i64 are supported"),
                ))
            }
        };
        out.insert(name, tensor);
    }
    Ok(out)
}

/// Only the float tensors, as a parameter map for [`super::ParamSource::Reference`].
pub fn read_float_tensors(path: &Path) -> Result<BTreeMap<String, NamedTensor>, ModelError> {
    read_safetensors(path)?
        .into_iter()
        .map(|(name, t)| match t {
            StoredTensor::Float(f) => Ok((name, f)),
            StoredTensor::Int { .. } => Err(file_error(
                path,
                format!("tensor `{name}` is an integer tensor"),
            )),
        })
        .collect()
}

/// Writes float tensors as safetensors (little-endian f32), through a temporary file and a rename.
pub fn write_safetensors(
    path: &Path,
    tensors: &BTreeMap<String, NamedTensor>,
) -> Result<(), ModelError> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(name, t)| {
            (
                name.clone(),
                t.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                t.shape.clone(),
            )
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, data, shape)| {
            safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| file_error(path, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let encoded =
        safetensors::serialize(views, None).map_err(|e| file_error(path, e.to_string()))?;
    crate::mesh::write_bytes_atomically(path, &encoded).map_err(|e| file_error(path, e.to_string()))
}
