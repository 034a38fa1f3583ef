//! `slipstream predict`: drag, lift and flow fields of a body from its STL with a trained
//! checkpoint, in physical units, written for ParaView, scripts and people.
//!
//! The geometry is sampled as in training (geometry points and surface anchors uniformly by area,
//! volume anchors laid out around the body like the training meshes' cells, from the checkpoint's
//! template), the model is encoded once, and every query point is streamed through it. Fields
//! come out in the training runs' units and are carried to the requested speed and density by
//! similarity (Cp, Cf, u/U∞ and ωL/U∞ held fixed; Reynolds-number effects are not modelled).

mod closed;
mod report;

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::Backend;

use crate::checkpoint;
use crate::data::Normalizer;
use crate::export::surface_picture;
use crate::geometry::centroid::cell_centres;
use crate::geometry::sampling::{choose_subset, sample_surface};
use crate::geometry::shape_descriptor::soup_descriptor;
use crate::geometry::surface_query::SurfaceQuery;
use crate::geometry::triangles::{triangle_area, triangle_cross, TriangleSoup};
use crate::geometry::volume_sampling::{sample_volume, VolumeSamplingConfig};
use crate::geometry::{bounding_box, frontal_area};
use crate::mesh::{self, Field, Mesh};
use crate::model::device::Job;
use crate::model::uncertainty::{std_of, DrawSpread};
use crate::model::{positions_tensor, Branch, DrawMean, ModelError};
use crate::physics::{coefficients, Axes, Forces, Reference};

pub use closed::open_edges;
pub use report::{Outputs, PredictReport, ReferenceValues, Summary, Timings};

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
    pub flow_axis: String,
    pub up_axis: String,
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

/// Shortest and longest plausible body relative to the training bodies before `predict` refuses:
/// a factor of 50 is not a different car, it is millimetres (or kilometres).
const REFUSE_FACTOR: f64 = 50.0;
/// Outside this factor of the training range the prediction is an extrapolation: warn.
const WARN_FACTOR: f64 = 1.5;

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
        for (what, v) in [("speed", self.speed_m_s), ("density", self.density_kg_m3)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(ModelError::Config(format!("--{what} {v} must be positive")));
            }
        }
        let axes = Axes::parse(&self.flow_axis, &self.up_axis)
            .map_err(|e| ModelError::Config(e.to_string()))?;

        // Load: the checkpoint and the geometry, checked before anything is written.
        let (model, meta) =
            checkpoint::load_model::<B>(&self.checkpoint, device).map_err(ModelError::job)?;
        let domain = &meta.domain;
        let kind_t = domain.pressure_kind.ok_or_else(|| {
            bad(
                &self.checkpoint,
                "this checkpoint records no training units (retrain it with this version)",
            )
        })?;
        let surface_mesh =
            mesh::read_mesh(&self.geometry).map_err(|e| ModelError::Input(e.to_string()))?;
        let mut soup = TriangleSoup::from_mesh(&surface_mesh);
        if soup.is_empty() {
            return Err(bad(
                &self.geometry,
                "no surface triangles: predict needs the body's closed surface (STL or OBJ)",
            ));
        }
        let (open, edges) = open_edges(&soup);
        if open * 100 > edges {
            return Err(bad(
                &self.geometry,
                format!(
                    "not a closed surface: {open} of {edges} edges belong to one triangle only; \
                     the body must be watertight for its forces and for telling outside from inside \
                     (close the holes in your CAD tool)"
                ),
            ));
        } else if open > 0 {
            warnings.push(format!(
                "{open} of {edges} edges are open (small holes); results may suffer near them"
            ));
        }
        // Body by body: one inward-wound part of a file (a wheel, a mirror) must not turn the
        // others inside out.
        match soup.orient_bodies_outward() {
            (0, _) => {}
            (1, 1) => {
                warnings.push("the surface's normals pointed inward; they were flipped".into())
            }
            (flipped, bodies) => warnings.push(format!(
                "{flipped} of the {bodies} bodies in the file had normals pointing inward; they \
                 were flipped"
            )),
        }
        let body = bounding_box(&surface_mesh.points)
            .ok_or_else(|| bad(&self.geometry, "no finite points"))?;
        let extent = body.extent();
        let length = extent[axes.flow];
        let [lo, hi] = domain.body_length_m;
        if length > REFUSE_FACTOR * hi || length < lo / REFUSE_FACTOR {
            return Err(bad(
                &self.geometry,
                format!(
                    "the body is {length:.4} m long along {}, but the model was trained on bodies of \
                     {lo:.3}–{hi:.3} m: is the STL in millimetres? slipstream reads metres",
                    ["x", "y", "z"][axes.flow]
                ),
            ));
        }
        if length > WARN_FACTOR * hi || length < lo / WARN_FACTOR {
            warnings.push(format!(
                "the body is {length:.3} m long, outside the training range {lo:.3}–{hi:.3} m: an extrapolation"
            ));
        }
        if axes.flow != domain.flow_axis || axes.up != domain.up_axis {
            warnings.push(
                "the axes differ from the training data's; the model sees the body as given".into(),
            );
        }
        let verdict = match &domain.shape {
            Some(shape) => {
                let descriptor = soup_descriptor(&soup, axes.flow, axes.up, self.seed)
                    .map_err(|e| bad(&self.geometry, e))?;
                Some(
                    shape
                        .judge(&descriptor)
                        .map_err(|e| bad(&self.checkpoint, e))?,
                )
            }
            None => {
                warnings.push(
                    "the checkpoint records no shape domain: whether this body is like its \
                     training bodies is not checked (slipstream calibrate adds it)"
                        .into(),
                );
                None
            }
        };
        if let Some(v) = verdict.as_ref().filter(|v| !v.in_domain) {
            let what = format!(
                "unlike the bodies the checkpoint was trained on (domain_score {:.2}, accepted up \
                 to {:.2}; nearest training body {}): {}",
                v.domain_score,
                v.threshold,
                v.nearest_run,
                v.reasons.join("; ")
            );
            if !self.allow_extrapolation {
                return Err(ModelError::Input(format!(
                    "{}: {what}. A checkpoint trained on bodies like this one is needed (this one \
                     learnt from `{}`); --allow-extrapolation predicts anyway, marked as such",
                    self.geometry.display(),
                    meta.data
                )));
            }
            warnings.push(format!("EXTRAPOLATION: the body is {what}"));
        }
        timings.load = started.elapsed().as_secs_f64();

        // Sample as in training.
        let t = Instant::now();
        let spec = meta.train.data;
        let query = SurfaceQuery::new(&soup);
        let centre: [f64; 3] = std::array::from_fn(|k| 0.5 * (body.min[k] + body.max[k]));
        let mapped: Vec<[f32; 3]> = domain
            .volume_template
            .iter()
            .map(|q| std::array::from_fn(|k| (centre[k] + length * q[k] as f64) as f32))
            .collect();
        let outside: Vec<[f32; 3]> = mapped
            .iter()
            .zip(query.winding_numbers(&mapped))
            .filter(|(_, w)| *w < 0.5)
            .map(|(p, _)| *p)
            .collect();
        if outside.is_empty() {
            return Err(bad(
                &self.checkpoint,
                "the checkpoint has no volume-anchor template",
            ));
        }
        // One draw of the geometry points, supernodes and anchors; draw 0 uses the seed as given.
        let anchors = |draw: u64| {
            let seed = self.seed.wrapping_add(1000 * draw);
            let geometry = sample_surface(&soup, spec.geometry_points, seed).position;
            let supernodes: Vec<u32> =
                choose_subset(geometry.len(), spec.supernodes, seed.wrapping_add(1))
                    .into_iter()
                    .map(|i| i as u32)
                    .collect();
            let surface_anchors =
                sample_surface(&soup, spec.surface_anchors, seed.wrapping_add(2)).position;
            let volume_anchors: Vec<[f32; 3]> =
                choose_subset(outside.len(), spec.volume_anchors, seed.wrapping_add(3))
                    .into_iter()
                    .map(|i| outside[i])
                    .collect();
            (geometry, supernodes, surface_anchors, volume_anchors)
        };
        // Surface queries: area-weighted samples plus every triangle's centroid, so that every
        // triangle gets a value and large triangles are averaged over their samples.
        let samples = sample_surface(&soup, self.surface_points, self.seed.wrapping_add(4));
        let mut surface_queries: Vec<[f32; 3]> = soup
            .triangles
            .iter()
            .map(|t| std::array::from_fn(|k| (t[0][k] + t[1][k] + t[2][k]) / 3.0))
            .collect();
        let mut owner: Vec<u32> = (0..soup.len() as u32).collect();
        surface_queries.extend_from_slice(&samples.position);
        owner.extend_from_slice(&samples.cell);
        let (volume_queries, volume_target) = match &self.volume_mesh {
            Some(path) => {
                let m = mesh::read_mesh(path).map_err(|e| ModelError::Input(e.to_string()))?;
                (cell_centres(&m), Some(m))
            }
            None => {
                let config = VolumeSamplingConfig {
                    flow_axis: axes.flow,
                    up_axis: axes.up,
                    ..Default::default()
                };
                let v = sample_volume(
                    &soup,
                    &query,
                    self.volume_points,
                    &config,
                    self.seed.wrapping_add(5),
                )
                .map_err(|e| bad(&self.geometry, e))?;
                (v, None)
            }
        };
        timings.sample = t.elapsed().as_secs_f64();

        // Encode and decode.
        let frame = model.config().coordinates;
        let to_model = |v: &[[f32; 3]]| v.iter().map(|p| frame.to_model(*p)).collect::<Vec<_>>();
        let surface_model = to_model(&surface_queries);
        let volume_model = to_model(&volume_queries);
        let calibration = meta.uncertainty.as_ref();
        let draws = self
            .draws
            .unwrap_or_else(|| calibration.map_or(1, |c| c.draws))
            .max(1);
        let (mut s, mut v) = (DrawMean::default(), DrawMean::default());
        let mut each: Vec<(Vec<f32>, Vec<f32>)> = Vec::new();
        for draw in 0..draws {
            let t = Instant::now();
            let (geometry, supernodes, surface_anchors, volume_anchors) = anchors(draw as u64);
            let encoded = model.encode(
                &to_model(&geometry),
                &supernodes,
                positions_tensor::<B>(&to_model(&surface_anchors), device),
                positions_tensor::<B>(&to_model(&volume_anchors), device),
            )?;
            timings.encode += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let s_draw = model.decode_chunked(
                &encoded,
                Branch::Surface,
                &surface_model,
                self.chunk,
                |_| {},
            )?;
            let v_draw = if volume_model.is_empty() {
                Vec::new()
            } else {
                model.decode_chunked(&encoded, Branch::Volume, &volume_model, self.chunk, |_| {})?
            };
            timings.decode += t.elapsed().as_secs_f64();
            s.add(&s_draw);
            v.add(&v_draw);
            if draws > 1 {
                each.push((s_draw, v_draw));
            }
        }
        let (s, v) = (s.mean(), v.mean());

        // Physical units at the requested speed and density.
        let t = Instant::now();
        let normalizer = Normalizer::new(&meta.stats);
        let (p_raw, mut tau_raw) = normalizer.surface_fields(&s);
        // Fields the training data lacked (ShapeNet-Car's wall shear and volume pressure) were
        // masked in training: the model's outputs there are untrained, so they are left out.
        let shear_trained = meta.stats.surface_wall_shear.count > 0;
        let volume_pressure_trained = meta.stats.volume_pressure.count > 0;
        if !shear_trained {
            tau_raw.iter_mut().for_each(|t| *t = 0.0);
            warnings.push(
                "the checkpoint was trained without wall shear: wall_shear_pa and cf are left \
                 out, and the forces and coefficients are pressure forces only"
                    .into(),
            );
        }
        if !volume_pressure_trained && !volume_queries.is_empty() {
            warnings.push(
                "the checkpoint was trained without volume pressure: the volume has no \
                 pressure_pa or cp"
                    .into(),
            );
        }
        let reference_t = Reference {
            density_kg_m3: domain.density_kg_m3,
            speed_m_s: domain.speed_m_s,
            area_m2: 1.0,
            length_m: 1.0,
        };
        // Stored training units → coefficient (Cp, Cf).
        let to_coefficient = kind_t.to_pascal(&reference_t) / reference_t.dynamic_pressure_pa();
        let q = 0.5 * self.density_kg_m3 * self.speed_m_s * self.speed_m_s;
        let velocity_ratio = self.speed_m_s / domain.speed_m_s;
        let n_tri = soup.len();
        let (cp, cf) = triangle_coefficients(&p_raw, &tau_raw, &owner, n_tri, to_coefficient);
        let area_m2 = match self.area {
            AreaChoice::Value(a) if a.is_finite() && a > 0.0 => a,
            AreaChoice::Value(a) => {
                return Err(ModelError::Config(format!("--area {a} must be positive")))
            }
            AreaChoice::Auto => {
                let across = extent[axes.up].max(extent[axes.side()]);
                let dir = std::array::from_fn(|k| if k == axes.flow { 1.0 } else { 0.0 });
                frontal_area(&soup, dir, across / 2000.0)
                    .map_err(|e| bad(&self.geometry, e))?
                    .area_m2
            }
        };
        let reference = Reference {
            density_kg_m3: self.density_kg_m3,
            speed_m_s: self.speed_m_s,
            area_m2,
            length_m: length,
        };
        let tri_normal: Vec<[f64; 3]> = soup.triangles.iter().map(unit_normal).collect();
        let forces = body_forces(&soup, &tri_normal, &cp, &cf, q);
        let c = coefficients(&forces, &reference, axes);

        // σ: the spread of the draws, scaled by the checkpoint's calibration.
        let mut sigma = Sigma::default();
        if let (Some(cal), false) = (calibration, each.is_empty()) {
            let (mut cds, mut cls) = (Vec::new(), Vec::new());
            let (mut cp_spread, mut cf_spread) = (DrawSpread::default(), DrawSpread::default());
            let mut volume_spread = [
                DrawSpread::default(),
                DrawSpread::default(),
                DrawSpread::default(),
            ];
            for (s_draw, v_draw) in &each {
                let (p, tau) = normalizer.surface_fields(s_draw);
                let (cp_d, cf_d) = triangle_coefficients(&p, &tau, &owner, n_tri, to_coefficient);
                let c_d = coefficients(
                    &body_forces(&soup, &tri_normal, &cp_d, &cf_d, q),
                    &reference,
                    axes,
                );
                cds.push(c_d.cd);
                cls.push(c_d.cl);
                cp_spread.add(&cp_d.iter().map(|x| *x as f32).collect::<Vec<_>>());
                cf_spread.add(&cf_d.iter().flatten().map(|x| *x as f32).collect::<Vec<_>>());
                if !v_draw.is_empty() {
                    let f = normalizer.volume_fields(v_draw);
                    let cp_v: Vec<f32> = f
                        .pressure
                        .iter()
                        .map(|x| (*x as f64 * to_coefficient) as f32)
                        .collect();
                    volume_spread[0].add(&cp_v);
                    volume_spread[1].add(&f.velocity);
                    volume_spread[2].add(&f.vorticity);
                }
            }
            let scale =
                |v: Vec<f32>, k: f64| v.into_iter().map(|x| x as f64 * k).collect::<Vec<f64>>();
            sigma = Sigma {
                cd: Some(cal.cd * std_of(&cds)),
                cl: Some(cal.cl * std_of(&cls)),
                cp: scale(cp_spread.std(), cal.field("surface_pressure")),
                cf: scale(cf_spread.vector_std(3), cal.field("surface_wall_shear")),
                volume_cp: scale(volume_spread[0].std(), cal.field("volume_pressure")),
                velocity: scale(
                    volume_spread[1].vector_std(3),
                    cal.field("volume_velocity") * velocity_ratio,
                ),
                vorticity: scale(
                    volume_spread[2].vector_std(3),
                    cal.field("volume_vorticity") * velocity_ratio,
                ),
            };
        } else if draws > 1 {
            warnings.push(
                "the checkpoint is not calibrated: no σ (slipstream calibrate fits it)".into(),
            );
        }

        // Export into a staging folder, then move every file into place.
        std::fs::create_dir_all(&self.out).map_err(|e| ModelError::write(&self.out, e))?;
        let staging = self.out.join(".slipstream-predict.tmp");
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| ModelError::write(&staging, e))?;
        }
        std::fs::create_dir_all(&staging).map_err(|e| ModelError::write(&staging, e))?;
        let mut files: Vec<&str> = Vec::new();

        let mut surface_out = surface_mesh.clone();
        let n_cells = surface_out.n_cells();
        let mut cell_acc = vec![[0.0f64; 10]; n_cells];
        for (k, &cell) in soup.source_cell.iter().enumerate() {
            let a = triangle_area(&soup.triangles[k]).max(1e-300);
            let acc = &mut cell_acc[cell as usize];
            acc[0] += a * cp[k];
            for d in 0..3 {
                acc[1 + d] += a * cf[k][d];
                acc[4 + d] += a * tri_normal[k][d];
            }
            acc[7] += a;
            if !sigma.cp.is_empty() {
                acc[8] += a * sigma.cp[k];
                acc[9] += a * sigma.cf[k];
            }
        }
        let per_cell = |f: &dyn Fn(&[f64; 10]) -> Vec<f32>| -> Vec<f32> {
            cell_acc.iter().flat_map(f).collect()
        };
        let w = |a: &[f64; 10]| a[7].max(1e-300);
        surface_out.point_data.clear();
        let mut surface_fields = vec![
            Field::new_f32(
                "pressure_pa",
                1,
                per_cell(&|a| vec![(a[0] / w(a) * q) as f32]),
            ),
            Field::new_f32("cp", 1, per_cell(&|a| vec![(a[0] / w(a)) as f32])),
            Field::new_f32(
                "wall_shear_pa",
                3,
                per_cell(&|a| (1..4).map(|d| (a[d] / w(a) * q) as f32).collect()),
            ),
            Field::new_f32(
                "cf",
                3,
                per_cell(&|a| (1..4).map(|d| (a[d] / w(a)) as f32).collect()),
            ),
            Field::new_f32(
                "normal",
                3,
                per_cell(&|a| {
                    let n = [a[4], a[5], a[6]];
                    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt().max(1e-300);
                    n.iter().map(|x| (x / len) as f32).collect()
                }),
            ),
        ];
        if !sigma.cp.is_empty() {
            surface_fields.extend([
                Field::new_f32(
                    "pressure_std_pa",
                    1,
                    per_cell(&|a| vec![(a[8] / w(a) * q) as f32]),
                ),
                Field::new_f32("cp_std", 1, per_cell(&|a| vec![(a[8] / w(a)) as f32])),
                Field::new_f32(
                    "wall_shear_std_pa",
                    1,
                    per_cell(&|a| vec![(a[9] / w(a) * q) as f32]),
                ),
            ]);
        }
        if !shear_trained {
            surface_fields.retain(|f| {
                !matches!(
                    f.name.as_str(),
                    "wall_shear_pa" | "cf" | "wall_shear_std_pa"
                )
            });
        }
        surface_out.cell_data = surface_fields;
        mesh::write_mesh(&staging.join("surface.vtp"), &surface_out)
            .map_err(ModelError::write_error)?;
        files.push("surface.vtp");

        if !volume_queries.is_empty() {
            let fields = normalizer.volume_fields(&v);
            let pressure_pa: Vec<f32> = fields
                .pressure
                .iter()
                .map(|p| (*p as f64 * to_coefficient * q) as f32)
                .collect();
            let cp_volume: Vec<f32> = fields
                .pressure
                .iter()
                .map(|p| (*p as f64 * to_coefficient) as f32)
                .collect();
            let velocity: Vec<f32> = fields
                .velocity
                .iter()
                .map(|u| (*u as f64 * velocity_ratio) as f32)
                .collect();
            let vorticity: Vec<f32> = fields
                .vorticity
                .iter()
                .map(|w| (*w as f64 * velocity_ratio) as f32)
                .collect();
            let mut arrays = vec![
                Field::new_f32("pressure_pa", 1, pressure_pa),
                Field::new_f32("cp", 1, cp_volume),
                Field::new_f32("velocity_m_s", 3, velocity),
                Field::new_f32("vorticity_1_s", 3, vorticity),
            ];
            if !sigma.volume_cp.is_empty() {
                let f32s = |v: &[f64], k: f64| v.iter().map(|x| (x * k) as f32).collect::<Vec<_>>();
                arrays.extend([
                    Field::new_f32("pressure_std_pa", 1, f32s(&sigma.volume_cp, q)),
                    Field::new_f32("cp_std", 1, f32s(&sigma.volume_cp, 1.0)),
                    Field::new_f32("velocity_std_m_s", 1, f32s(&sigma.velocity, 1.0)),
                    Field::new_f32("vorticity_std_1_s", 1, f32s(&sigma.vorticity, 1.0)),
                ]);
            }
            if !volume_pressure_trained {
                arrays.retain(|f| {
                    !matches!(
                        f.name.as_str(),
                        "pressure_pa" | "cp" | "pressure_std_pa" | "cp_std"
                    )
                });
            }
            let volume_out = match volume_target {
                Some(mut m) => {
                    m.point_data.clear();
                    m.cell_data = arrays;
                    m
                }
                None => {
                    let mut m = Mesh::point_cloud(volume_queries.clone());
                    m.point_data = arrays;
                    m
                }
            };
            mesh::write_mesh(&staging.join("volume.vtu"), &volume_out)
                .map_err(ModelError::write_error)?;
            files.push("volume.vtu");
        }
        if self.picture {
            let cps: Vec<f32> = cp.iter().map(|x| *x as f32).collect();
            let mut sorted: Vec<f64> = cp.iter().copied().filter(|x| x.is_finite()).collect();
            sorted.sort_by(f64::total_cmp);
            let pick = |f: f64| {
                sorted
                    .get(((sorted.len() as f64 - 1.0) * f) as usize)
                    .copied()
                    .unwrap_or(0.0)
            };
            let bound = pick(0.02).abs().max(pick(0.98).abs()).max(1e-3);
            let picture = surface_picture::render(
                &soup.triangles,
                &cps,
                (-bound, bound),
                "Cp",
                axes.flow,
                axes.up,
            );
            picture
                .save_png(&staging.join("surface_cp.png"))
                .map_err(ModelError::write_error)?;
            files.push("surface_cp.png");
        }
        let path_of = |name: &str| self.out.join(name).display().to_string();
        let outputs = Outputs {
            surface: Some(path_of("surface.vtp")),
            volume: files.contains(&"volume.vtu").then(|| path_of("volume.vtu")),
            summary: Some(path_of("summary.json")),
            picture: files
                .contains(&"surface_cp.png")
                .then(|| path_of("surface_cp.png")),
        };
        let mut report = PredictReport {
            cd: c.cd,
            cl: c.cl,
            cs: c.cs,
            cd_std: sigma.cd,
            cl_std: sigma.cl,
            in_domain: verdict.as_ref().map(|v| v.in_domain),
            domain_score: verdict.as_ref().map(|v| v.domain_score),
            domain_threshold: verdict.as_ref().map(|v| v.threshold),
            nearest_training_run: verdict.as_ref().map(|v| v.nearest_run.clone()),
            domain_reasons: verdict.map(|v| v.reasons).unwrap_or_default(),
            force_n: forces.force_n,
            pressure_force_n: forces.pressure_force_n,
            shear_force_n: forces.shear_force_n,
            reference: ReferenceValues {
                speed_m_s: self.speed_m_s,
                density_kg_m3: self.density_kg_m3,
                area_m2,
                length_m: length,
            },
            outputs,
            timings_s: timings,
            surface_points: surface_queries.len(),
            volume_points: volume_queries.len(),
            triangles: n_tri,
            draws,
            warnings,
            checkpoint: self.checkpoint.display().to_string(),
        };
        report.timings_s.export = t.elapsed().as_secs_f64();
        report.timings_s.total = started.elapsed().as_secs_f64();
        let summary = serde_json::to_string_pretty(&report).map_err(ModelError::job)?;
        std::fs::write(staging.join("summary.json"), summary)
            .map_err(|e| ModelError::write(&staging.join("summary.json"), e))?;
        files.push("summary.json");
        for name in files {
            std::fs::rename(staging.join(name), self.out.join(name))
                .map_err(|e| ModelError::write(&self.out.join(name), e))?;
        }
        std::fs::remove_dir_all(&staging).ok();
        Ok(report)
    }
}

/// σ of a prediction, in coefficients (per triangle on the surface, per point in the volume;
/// vectors as magnitudes); empty without calibrated draws.
#[derive(Debug, Default)]
struct Sigma {
    cd: Option<f64>,
    cl: Option<f64>,
    cp: Vec<f64>,
    cf: Vec<f64>,
    volume_cp: Vec<f64>,
    velocity: Vec<f64>,
    vorticity: Vec<f64>,
}

/// Per triangle, the mean pressure and friction coefficients of the surface queries it owns
/// (`p_raw`, `tau_raw` in the training units, times `to_coefficient`).
fn triangle_coefficients(
    p_raw: &[f32],
    tau_raw: &[f32],
    owner: &[u32],
    n_tri: usize,
    to_coefficient: f64,
) -> (Vec<f64>, Vec<[f64; 3]>) {
    let mut sums = vec![[0.0f64; 4]; n_tri];
    let mut counts = vec![0u32; n_tri];
    for (i, &tri) in owner.iter().enumerate() {
        let tri = tri as usize;
        sums[tri][0] += p_raw[i] as f64 * to_coefficient;
        for k in 0..3 {
            sums[tri][1 + k] += tau_raw[3 * i + k] as f64 * to_coefficient;
        }
        counts[tri] += 1;
    }
    let cp = sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| s[0] / *c as f64)
        .collect();
    let cf = sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| [s[1] / *c as f64, s[2] / *c as f64, s[3] / *c as f64])
        .collect();
    (cp, cf)
}

/// A triangle's unit normal (zero for a degenerate one).
fn unit_normal(t: &crate::geometry::Triangle) -> [f64; 3] {
    let a = triangle_area(t);
    if a > 0.0 {
        triangle_cross(t).map(|x| x / (2.0 * a))
    } else {
        [0.0; 3]
    }
}

/// The force on the body from per-triangle Cp and Cf at dynamic pressure `q` (Pa).
fn body_forces(
    soup: &TriangleSoup,
    normal: &[[f64; 3]],
    cp: &[f64],
    cf: &[[f64; 3]],
    q: f64,
) -> Forces {
    let mut pressure_force = [0.0f64; 3];
    let mut shear_force = [0.0f64; 3];
    for (k, t) in soup.triangles.iter().enumerate() {
        let a = triangle_area(t);
        for d in 0..3 {
            pressure_force[d] += -cp[k] * q * normal[k][d] * a;
            shear_force[d] += cf[k][d] * q * a;
        }
    }
    Forces {
        force_n: std::array::from_fn(|d| pressure_force[d] + shear_force[d]),
        pressure_force_n: pressure_force,
        shear_force_n: shear_force,
        moment_nm: [0.0; 3],
        moment_centre_m: [0.0; 3],
    }
}
