//! Where a freshly built model's parameters come from: a seeded truncated-normal initialisation
//! (the reference's), or a reference `state_dict` read from safetensors.

use std::collections::BTreeMap;

use burn::module::Param;
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{backend::Backend, Tensor};

use super::{tensor_from, ModelError};
use crate::rng::Rng;

/// A named float tensor from a weights file, row-major.
#[derive(Debug, Clone)]
pub struct NamedTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// A Linear's weight (row-major, as stored) and bias.
type WeightBias = (Vec<f32>, Vec<f32>);

/// Parameters to build from.
pub enum ParamSource {
    /// Linear weights trunc-normal(σ) (resampled beyond 2σ; the reference's σ is 0.02), biases
    /// zero, LayerNorm (1, 0).
    Random { rng: Rng, weight_std: f32 },
    /// PyTorch names → tensors; every tensor must be used exactly once.
    Reference(BTreeMap<String, NamedTensor>),
}

impl ParamSource {
    /// The reference initialisation (σ = 0.02), reproducible from `seed`.
    pub fn random(seed: u64) -> Self {
        Self::random_with_std(seed, 0.02)
    }

    /// Like [`random`](Self::random) with another weight σ: tests use larger weights so that
    /// every layer shapes the output.
    pub fn random_with_std(seed: u64, weight_std: f32) -> Self {
        ParamSource::Random {
            rng: Rng::seed_from(seed),
            weight_std,
        }
    }

    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Option<Vec<f32>>, ModelError> {
        let ParamSource::Reference(map) = self else {
            return Ok(None);
        };
        let t = map
            .remove(name)
            .ok_or_else(|| ModelError::Weights(format!("missing parameter `{name}` {shape:?}")))?;
        if t.shape != shape {
            return Err(ModelError::Weights(format!(
                "parameter `{name}` has shape {:?}, the configuration needs {shape:?}",
                t.shape
            )));
        }
        Ok(Some(t.values))
    }

    fn normal(rng: &mut Rng, n: usize, std: f32) -> Vec<f32> {
        (0..n)
            .map(|_| loop {
                let z = rng.normal() as f32;
                if z.abs() <= 2.0 {
                    break z * std;
                }
            })
            .collect()
    }

    /// A reference Linear's `[out, in]` weight and `[out]` bias; `None` when initialising at
    /// random.
    fn take_linear(
        &mut self,
        name: &str,
        d_out: usize,
        d_in: usize,
    ) -> Result<Option<WeightBias>, ModelError> {
        let Some(weight) = self.take(&format!("{name}.weight"), &[d_out, d_in])? else {
            return Ok(None);
        };
        let bias = self
            .take(&format!("{name}.bias"), &[d_out])?
            .unwrap_or_default();
        Ok(Some((weight, bias)))
    }

    /// A `Linear(d_in → d_out)`; reference weights are `[out, in]` and are transposed to burn's
    /// `[in, out]`.
    pub fn linear<B: Backend>(
        &mut self,
        name: &str,
        d_in: usize,
        d_out: usize,
        device: &B::Device,
    ) -> Result<Linear<B>, ModelError> {
        let (weight, bias) = match self.take_linear(name, d_out, d_in)? {
            Some((w, b)) => (transpose(&w, d_out, d_in), b),
            None => {
                let ParamSource::Random { rng, weight_std } = self else {
                    unreachable!("reference parameters return above")
                };
                let std = *weight_std;
                (Self::normal(rng, d_in * d_out, std), vec![0.0; d_out])
            }
        };
        Ok(build_linear(weight, bias, d_in, d_out, device))
    }

    /// The reference's fused `qkv` Linear split into our `q` and `kv` projections.
    pub fn qkv<B: Backend>(
        &mut self,
        name: &str,
        dim: usize,
        device: &B::Device,
    ) -> Result<(Linear<B>, Linear<B>), ModelError> {
        match self.take_linear(name, 3 * dim, dim)? {
            Some((w, b)) => {
                let (wq, wkv) = w.split_at(dim * dim);
                let (bq, bkv) = b.split_at(dim);
                Ok((
                    build_linear(transpose(wq, dim, dim), bq.to_vec(), dim, dim, device),
                    build_linear(
                        transpose(wkv, 2 * dim, dim),
                        bkv.to_vec(),
                        dim,
                        2 * dim,
                        device,
                    ),
                ))
            }
            None => Ok((
                self.linear(name, dim, dim, device)?,
                self.linear(name, dim, 2 * dim, device)?,
            )),
        }
    }

    pub fn layer_norm<B: Backend>(
        &mut self,
        name: &str,
        dim: usize,
        eps: f64,
        device: &B::Device,
    ) -> Result<LayerNorm<B>, ModelError> {
        let mut norm = LayerNormConfig::new(dim).with_epsilon(eps).init(device);
        if let Some(gamma) = self.take(&format!("{name}.weight"), &[dim])? {
            let beta = self
                .take(&format!("{name}.bias"), &[dim])?
                .unwrap_or_default();
            norm.gamma = Param::from_tensor(tensor_from(gamma, [dim], device));
            norm.beta = Some(Param::from_tensor(tensor_from(beta, [dim], device)));
        }
        Ok(norm)
    }

    /// Fixed frequencies: the reference stores them as buffers; they must equal ours (so that a
    /// model built from our configuration computes the same function), and the stored values
    /// are used bit for bit.
    pub fn frequencies(&mut self, name: &str, ours: &[f32]) -> Result<Vec<f32>, ModelError> {
        match self.take(name, &[ours.len()])? {
            None => Ok(ours.to_vec()),
            Some(stored) => {
                for (k, (s, o)) in stored.iter().zip(ours).enumerate() {
                    if (s - o).abs() > 1e-6 * o.abs().max(1e-30) {
                        return Err(ModelError::Weights(format!(
                            "`{name}`[{k}] = {s} but this configuration gives {o}: the \
                             checkpoint was made with another dim, head count or max_wavelength"
                        )));
                    }
                }
                Ok(stored)
            }
        }
    }

    /// After building: reference tensors nobody asked for mean the file and the configuration
    /// disagree.
    pub fn finish(self) -> Result<(), ModelError> {
        match self {
            ParamSource::Reference(map) if !map.is_empty() => {
                let names: Vec<&str> = map.keys().take(5).map(String::as_str).collect();
                Err(ModelError::Weights(format!(
                    "{} parameter(s) in the file are not part of this configuration: {}{}",
                    map.len(),
                    names.join(", "),
                    if map.len() > 5 { ", …" } else { "" }
                )))
            }
            _ => Ok(()),
        }
    }
}

fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = w[r * cols + c];
        }
    }
    out
}

fn build_linear<B: Backend>(
    weight_in_out: Vec<f32>,
    bias: Vec<f32>,
    d_in: usize,
    d_out: usize,
    device: &B::Device,
) -> Linear<B> {
    let weight: Tensor<B, 2> = tensor_from(weight_in_out, [d_in, d_out], device);
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(tensor_from(bias, [d_out], device))),
    }
}
