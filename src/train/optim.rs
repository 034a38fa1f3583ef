//! Optimiser pieces burn 0.21 lacks: Lion (the reference trains AB-UPT with it) and clipping of
//! the global gradient norm (burn's `GradientClipping::Norm` clips each parameter on its own,
//! which changes the update's direction; the reference clips the norm of all gradients together).

use burn::module::{AutodiffModule, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, SimpleOptimizer};
use burn::record::Record;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};

/// Lion (Chen et al. 2023): the update is the sign of an interpolation between the momentum and
/// the gradient; weight decay is decoupled.
#[derive(Debug, Clone, Copy)]
pub struct Lion {
    pub beta1: f32,
    pub beta2: f32,
    pub weight_decay: f32,
}

/// Lion's state: the gradient's exponential moving average.
#[derive(Record, Clone)]
pub struct LionState<B: Backend, const D: usize> {
    pub momentum: Tensor<B, D>,
}

impl<B: Backend> SimpleOptimizer<B> for Lion {
    type State<const D: usize> = LionState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let momentum = state
            .map(|s| s.momentum)
            .unwrap_or_else(|| grad.zeros_like());
        let direction = (momentum.clone().mul_scalar(self.beta1)
            + grad.clone().mul_scalar(1.0 - self.beta1))
        .sign();
        let decayed = tensor.mul_scalar(1.0 - lr * self.weight_decay as f64);
        let updated = decayed - direction.mul_scalar(lr);
        let momentum = momentum.mul_scalar(self.beta2) + grad.mul_scalar(1.0 - self.beta2);
        (updated, Some(LionState { momentum }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        LionState {
            momentum: state.momentum.to_device(device),
        }
    }
}

/// Visits every parameter's gradient: sums their squares, or scales them.
struct GradientWalk<'a> {
    grads: &'a mut GradientsParams,
    ids: Vec<ParamId>,
    sum_sq: f64,
    scale: Option<f32>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradientWalk<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let id = param.id;
        self.ids.push(id);
        match self.scale {
            None => {
                if let Some(g) = self.grads.get::<B::InnerBackend, D>(id) {
                    let s: f64 = g.powi_scalar(2).sum().into_scalar().elem();
                    self.sum_sq += s;
                }
            }
            Some(scale) => {
                if let Some(g) = self.grads.remove::<B::InnerBackend, D>(id) {
                    self.grads.register(id, g.mul_scalar(scale));
                }
            }
        }
    }
}

/// The global L2 norm of all gradients of `model`.
pub fn gradient_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: &M,
    grads: &mut GradientsParams,
) -> f64 {
    let mut walk = GradientWalk {
        grads,
        ids: Vec::new(),
        sum_sq: 0.0,
        scale: None,
    };
    model.visit(&mut walk);
    walk.sum_sq.sqrt()
}

/// Scales all gradients so that their global norm is at most `max_norm`; returns the norm
/// before clipping.
pub fn clip_global_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: &M,
    grads: &mut GradientsParams,
    max_norm: f64,
) -> f64 {
    let norm = gradient_norm::<B, M>(model, grads);
    if max_norm > 0.0 && norm.is_finite() && norm > max_norm {
        let mut walk = GradientWalk {
            grads,
            ids: Vec::new(),
            sum_sq: 0.0,
            scale: Some((max_norm / norm) as f32),
        };
        model.visit(&mut walk);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cpu, CpuAutodiff};
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::adaptor::OptimizerAdaptor;
    use burn::optim::Optimizer;
    use burn::tensor::TensorData;

    #[derive(Module, Debug)]
    struct Two<B: Backend> {
        a: Linear<B>,
        b: Linear<B>,
    }

    fn model() -> Two<CpuAutodiff> {
        let device = Default::default();
        Two {
            a: LinearConfig::new(3, 2).init(&device),
            b: LinearConfig::new(2, 1).init(&device),
        }
    }

    fn grads(m: &Two<CpuAutodiff>) -> GradientsParams {
        let x = Tensor::<CpuAutodiff, 2>::from_data(
            TensorData::new(vec![1.0f32, -2.0, 0.5], [1, 3]),
            &Default::default(),
        );
        let y = m.b.forward(m.a.forward(x)).sum() * 10.0;
        GradientsParams::from_grads(y.backward(), m)
    }

    fn values(g: &GradientsParams, m: &Two<CpuAutodiff>) -> Vec<f32> {
        let mut out = Vec::new();
        for id in [m.a.weight.id, m.b.weight.id] {
            let t = g.get::<Cpu, 2>(id).unwrap();
            out.extend(t.into_data().into_vec::<f32>().unwrap());
        }
        for id in [m.a.bias.as_ref().unwrap().id, m.b.bias.as_ref().unwrap().id] {
            let t = g.get::<Cpu, 1>(id).unwrap();
            out.extend(t.into_data().into_vec::<f32>().unwrap());
        }
        out
    }

    #[test]
    fn global_clipping_scales_every_gradient_by_one_factor() {
        let m = model();
        let mut g = grads(&m);
        let before = values(&g, &m);
        let norm_by_hand = before
            .iter()
            .map(|v| (*v as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let norm = clip_global_norm::<CpuAutodiff, _>(&m, &mut g, 0.5);
        assert!((norm - norm_by_hand).abs() < 1e-4 * norm_by_hand);
        assert!(norm > 0.5, "the test needs a norm above the limit: {norm}");
        let after = values(&g, &m);
        for (a, b) in after.iter().zip(&before) {
            assert!((a - b * (0.5 / norm) as f32).abs() < 1e-6);
        }
        let new_norm = gradient_norm::<CpuAutodiff, _>(&m, &mut g);
        assert!((new_norm - 0.5).abs() < 1e-5);
    }

    #[test]
    fn lion_moves_each_weight_by_lr_against_the_gradient_sign() {
        let m = model();
        let g = grads(&m);
        let before = m.a.weight.val().into_data().into_vec::<f32>().unwrap();
        let grad_a = g
            .get::<Cpu, 2>(m.a.weight.id)
            .unwrap()
            .into_data()
            .into_vec::<f32>()
            .unwrap();
        let mut optim: OptimizerAdaptor<Lion, Two<CpuAutodiff>, CpuAutodiff> =
            OptimizerAdaptor::from(Lion {
                beta1: 0.9,
                beta2: 0.99,
                weight_decay: 0.0,
            });
        let m = optim.step(0.01, m, g);
        let after = m.a.weight.val().into_data().into_vec::<f32>().unwrap();
        for ((a, b), g) in after.iter().zip(&before).zip(&grad_a) {
            assert!((a - (b - 0.01 * g.signum())).abs() < 1e-6);
        }
    }
}
