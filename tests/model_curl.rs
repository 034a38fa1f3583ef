//! Divergence-free heads: ω = ∇×ψ through forward-mode tangents.

use burn::backend::Autodiff;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::Tensor;
use slipstream::bench::model::{volume_points, Workload};
use slipstream::model::{
    positions_tensor, tensor_from, tensor_values, AbUpt, AbUptConfig, Branch, CoordinateFrame, Cpu,
    ParamSource, VectorHead,
};
use slipstream::rng::Rng;

type B = Cpu;

/// Physical coordinates in [0, 1] m become model coordinates in [0, 10]: f32 resolves finite
/// differences there far below the tolerances.
fn config(curl: bool) -> AbUptConfig {
    let mut c = AbUptConfig::tiny();
    c.coordinates = CoordinateFrame {
        offset_m: [0.0; 3],
        scale_per_m: [10.0, 12.0, 8.0],
    };
    c.radius = 2.0;
    if curl {
        c.vorticity_head = VectorHead::Curl;
        c.velocity_head = VectorHead::Curl;
        c.freestream_velocity = [1.0, 0.0, 0.0];
    }
    c
}

fn unit_box_points(c: &AbUptConfig, n: usize, seed: u64) -> Vec<[f32; 3]> {
    let mut rng = Rng::seed_from(seed);
    (0..n)
        .map(|_| {
            c.coordinates.to_model([
                rng.uniform() as f32,
                rng.uniform() as f32,
                rng.uniform() as f32,
            ])
        })
        .collect()
}

struct Setup {
    model: AbUpt<B>,
    workload: Workload,
}

fn setup(curl: bool) -> Setup {
    let c = config(curl);
    let mut w = Workload::new(&c, 300, 40, 48, 3);
    w.geometry = unit_box_points(&c, 300, 4);
    w.surface_anchors = unit_box_points(&c, 48, 5);
    w.volume_anchors = unit_box_points(&c, 48, 6);
    // Same seed: the direct and the curl model share every weight.
    let model = AbUpt::<B>::build(
        &c,
        ParamSource::random_with_std(9, 0.15),
        &Default::default(),
    )
    .unwrap();
    Setup { model, workload: w }
}

/// Evaluates `f` at model positions shifted by ±h metres along physical axis `axis`, returning
/// the central difference per metre. The step is measured from the rounded f32 positions.
fn central_difference(
    s: &Setup,
    points: &[[f32; 3]],
    axis: usize,
    h_m: f32,
    f: &dyn Fn(&[[f32; 3]]) -> Vec<f32>,
) -> Vec<f32> {
    let scale = s.model.config().coordinates.scale_per_m[axis];
    let shift = |sign: f32| -> Vec<[f32; 3]> {
        points
            .iter()
            .map(|p| {
                let mut q = *p;
                q[axis] += sign * h_m * scale;
                q
            })
            .collect()
    };
    let (plus, minus) = (shift(1.0), shift(-1.0));
    let (fp, fm) = (f(&plus), f(&minus));
    let width = fp.len() / points.len();
    fp.iter()
        .zip(&fm)
        .enumerate()
        .map(|(k, (a, b))| {
            let i = k / width;
            let step_m = f64::from(plus[i][axis] - minus[i][axis]) / f64::from(scale);
            ((f64::from(*a) - f64::from(*b)) / step_m) as f32
        })
        .collect()
}

fn encode(s: &Setup) -> slipstream::model::Encoded<B> {
    s.workload.encode(&s.model, &Default::default()).unwrap()
}

fn norm(v: &[f32]) -> f64 {
    v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt()
}

#[test]
fn forward_mode_derivatives_match_finite_differences() {
    let s = setup(true);
    let enc = encode(&s);
    let d = Default::default();
    let points = unit_box_points(s.model.config(), 64, 21);
    let dual =
        s.model
            .decode_with_tangents(&enc, Branch::Volume, positions_tensor::<B>(&points, &d));
    let tangents = tensor_values(dual.tangent);
    let n = points.len() * 7;
    let raw = |p: &[[f32; 3]]| {
        tensor_values(
            s.model
                .decode_raw(&enc, Branch::Volume, positions_tensor::<B>(p, &d)),
        )
    };
    for axis in 0..3 {
        let fd = central_difference(&s, &points, axis, 1e-3, &raw);
        let jvp = &tangents[axis * n..(axis + 1) * n];
        let err: Vec<f32> = jvp.iter().zip(&fd).map(|(a, b)| a - b).collect();
        let rel = norm(&err) / norm(&fd);
        eprintln!(
            "axis {axis}: |jvp - fd| / |fd| = {rel:.2e}, |fd| = {:.3e}",
            norm(&fd)
        );
        assert!(norm(&fd) > 1e-2, "the potential varies along axis {axis}");
        assert!(rel <= 1e-3, "axis {axis}: relative error {rel:.2e}");
    }
}

/// `|div ω| / |∇ω|` over the points, both by central differences of the model's own ω.
fn divergence_ratio(s: &Setup, points: &[[f32; 3]]) -> f64 {
    let enc = encode(s);
    let d = Default::default();
    let vorticity = |p: &[[f32; 3]]| -> Vec<f32> {
        let out = tensor_values(
            s.model
                .decode(&enc, Branch::Volume, positions_tensor::<B>(p, &d)),
        );
        out.chunks_exact(7).flat_map(|r| r[4..7].to_vec()).collect()
    };
    let n = points.len();
    let mut divergence = vec![0.0f32; n];
    let mut gradient_sq = 0.0f64;
    for axis in 0..3 {
        let g = central_difference(s, points, axis, 1e-3, &vorticity);
        for i in 0..n {
            divergence[i] += g[i * 3 + axis];
        }
        gradient_sq += norm(&g).powi(2);
    }
    norm(&divergence) / gradient_sq.sqrt()
}

#[test]
fn curl_head_vorticity_is_divergence_free() {
    let points = unit_box_points(&config(true), 64, 22);
    let curl = divergence_ratio(&setup(true), &points);
    let direct = divergence_ratio(&setup(false), &points);
    eprintln!(
        "|div ω|/|∇ω|: curl head {curl:.3e}, direct head {direct:.3e}, ratio {:.0}",
        direct / curl
    );
    assert!(
        direct > 0.05,
        "the direct head is not divergence-free by accident"
    );
    assert!(
        curl * 1000.0 <= direct,
        "curl {curl:.3e} vs direct {direct:.3e}"
    );
}

#[test]
fn training_through_the_curl_head_reduces_the_loss() {
    type AB = Autodiff<B>;
    let c = config(true);
    let d = Default::default();
    let mut model = AbUpt::<AB>::build(&c, ParamSource::random_with_std(9, 0.15), &d).unwrap();
    let s = setup(true);
    let w = &s.workload;
    let points = volume_points(&c, 0, &mut Rng::seed_from(0));
    assert!(points.is_empty());
    // Fixed target: solid-body rotation about z (divergence-free, curl (0, 0, 2)).
    let target: Vec<f32> = w
        .volume_anchors
        .iter()
        .flat_map(|p| {
            let (x, y) = (p[0] / 10.0 - 0.5, p[1] / 12.0 - 0.5);
            [0.0, 1.0 - y, x, 0.0, 0.0, 0.0, 2.0]
        })
        .collect();
    let target: Tensor<AB, 2> = tensor_from(target, [w.volume_anchors.len(), 7], &d);
    let mut optim = AdamConfig::new().init::<AB, AbUpt<AB>>();
    let mut losses = Vec::new();
    for _ in 0..8 {
        let anchors = positions_tensor::<AB>(&w.volume_anchors, &d);
        let enc = model
            .encode(
                &w.geometry,
                &w.supernodes,
                positions_tensor::<AB>(&w.surface_anchors, &d),
                anchors.clone(),
            )
            .unwrap();
        let (_, volume) = model.anchor_outputs(&enc, anchors);
        let loss = (volume - target.clone()).powi_scalar(2).mean();
        losses.push(loss.clone().into_scalar());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
    }
    eprintln!("losses: {losses:?}");
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(
        losses[7] < 0.8 * losses[0],
        "loss {} → {}",
        losses[0],
        losses[7]
    );
}
