//! Continuous sincos embeddings of coordinates and the RoPE frequencies, as the reference lays
//! them out: per axis `[sin(x·ω₀), …, sin(x·ω_{F-1}), cos(x·ω₀), …]`, axes concatenated, zeros
//! at the end when the width does not divide.

use burn::tensor::{backend::Backend, Tensor};

use super::tangent::Dual;
use super::{tensor_from, tensor_values};

/// `ω_k = 1 / max_wavelength^(2k / d_axis)` for the widest even `d_axis` with `ndim · d_axis ≤ dim`,
/// and how many trailing entries are left over as padding.
fn frequencies(dim: usize, ndim: usize, max_wavelength: f32) -> (Vec<f32>, usize) {
    let ndim_padding = dim % ndim;
    let per_axis = (dim - ndim_padding) / ndim;
    let padding = ndim_padding + (per_axis % 2) * ndim;
    let effective = (dim - padding) / ndim;
    let omega = (0..effective)
        .step_by(2)
        .map(|k| 1.0 / max_wavelength.powf(k as f32 / effective as f32))
        .collect();
    (omega, padding)
}

/// Embeds `ndim` coordinates into `dim` channels without parameters.
#[derive(Debug, Clone)]
pub struct SincosEmbedding {
    dim: usize,
    ndim: usize,
    omega: Vec<f32>,
    padding: usize,
}

impl SincosEmbedding {
    pub fn new(dim: usize, ndim: usize, max_wavelength: f32) -> Self {
        let (omega, padding) = frequencies(dim, ndim, max_wavelength);
        SincosEmbedding {
            dim,
            ndim,
            omega,
            padding,
        }
    }

    pub fn omega(&self) -> &[f32] {
        &self.omega
    }

    /// Replaces the frequencies by ones read from a checkpoint (same count).
    pub fn set_omega(&mut self, omega: Vec<f32>) {
        debug_assert_eq!(omega.len(), self.omega.len());
        self.omega = omega;
    }

    fn phases<B: Backend>(&self, coords: Tensor<B, 2>) -> Tensor<B, 3> {
        let f = self.omega.len();
        let omega = tensor_from::<B, 3>(self.omega.clone(), [1, 1, f], &coords.device());
        coords.unsqueeze_dim::<3>(2) * omega
    }

    fn pad<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        if self.padding == 0 {
            return x;
        }
        let mut shape = x.dims();
        shape[D - 1] = self.padding;
        let zeros = Tensor::zeros(shape, &x.device());
        Tensor::cat(vec![x, zeros], D - 1)
    }

    /// `[N, ndim]` coordinates → `[N, dim]`.
    pub fn forward<B: Backend>(&self, coords: Tensor<B, 2>) -> Tensor<B, 2> {
        let [n, _] = coords.dims();
        if on_host::<B>() {
            let device = coords.device();
            let f = self.omega.len();
            let phases = host_phases(&tensor_values(coords), &self.omega);
            let (sin, cos) = super::cpu_kernels::sin_cos(&phases);
            let mut emb = Vec::with_capacity(n * self.dim);
            for (s, c) in sin
                .chunks_exact(self.ndim * f)
                .zip(cos.chunks_exact(self.ndim * f))
            {
                for (s, c) in s.chunks_exact(f).zip(c.chunks_exact(f)) {
                    emb.extend_from_slice(s);
                    emb.extend_from_slice(c);
                }
                emb.resize(emb.len() + self.padding, 0.0);
            }
            return tensor_from(emb, [n, self.dim], &device);
        }
        let phase = self.phases(coords);
        let emb = Tensor::cat(vec![phase.clone().sin(), phase.cos()], 2);
        self.pad(emb.reshape([n, self.dim - self.padding]))
    }

    /// The embedding and its derivatives along the three physical axes, where model coordinate
    /// `a` moves `scale[a]` per metre.
    pub fn forward_with_tangents<B: Backend>(
        &self,
        coords: Tensor<B, 2>,
        scale: [f32; 3],
    ) -> Dual<B> {
        debug_assert_eq!(self.ndim, 3);
        let [n, _] = coords.dims();
        let device = coords.device();
        let f = self.omega.len();
        let phase = self.phases(coords);
        let (sin, cos) = (phase.clone().sin(), phase.cos());
        let value = self.pad(
            Tensor::cat(vec![sin.clone(), cos.clone()], 2).reshape([n, self.dim - self.padding]),
        );
        let omega = tensor_from::<B, 3>(self.omega.clone(), [1, 1, f], &device);
        let d = Tensor::cat(vec![cos * omega.clone(), sin.neg() * omega], 2);
        let mut mask = vec![0.0f32; 9];
        for a in 0..3 {
            mask[a * 3 + a] = scale[a];
        }
        let mask = tensor_from::<B, 4>(mask, [3, 1, 3, 1], &device);
        let tangent = (d.unsqueeze_dim::<4>(0) * mask).reshape([3, n, self.dim - self.padding]);
        Dual {
            value,
            tangent: self.pad(tangent),
        }
    }
}

/// True for the CPU backends, with or without autodiff, whose sin and cos run on the host
/// (`cpu_kernels::sin_cos`, vectorised) instead of burn's one libm call per value. Coordinates
/// are inputs, never differentiated, so the host values serve training as well.
fn on_host<B: Backend>() -> bool {
    use std::any::TypeId;
    TypeId::of::<B>() == TypeId::of::<super::Cpu>()
        || TypeId::of::<B>() == TypeId::of::<super::CpuAutodiff>()
}

/// `[N, ndim, F]` phases `x_a · ω_f` of `[N, ndim]` coordinates, row-major.
fn host_phases(coords: &[f32], omega: &[f32]) -> Vec<f32> {
    coords
        .iter()
        .flat_map(|x| omega.iter().map(move |w| x * w))
        .collect()
}

/// The rotation angles of RoPE: per head, consecutive channel pairs turn by `x_axis · ω_k`;
/// pairs left over at the end do not turn.
#[derive(Debug, Clone)]
pub struct RopeFrequencies {
    omega: Vec<f32>,
    num_pairs: usize,
}

/// `cos` and `sin` of every pair's angle for a set of positions, shaped to broadcast over
/// `[batch, heads, N, pairs, 1]`.
#[derive(Debug, Clone)]
pub struct RopeAngles<B: Backend> {
    cos: Tensor<B, 5>,
    sin: Tensor<B, 5>,
    /// `[N, pairs]` cos and sin on the host, where slipstream's own CPU code rotates: the fused
    /// inference kernels (`cpu_kernels`) or, under autodiff, the training operations
    /// (`training_rope`), which share one copy for every rotation of these positions.
    host: Option<super::training_rope::Angles>,
}

impl<B: Backend> RopeAngles<B> {
    /// Host copies of cos and sin `[N, pairs]`, where the CPU inference kernels use them.
    pub fn host(&self) -> Option<(&[f32], &[f32])> {
        self.host
            .as_ref()
            .filter(|_| !super::training_rope::serves::<B>())
            .map(|a| (a.0.as_slice(), a.1.as_slice()))
    }

    /// Host cos and sin for the CPU training operations, where they run.
    pub fn training(&self) -> Option<&super::training_rope::Angles> {
        self.host
            .as_ref()
            .filter(|_| super::training_rope::serves::<B>())
    }
}

impl RopeFrequencies {
    pub fn new(head_dim: usize, max_wavelength: f32) -> Self {
        let (omega, _) = frequencies(head_dim, 3, max_wavelength);
        RopeFrequencies {
            omega,
            num_pairs: head_dim / 2,
        }
    }

    pub fn omega(&self) -> &[f32] {
        &self.omega
    }

    pub fn set_omega(&mut self, omega: Vec<f32>) {
        debug_assert_eq!(omega.len(), self.omega.len());
        self.omega = omega;
    }

    /// Angles for `[N, 3]` positions.
    pub fn angles<B: Backend>(&self, coords: Tensor<B, 2>) -> RopeAngles<B> {
        let [n, _] = coords.dims();
        let device = coords.device();
        let f = self.omega.len();
        let omega = tensor_from::<B, 3>(self.omega.clone(), [1, 1, f], &device);
        let mut theta = (coords.unsqueeze_dim::<3>(2) * omega).reshape([n, 3 * f]);
        if self.num_pairs > 3 * f {
            let zeros = Tensor::zeros([n, self.num_pairs - 3 * f], &device);
            theta = Tensor::cat(vec![theta, zeros], 1);
        }
        let theta = theta.reshape([1, 1, n, self.num_pairs, 1]);
        let host_wanted = super::cpu_kernels::applies::<B>() || super::training_rope::serves::<B>();
        let (cos, sin, host) = if on_host::<B>() {
            let (sin, cos) = super::cpu_kernels::sin_cos(&tensor_values(theta));
            let host = host_wanted.then(|| std::sync::Arc::new((cos.clone(), sin.clone())));
            let shape = [1, 1, n, self.num_pairs, 1];
            (
                tensor_from(cos, shape, &device),
                tensor_from(sin, shape, &device),
                host,
            )
        } else {
            let (cos, sin) = (theta.clone().cos(), theta.sin());
            let host = host_wanted.then(|| super::training_rope::host_angles(&cos, &sin));
            (cos, sin, host)
        };
        RopeAngles { cos, sin, host }
    }

    /// d(angle)/d(physical axis) per pair, `[3, 1, 1, pairs, 1]`: constant, since angles are
    /// linear in position.
    pub fn angle_rates<B: Backend>(&self, scale: [f32; 3], device: &B::Device) -> Tensor<B, 5> {
        let f = self.omega.len();
        let mut rates = vec![0.0f32; 3 * self.num_pairs];
        for a in 0..3 {
            for (k, w) in self.omega.iter().enumerate() {
                rates[a * self.num_pairs + a * f + k] = w * scale[a];
            }
        }
        tensor_from::<B, 5>(rates, [3, 1, 1, self.num_pairs, 1], device)
    }
}

/// Rotates consecutive channel pairs of `[batch, heads, N, head_dim]`: in CPU training as one
/// autodiff operation of our own (`training_rope`), elsewhere as burn's operations.
pub fn rotate<B: Backend>(x: Tensor<B, 4>, angles: &RopeAngles<B>) -> Tensor<B, 4> {
    if let Some(host) = angles.training() {
        return super::training_rope::rotate(x, host);
    }
    rotate_recorded(x, angles)
}

/// [`rotate`] as burn's operations.
pub(super) fn rotate_recorded<B: Backend>(x: Tensor<B, 4>, angles: &RopeAngles<B>) -> Tensor<B, 4> {
    let [b, h, n, d] = x.dims();
    let pairs = x.reshape([b, h, n, d / 2, 2]);
    let re = pairs.clone().narrow(4, 0, 1);
    let im = pairs.narrow(4, 1, 1);
    let out = Tensor::cat(
        vec![
            re.clone() * angles.cos.clone() - im.clone() * angles.sin.clone(),
            re * angles.sin.clone() + im * angles.cos.clone(),
        ],
        4,
    );
    out.reshape([b, h, n, d])
}

/// The derivative of [`rotate`]: `R(θ)·dx + (∂R/∂θ)·x·dθ`, where `∂R/∂θ·x` is the rotated pair
/// turned by a further quarter turn. `rotated` is `rotate(x)` (batch 1), `dx` is `[3, heads, N,
/// head_dim]`, `rates` from [`RopeFrequencies::angle_rates`].
pub fn rotate_tangent<B: Backend>(
    rotated: Tensor<B, 4>,
    dx: Tensor<B, 4>,
    angles: &RopeAngles<B>,
    rates: &Tensor<B, 5>,
) -> Tensor<B, 4> {
    let [_, h, n, d] = rotated.dims();
    let pairs = rotated.reshape([1, h, n, d / 2, 2]);
    let quarter = Tensor::cat(
        vec![pairs.clone().narrow(4, 1, 1).neg(), pairs.narrow(4, 0, 1)],
        4,
    );
    let turn = (quarter * rates.clone()).reshape([3, h, n, d]);
    rotate(dx, angles) + turn
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cpu, CpuAutodiff};

    /// Coordinates of both signs up to a thousand, as model coordinates reach.
    fn coordinates(n: usize) -> Vec<f32> {
        (0..n * 3)
            .map(|i| ((i * 7919 % 2001) as f32 - 1000.0) * 0.999 + (i as f32).sin())
            .collect()
    }

    #[test]
    fn host_sincos_embedding_is_the_reference_layout_on_both_cpu_backends() {
        // 100 channels over 3 axes: 16 frequencies per axis, 4 channels of padding.
        let (n, dim) = (37usize, 100usize);
        let embedding = SincosEmbedding::new(dim, 3, 1e4);
        let (omega, padding) = (embedding.omega().to_vec(), embedding.padding);
        assert_eq!((omega.len(), padding), (16, 4));
        let coords = coordinates(n);
        let mut want = Vec::new();
        for point in coords.chunks(3) {
            for x in point {
                let phases: Vec<f64> = omega.iter().map(|w| (x * w) as f64).collect();
                want.extend(phases.iter().map(|p| p.sin()));
                want.extend(phases.iter().map(|p| p.cos()));
            }
            want.extend([0.0; 4]);
        }
        let device = Default::default();
        let plain =
            tensor_values(embedding.forward::<Cpu>(tensor_from(coords.clone(), [n, 3], &device)));
        let tracked =
            tensor_values(embedding.forward::<CpuAutodiff>(tensor_from(coords, [n, 3], &device)));
        assert_eq!(plain, tracked);
        for (i, (got, want)) in plain.iter().zip(&want).enumerate() {
            assert!((*got as f64 - want).abs() < 2e-7, "[{i}] {got} vs {want}");
        }
    }

    #[test]
    fn host_rope_angles_are_the_cos_and_sin_of_every_pair() {
        let n = 29usize;
        let rope = RopeFrequencies::new(64, 1e4);
        let coords = coordinates(n);
        let device = Default::default();
        let angles = rope.angles::<Cpu>(tensor_from(coords.clone(), [n, 3], &device));
        let (cos, sin) = angles.host().expect("host angles on the CPU backend");
        assert_eq!(cos, tensor_values(angles.cos.clone()).as_slice());
        assert_eq!(sin, tensor_values(angles.sin.clone()).as_slice());
        let f = rope.omega().len();
        for i in 0..n {
            for p in 0..32 {
                // Pairs past the 3 · f that turn stay at angle zero.
                let theta = if p < 3 * f {
                    (coords[i * 3 + p / f] * rope.omega()[p % f]) as f64
                } else {
                    0.0
                };
                let (c, s) = (cos[i * 32 + p] as f64, sin[i * 32 + p] as f64);
                assert!((c - theta.cos()).abs() < 2e-7 && (s - theta.sin()).abs() < 2e-7);
            }
        }
    }

    #[test]
    fn frequencies_match_the_reference_layouts() {
        // dim 192 over 3 axes: 32 frequencies; over 4 axes: 24; RoPE on 64-wide heads: 10 (4
        // channels unrotated); tiny's 16-wide heads: 2.
        assert_eq!(frequencies(192, 3, 1e4).0.len(), 32);
        assert_eq!(frequencies(192, 4, 1e4).0.len(), 24);
        assert_eq!(
            frequencies(64, 3, 1e4).1,
            4,
            "4 channels of a 64-wide head stay unrotated"
        );
        assert_eq!(frequencies(64, 3, 1e4).0.len(), 10);
        assert_eq!(frequencies(16, 3, 1e4).0.len(), 2);
        let (omega, _) = frequencies(48, 3, 1e4);
        assert_eq!(omega[0], 1.0);
        assert!((omega[1] - 1.0 / 10f32.powf(4.0 * 2.0 / 16.0)).abs() < 1e-7);
    }
}
