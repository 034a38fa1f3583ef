//! `slipstream predict`: drag, lift and flow fields of a body from its STL with a trained
//! checkpoint, in physical units, written for ParaView, scripts and people.
//!
//! The geometry is sampled as in training (geometry points and surface anchors uniformly by area,
//! volume anchors laid out around the body like the training meshes' cells, from the checkpoint's
//! template), the model is encoded once, and every query point is streamed through it. Fields
//! come out in the training runs' units and are carried to the requested speed and density by
//! similarity (Cp, Cf, u/U∞ and ωL/U∞ held fixed; Reynolds-number effects are not modelled).

mod body;
mod closed;
mod coefficients;
mod export;
mod report;
mod sampling;
mod sigma;

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::Backend;

use crate::checkpoint;
use crate::data::Normalizer;
use crate::geometry::frontal_area;
use crate::geometry::surface_query::SurfaceQuery;
use crate::model::device::Job;
use crate::model::{AbUpt, Branch, DrawMean, ModelError};
use crate::physics::{Axes, Reference};

use body::Body;
use coefficients::{unit_normal, Similarity, SurfaceIntegrator};
use export::Staging;
use sampling::{AnchorSampler, Queries};
use sigma::Sigma;

pub use closed::open_edges;
pub use report::{Outputs, PredictReport, Summary, Timings};

/// How the reference area is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AreaChoice {
    /// The body's frontal area along the flow axis.
    Auto,
    Value(f64),
}

/// What `slipstream predict` was asked to do.
#[derive(Debug, Clone)]
pub struct PredictJob {
    pub geometry: PathBuf,
    pub checkpoint: PathBuf,
    pub out: PathBuf,
    pub speed_m_s: f64,
    pub density_kg_m3: f64,
    pub area: AreaChoice,
    pub axes: Axes,
    pub surface_points: usize,
    pub volume_points: usize,
    pub volume_mesh: Option<PathBuf>,
    pub chunk: usize,
    pub seed: u64,
    /// Independent anchor draws whose predictions are averaged (as `eval --draws`): each costs
    /// an encode and a decode, and Cd from one draw varies by a few per cent between draws. Their
    /// spread gives σ. `None`: as many as the checkpoint's calibration used (1 without one).
    pub draws: Option<usize>,
    /// Predict bodies outside the checkpoint's shape domain anyway (marked as such).
    pub allow_extrapolation: bool,
    pub picture: bool,
}

fn bad(path: &Path, message: impl std::fmt::Display) -> ModelError {
    ModelError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

impl PredictJob {
    /// The settings that need no file: checked before anything is read.
    fn check_settings(&self) -> Result<Axes, ModelError> {
        for (what, v) in [("speed", self.speed_m_s), ("density", self.density_kg_m3)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(ModelError::Config(format!("--{what} {v} must be positive")));
            }
        }
        if let AreaChoice::Value(a) = self.area {
            if !(a.is_finite() && a > 0.0) {
                return Err(ModelError::Config(format!("--area {a} must be positive")));
            }
        }
        Ok(self.axes)
    }

    /// The reference area: as given, or the body's frontal area along the flow.
    fn area_m2(&self, body: &Body, axes: Axes) -> Result<f64, ModelError> {
        match self.area {
            AreaChoice::Value(a) => Ok(a),
            AreaChoice::Auto => {
                let extent = body.bounds.extent();
                let across = extent[axes.up].max(extent[axes.side()]);
                let dir = std::array::from_fn(|k| if k == axes.flow { 1.0 } else { 0.0 });
                Ok(frontal_area(&body.soup, dir, across / 2000.0)
                    .map_err(|e| bad(&self.geometry, e))?
                    .area_m2)
            }
        }
    }
}

/// The raw outputs of every draw at the queries, and their means.
struct DrawOutputs {
    surface: Vec<f32>,
    volume: Vec<f32>,
    /// Each draw's `(surface, volume)`, kept only when there are several (for σ).
    each: Vec<(Vec<f32>, Vec<f32>)>,
}

/// Encodes each of `draws` anchor draws and streams the queries through it.
#[allow(clippy::too_many_arguments)]
fn infer<B: Backend>(
    model: &AbUpt<B>,
    sampler: &AnchorSampler,
    queries: &Queries,
    draws: usize,
    chunk: usize,
    device: &B::Device,
    timings: &mut Timings,
) -> Result<DrawOutputs, ModelError> {
    let frame = model.config().coordinates;
    let to_model = |v: &[[f32; 3]]| frame.to_model_points(v);
    let surface_model = to_model(&queries.surface);
    let volume_model = to_model(&queries.volume);
    let (mut s, mut v) = (DrawMean::default(), DrawMean::default());
    let mut each = Vec::new();
    for draw in 0..draws {
        let t = Instant::now();
        let anchors = sampler.draw(draw as u64);
        let encoded = model.encode_physical(
            &anchors.geometry,
            &anchors.supernodes,
            &anchors.surface,
            &anchors.volume,
            device,
        )?;
        timings.encode += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let s_draw =
            model.decode_chunked(&encoded, Branch::Surface, &surface_model, chunk, |_| {})?;
        let v_draw = if volume_model.is_empty() {
            Vec::new()
        } else {
            model.decode_chunked(&encoded, Branch::Volume, &volume_model, chunk, |_| {})?
        };
        timings.decode += t.elapsed().as_secs_f64();
        s.add(&s_draw);
        v.add(&v_draw);
        if draws > 1 {
            each.push((s_draw, v_draw));
        }
    }
    Ok(DrawOutputs {
        surface: s.mean(),
        volume: v.mean(),
        each,
    })
}

impl Job for PredictJob {
    type Output = PredictReport;

    fn run<B: Backend>(
        self,
        device: &B::Device,
        _backend: &str,
    ) -> Result<PredictReport, ModelError> {
        let started = Instant::now();
        let mut timings = Timings::default();
        let mut warnings = Vec::new();
        let axes = self.check_settings()?;

        // Load: the checkpoint and the body, checked before anything is written; then the output
        // folder, so that a path that cannot be written fails before the work.
        let (model, meta) =
            checkpoint::load_model::<B>(&self.checkpoint, device).map_err(ModelError::job)?;
        let kind = meta.domain.pressure_kind.ok_or_else(|| {
            bad(
                &self.checkpoint,
                "this checkpoint records no training units (retrain it with this version)",
            )
        })?;
        let body = Body::read(&self, &meta, axes, &mut warnings)?;
        let mut staging = Staging::new(&self.out)?;
        timings.load = started.elapsed().as_secs_f64();

        // Sample as in training.
        let t = Instant::now();
        let query = SurfaceQuery::new(&body.soup);
        let sampler = AnchorSampler::new(&body, &query, &meta, &self)?;
        let queries = Queries::new(&body, &query, &self, axes)?;
        timings.sample = t.elapsed().as_secs_f64();

        // Encode and decode.
        let calibration = meta.uncertainty.as_ref();
        let draws = self
            .draws
            .unwrap_or_else(|| calibration.map_or(1, |c| c.draws))
            .max(1);
        let outputs = infer(
            &model,
            &sampler,
            &queries,
            draws,
            self.chunk,
            device,
            &mut timings,
        )?;

        // Physical units at the requested speed and density.
        let t = Instant::now();
        let normalizer = Normalizer::new(&meta.stats);
        // Fields the training data lacked (ShapeNet-Car's wall shear and volume pressure) were
        // masked in training: the model's outputs there are untrained, so they are left out.
        let shear_trained = meta.stats.surface_wall_shear.count > 0;
        let volume_pressure_trained = meta.stats.volume_pressure.count > 0;
        if !shear_trained {
            warnings.push(
                "the checkpoint was trained without wall shear: wall_shear_pa and cf are left \
                 out, and the forces and coefficients are pressure forces only"
                    .into(),
            );
        }
        if !volume_pressure_trained && !queries.volume.is_empty() {
            warnings.push(
                "the checkpoint was trained without volume pressure: the volume has no \
                 pressure_pa or cp"
                    .into(),
            );
        }
        let similarity = Similarity::new(kind, &meta.domain, self.speed_m_s, self.density_kg_m3);
        let reference = Reference {
            density_kg_m3: self.density_kg_m3,
            speed_m_s: self.speed_m_s,
            area_m2: self.area_m2(&body, axes)?,
            length_m: body.length_m,
        };
        let integrator = SurfaceIntegrator {
            soup: &body.soup,
            normals: body.soup.triangles.iter().map(unit_normal).collect(),
            owner: &queries.owner,
            normalizer: &normalizer,
            similarity,
            shear_trained,
            reference,
            axes,
        };
        let answer = integrator.answer(&outputs.surface);
        let sigma = match calibration {
            Some(cal) if !outputs.each.is_empty() => {
                Sigma::of_draws(&outputs.each, cal, &integrator, &normalizer)
            }
            _ => {
                if draws > 1 {
                    warnings.push(
                        "the checkpoint is not calibrated: no σ (slipstream calibrate fits it)"
                            .into(),
                    );
                }
                Sigma::default()
            }
        };

        // Export into the staging folder, then move every file into place.
        staging.write_mesh(
            "surface.vtp",
            &export::surface_mesh(
                &body.mesh,
                &body.soup,
                &integrator.normals,
                &answer,
                &sigma,
                similarity.q_pa,
                shear_trained,
            ),
        )?;
        if !queries.volume.is_empty() {
            let volume = export::volume_mesh(
                &normalizer.volume_fields(&outputs.volume),
                &queries.volume,
                queries.volume_mesh,
                &sigma,
                similarity,
                volume_pressure_trained,
            );
            staging.write_mesh("volume.vtu", &volume)?;
        }
        if self.picture {
            let picture = export::cp_picture(&body.soup, &answer.cp, axes.flow, axes.up);
            staging.write_picture("surface_cp.png", &picture)?;
        }
        let verdict = body.verdict;
        let mut report = PredictReport {
            cd: answer.coefficients.cd,
            cl: answer.coefficients.cl,
            cs: answer.coefficients.cs,
            cd_std: sigma.cd,
            cl_std: sigma.cl,
            in_domain: verdict.as_ref().map(|v| v.in_domain),
            domain_score: verdict.as_ref().map(|v| v.domain_score),
            domain_threshold: verdict.as_ref().map(|v| v.threshold),
            nearest_training_run: verdict.as_ref().map(|v| v.nearest_run.clone()),
            domain_reasons: verdict.map(|v| v.reasons).unwrap_or_default(),
            force_n: answer.forces.force_n,
            pressure_force_n: answer.forces.pressure_force_n,
            shear_force_n: answer.forces.shear_force_n,
            reference,
            outputs: Outputs {
                surface: staging.final_path("surface.vtp"),
                volume: staging.final_path("volume.vtu"),
                summary: Some(self.out.join("summary.json").display().to_string()),
                picture: staging.final_path("surface_cp.png"),
            },
            timings_s: timings,
            surface_points: queries.surface.len(),
            volume_points: queries.volume.len(),
            triangles: body.soup.len(),
            draws,
            warnings,
            checkpoint: self.checkpoint.display().to_string(),
        };
        report.timings_s.export = t.elapsed().as_secs_f64();
        report.timings_s.total = started.elapsed().as_secs_f64();
        let summary = serde_json::to_string_pretty(&report).map_err(ModelError::job)?;
        staging.write_text("summary.json", &summary)?;
        staging.commit()?;
        Ok(report)
    }
}
