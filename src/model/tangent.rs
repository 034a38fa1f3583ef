//! Forward-mode derivatives through the query path.
//!
//! burn differentiates once (reverse mode), so ∇×ψ cannot come from a second backward pass.
//! Instead every layer a query passes through is evaluated together with its directional
//! derivatives along the three physical axes, using the layers' exact Jacobian-vector products.
//! Keys and values come from anchors, which do not move with the query, so their tangents are
//! zero. All of this is ordinary tensor arithmetic, so training through it needs only the first
//! derivative burn provides.

use burn::nn::{LayerNorm, Linear};
use burn::tensor::{activation, backend::Backend, Tensor};

use super::ops;

/// Token values `[N, dim]` and their derivatives along x, y, z `[3, N, dim]`.
#[derive(Debug, Clone)]
pub struct Dual<B: Backend> {
    pub value: Tensor<B, 2>,
    pub tangent: Tensor<B, 3>,
}

impl<B: Backend> std::ops::Add for Dual<B> {
    type Output = Dual<B>;

    fn add(self, other: Dual<B>) -> Dual<B> {
        Dual {
            value: self.value + other.value,
            tangent: self.tangent + other.tangent,
        }
    }
}

/// `x·W + b`; the tangent sees only `W`.
pub fn linear<B: Backend>(layer: &Linear<B>, x: Dual<B>) -> Dual<B> {
    let [t, n, d] = x.tangent.dims();
    let weight = layer.weight.val();
    let out = weight.dims()[1];
    Dual {
        value: ops::linear(layer, x.value),
        tangent: ops::matmul(x.tangent.reshape([t * n, d]), weight).reshape([t, n, out]),
    }
}

/// Exact GELU; its derivative is `Φ(x) + x·φ(x)`.
pub fn gelu<B: Backend>(x: Dual<B>) -> Dual<B> {
    let v = x.value;
    let cdf = (v.clone() * std::f64::consts::FRAC_1_SQRT_2)
        .erf()
        .add_scalar(1.0)
        * 0.5;
    let pdf = (v.clone().powi_scalar(2) * -0.5).exp() * (1.0 / (2.0 * std::f64::consts::PI).sqrt());
    let slope = cdf + v.clone() * pdf;
    Dual {
        value: activation::gelu(v),
        tangent: x.tangent * slope.unsqueeze_dim::<3>(0),
    }
}

/// LayerNorm with its Jacobian: `dŷ = (dx − mean(dx) − x̂·mean(x̂·dx)) / σ`, scaled by γ.
pub fn layer_norm<B: Backend>(norm: &LayerNorm<B>, eps: f64, x: Dual<B>) -> Dual<B> {
    let mean = x.value.clone().mean_dim(1);
    let centred = x.value - mean;
    let var = centred.clone().powi_scalar(2).mean_dim(1);
    let inv_std = var.add_scalar(eps).sqrt().recip();
    let normed = centred * inv_std.clone();
    let gamma = norm.gamma.val().unsqueeze_dim::<2>(0);
    let mut value = normed.clone() * gamma.clone();
    if let Some(beta) = &norm.beta {
        value = value + beta.val().unsqueeze_dim::<2>(0);
    }
    let normed3 = normed.unsqueeze_dim::<3>(0);
    let t = x.tangent;
    let t_mean = t.clone().mean_dim(2);
    let proj = (normed3.clone() * t.clone()).mean_dim(2);
    let dnormed = (t - t_mean - normed3 * proj) * inv_std.unsqueeze_dim::<3>(0);
    Dual {
        value,
        tangent: dnormed * gamma.unsqueeze_dim::<3>(0),
    }
}

/// `[N, 3·k]` tangents of the head output picked into the curl of channels `start..start+3`.
/// `tangent[a, n, start + i]` is ∂ψ_i/∂x_a.
pub fn curl<B: Backend>(tangent: &Tensor<B, 3>, start: usize) -> Tensor<B, 2> {
    let d = |axis: usize, comp: usize| -> Tensor<B, 2> {
        let [_, n, _] = tangent.dims();
        tangent
            .clone()
            .narrow(0, axis, 1)
            .narrow(2, start + comp, 1)
            .reshape([n, 1])
    };
    Tensor::cat(
        vec![
            d(1, 2) - d(2, 1), // ∂ψz/∂y − ∂ψy/∂z
            d(2, 0) - d(0, 2), // ∂ψx/∂z − ∂ψz/∂x
            d(0, 1) - d(1, 0), // ∂ψy/∂x − ∂ψx/∂y
        ],
        1,
    )
}
