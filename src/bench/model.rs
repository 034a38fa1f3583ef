//! `slipstream bench model` and `bench stream`: the model's speed on a synthetic car-sized
//! workload (geometry points on an ellipsoid the size of a car, volume points in the box around
//! it), so that the numbers compare with the reference's on the same sizes.

use std::time::Instant;

use burn::backend::Autodiff;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::Serialize;

use crate::model::cpu_isa::{self, KernelIsas};
use crate::model::device::Job;
use crate::model::{positions_tensor, AbUpt, AbUptConfig, Branch, Encoded, ModelError};
use crate::progress::Progress;
use crate::rng::Rng;

/// Semi-axes and centre (m) of the synthetic body: a 4.6 m × 2 m × 1.4 m car.
const BODY_SEMI_AXES_M: [f64; 3] = [2.3, 1.0, 0.7];
const BODY_CENTRE_M: [f64; 3] = [1.5, 0.0, 0.7];

/// Synthetic inputs in the model frame of `config`.
#[derive(Debug, Clone)]
pub struct Workload {
    pub geometry: Vec<[f32; 3]>,
    pub supernodes: Vec<u32>,
    pub surface_anchors: Vec<[f32; 3]>,
    pub volume_anchors: Vec<[f32; 3]>,
}

/// `n` points on the synthetic body's surface (model frame).
pub fn surface_points(config: &AbUptConfig, n: usize, rng: &mut Rng) -> Vec<[f32; 3]> {
    (0..n)
        .map(|_| {
            let d = [rng.normal(), rng.normal(), rng.normal()];
            let len = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt().max(1e-12);
            let p: [f32; 3] = std::array::from_fn(|a| {
                (BODY_CENTRE_M[a] + BODY_SEMI_AXES_M[a] * d[a] / len) as f32
            });
            config.coordinates.to_model(p)
        })
        .collect()
}

/// `n` points in the box around the body: 1 length upstream, 2 downstream, 1 body height of
/// room above and beside it (model frame).
pub fn volume_points(config: &AbUptConfig, n: usize, rng: &mut Rng) -> Vec<[f32; 3]> {
    (0..n)
        .map(|_| {
            let p = [
                rng.range(-3.6, 9.8) as f32,
                rng.range(-3.0, 3.0) as f32,
                rng.range(0.0, 3.0) as f32,
            ];
            config.coordinates.to_model(p)
        })
        .collect()
}

/// `n` points where `branch` lives: on the body, or in the box around it (model frame).
pub fn branch_points(
    config: &AbUptConfig,
    branch: Branch,
    n: usize,
    rng: &mut Rng,
) -> Vec<[f32; 3]> {
    match branch {
        Branch::Surface => surface_points(config, n, rng),
        Branch::Volume => volume_points(config, n, rng),
    }
}

impl Workload {
    /// Geometry and anchors through `model.encode`.
    pub fn encode<B: Backend>(
        &self,
        model: &AbUpt<B>,
        device: &B::Device,
    ) -> Result<Encoded<B>, ModelError> {
        model.encode(
            &self.geometry,
            &self.supernodes,
            positions_tensor::<B>(&self.surface_anchors, device),
            positions_tensor::<B>(&self.volume_anchors, device),
        )
    }

    pub fn new(
        config: &AbUptConfig,
        geometry_points: usize,
        supernodes: usize,
        anchors: usize,
        seed: u64,
    ) -> Self {
        let mut rng = Rng::seed_from(seed);
        let geometry = surface_points(config, geometry_points, &mut rng);
        let supernodes = crate::geometry::sampling::choose_subset(
            geometry_points,
            supernodes.min(geometry_points),
            seed,
        )
        .into_iter()
        .map(|i| i as u32)
        .collect();
        Workload {
            geometry,
            supernodes,
            surface_anchors: surface_points(config, anchors, &mut rng),
            volume_anchors: volume_points(config, anchors, &mut rng),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelBenchReport {
    pub preset: String,
    pub params: u64,
    pub anchors: usize,
    pub queries: usize,
    pub supernodes: usize,
    pub geometry_points: usize,
    /// Seconds per inference forward: geometry, anchors and `queries` points per branch.
    pub infer_s: f64,
    pub encode_s: f64,
    pub decode_s: f64,
    /// Seconds per training step (forward + backward + AdamW) on anchors and queries.
    pub train_step_s: Option<f64>,
    /// Where the training step's time goes: the recorded forward and loss, the backward pass
    /// (gradients), and the AdamW update (medians, so they need not sum to the step exactly).
    pub train_parts: Option<TrainParts>,
    /// Query points (both branches) per second in the decode part.
    pub query_points_per_s: f64,
    pub peak_rss_mb: Option<f64>,
    pub backend: String,
    /// The CPU's model name: every timing is read against its machine.
    pub cpu: String,
    /// The CPU features that matter to the kernels (avx2, fma, avx512f, avx512bf16, …).
    pub cpu_features: Vec<&'static str>,
    /// The instruction set each hot CPU kernel used (`None` on a GPU backend).
    pub kernels: Option<KernelIsas>,
}

/// Seconds of each phase of one training step.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TrainParts {
    pub forward_s: f64,
    pub backward_s: f64,
    pub optimizer_s: f64,
}

/// The `bench model` job.
pub struct ModelBench {
    pub preset: String,
    pub config: AbUptConfig,
    pub anchors: usize,
    pub queries: usize,
    pub supernodes: usize,
    pub geometry_points: usize,
    pub repeats: usize,
    pub train: bool,
}

fn seconds_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

impl Job for ModelBench {
    type Output = ModelBenchReport;

    fn run<B: Backend>(
        self,
        device: &B::Device,
        backend: &str,
    ) -> Result<ModelBenchReport, ModelError> {
        let w = Workload::new(
            &self.config,
            self.geometry_points,
            self.supernodes,
            self.anchors,
            1,
        );
        let mut rng = Rng::seed_from(2);
        let surface_queries = surface_points(&self.config, self.queries, &mut rng);
        let volume_queries = volume_points(&self.config, self.queries, &mut rng);
        let model = AbUpt::<B>::init(&self.config, 0, device)?;
        let params = model.num_params() as u64;

        let mut encode = Vec::new();
        let mut decode = Vec::new();
        for _ in 0..self.repeats.max(1) + 1 {
            let t = Instant::now();
            let enc = w.encode(&model, device)?;
            let _ = B::sync(device);
            encode.push(seconds_since(t));
            let t = Instant::now();
            if self.queries > 0 {
                let s = model.decode(
                    &enc,
                    Branch::Surface,
                    positions_tensor::<B>(&surface_queries, device),
                );
                let v = model.decode(
                    &enc,
                    Branch::Volume,
                    positions_tensor::<B>(&volume_queries, device),
                );
                let _ = (s.into_data(), v.into_data());
            }
            let _ = (
                enc.surface_anchors.into_data(),
                enc.volume_anchors.into_data(),
            );
            decode.push(seconds_since(t));
        }
        // The first round warms caches and kernels.
        encode.remove(0);
        decode.remove(0);
        let (encode_s, decode_s) = (median(encode), median(decode));

        let (train_step_s, train_parts) = if self.train {
            let (mut steps, mut forward, mut backward, mut optimizer) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let model = AbUpt::<Autodiff<B>>::init(&self.config, 0, device)?;
            let mut optim = AdamWConfig::new().init::<Autodiff<B>, AbUpt<Autodiff<B>>>();
            let mut model = Some(model);
            for _ in 0..self.repeats.clamp(1, 2) + 1 {
                let t = Instant::now();
                let m = model
                    .take()
                    .ok_or_else(|| ModelError::Input("model lost".into()))?;
                let loss = training_loss(&m, &w, &surface_queries, &volume_queries, device)?;
                let _ = B::sync(device);
                let t_backward = Instant::now();
                let grads = GradientsParams::from_grads(loss.backward(), &m);
                let _ = B::sync(device);
                let t_optimizer = Instant::now();
                model = Some(optim.step(1e-4, m, grads));
                let _ = B::sync(device);
                steps.push(seconds_since(t));
                forward.push((t_backward - t).as_secs_f64());
                backward.push((t_optimizer - t_backward).as_secs_f64());
                optimizer.push(seconds_since(t_optimizer));
            }
            for v in [&mut steps, &mut forward, &mut backward, &mut optimizer] {
                v.remove(0);
            }
            let parts = TrainParts {
                forward_s: median(forward),
                backward_s: median(backward),
                optimizer_s: median(optimizer),
            };
            (Some(median(steps)), Some(parts))
        } else {
            (None, None)
        };
        let infer_s = encode_s + decode_s;
        Ok(ModelBenchReport {
            preset: self.preset,
            params,
            anchors: self.anchors,
            queries: self.queries,
            supernodes: w.supernodes.len(),
            geometry_points: w.geometry.len(),
            infer_s,
            encode_s,
            decode_s,
            train_step_s,
            train_parts,
            query_points_per_s: (2 * self.queries) as f64 / decode_s.max(1e-12),
            peak_rss_mb: super::peak_rss_mb(),
            backend: backend.to_string(),
            cpu: cpu_isa::cpu_model(),
            cpu_features: cpu_isa::cpu_features(),
            kernels: backend.contains("cpu").then(|| {
                KernelIsas::report(
                    crate::model::fused_cpu_kernels::<B>(),
                    crate::model::bf16_unit(),
                )
            }),
        })
    }
}

/// MSE of every output against fixed targets: the cost of a training step on this workload.
fn training_loss<B: burn::tensor::backend::AutodiffBackend>(
    model: &AbUpt<B>,
    w: &Workload,
    surface_queries: &[[f32; 3]],
    volume_queries: &[[f32; 3]],
    device: &B::Device,
) -> Result<Tensor<B, 1>, ModelError> {
    let volume_anchors = positions_tensor::<B>(&w.volume_anchors, device);
    let enc = model.encode(
        &w.geometry,
        &w.supernodes,
        positions_tensor::<B>(&w.surface_anchors, device),
        volume_anchors.clone(),
    )?;
    let (s, v) = model.anchor_outputs(&enc, volume_anchors);
    let mut loss = s.powi_scalar(2).mean() + v.powi_scalar(2).mean();
    if !surface_queries.is_empty() {
        let sq = model.decode(
            &enc,
            Branch::Surface,
            positions_tensor::<B>(surface_queries, device),
        );
        let vq = model.decode(
            &enc,
            Branch::Volume,
            positions_tensor::<B>(volume_queries, device),
        );
        loss = loss + sq.powi_scalar(2).mean() + vq.powi_scalar(2).mean();
    }
    Ok(loss)
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamPart {
    /// One chunk decoded before timing (GPU kernels compile on first use), seconds.
    pub warmup_s: f64,
    pub points: usize,
    pub seconds: f64,
    pub points_per_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamBenchReport {
    pub preset: String,
    pub backend: String,
    pub anchors: usize,
    pub supernodes: usize,
    pub geometry_points: usize,
    pub chunk: usize,
    pub encode_s: f64,
    pub surface: StreamPart,
    pub volume: StreamPart,
    pub total_s: f64,
    pub peak_rss_mb: Option<f64>,
    /// The attention kernel f16 products ran (`flash`, `flash-unit`, `unfused`; see
    /// `model::gpu_ops`), null where burn's own attention ran.
    pub attention_kernel: Option<String>,
}

/// The `bench stream` job: encode once, then stream synthetic query points through both
/// branches in chunks, copying every chunk's outputs back to the host as a real run would.
pub struct StreamBench {
    pub preset: String,
    pub config: AbUptConfig,
    pub anchors: usize,
    pub supernodes: usize,
    pub geometry_points: usize,
    pub surface_points: usize,
    pub volume_points: usize,
    pub chunk: usize,
    /// Where the points streamed so far are reported.
    pub progress: Progress,
}

impl Job for StreamBench {
    type Output = StreamBenchReport;

    fn run<B: Backend>(
        self,
        device: &B::Device,
        backend: &str,
    ) -> Result<StreamBenchReport, ModelError> {
        let w = Workload::new(
            &self.config,
            self.geometry_points,
            self.supernodes,
            self.anchors,
            1,
        );
        let model = AbUpt::<B>::init(&self.config, 0, device)?;
        let started = Instant::now();
        let t = Instant::now();
        let enc = w.encode(&model, device)?;
        let _ = B::sync(device);
        let encode_s = seconds_since(t);
        let chunk = self.chunk.max(1);
        let stream = |branch: Branch, total: usize| -> Result<StreamPart, ModelError> {
            let mut rng = Rng::stream(3, branch as u64);
            let t = Instant::now();
            if total > 0 {
                let pts = branch_points(&self.config, branch, chunk.min(total), &mut rng);
                std::hint::black_box(model.decode_chunked(&enc, branch, &pts, chunk, |_| {})?);
            }
            let warmup_s = seconds_since(t);
            let t = Instant::now();
            let mut done = 0usize;
            self.progress.start(&format!("{branch:?}"), total as u64);
            while done < total {
                let n = chunk.min(total - done);
                let pts = branch_points(&self.config, branch, n, &mut rng);
                let out = model.decode_chunked(&enc, branch, &pts, chunk, |_| {})?;
                std::hint::black_box(out);
                done += n;
                self.progress.advance(done as u64, || {
                    format!(
                        "{branch:?}: {done}/{total} points, {:.1} s",
                        t.elapsed().as_secs_f64()
                    )
                });
            }
            self.progress.finish();
            let seconds = seconds_since(t);
            Ok(StreamPart {
                warmup_s,
                points: total,
                seconds,
                points_per_s: total as f64 / seconds.max(1e-12),
            })
        };
        let surface = stream(Branch::Surface, self.surface_points)?;
        let volume = stream(Branch::Volume, self.volume_points)?;
        Ok(StreamBenchReport {
            preset: self.preset,
            backend: backend.to_string(),
            anchors: self.anchors,
            supernodes: w.supernodes.len(),
            geometry_points: w.geometry.len(),
            chunk,
            encode_s,
            surface,
            volume,
            total_s: seconds_since(started),
            peak_rss_mb: super::peak_rss_mb(),
            attention_kernel: attention_kernel(),
        })
    }
}

#[cfg(feature = "gpu-kernels")]
fn attention_kernel() -> Option<String> {
    match crate::model::gpu_ops::attention_kernel_used() {
        "none" => None,
        used => Some(used.to_string()),
    }
}

#[cfg(not(feature = "gpu-kernels"))]
fn attention_kernel() -> Option<String> {
    None
}
