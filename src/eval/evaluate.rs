//! `slipstream eval`: a checkpoint's predictions on every point of a split's prepared runs,
//! scored against the truth next to baselines that give the numbers meaning, all built from the
//! checkpoint's own training runs.
//!
//! - The model: anchors drawn from the run as in training, every surface and volume point of the
//!   prepared run decoded by streaming inference, fields de-standardised into the run's units.
//! - `mean_field`: the training split's mean of every channel everywhere; its Cd/Cl are the
//!   training runs' mean coefficients (a constant field has no meaningful force).
//! - `nearest_geometry`: the training run whose CAD surface is closest (symmetric Chamfer
//!   distance of 2,048 resampled points), its fields carried over point by point (nearest
//!   neighbour), its Cd/Cl as the prediction.
//! - `parametric`: Cd and Cl from a ridge regression on the runs' design parameters
//!   ([`super::parametric`]), where the prepared runs carry them; left out with a note otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::Backend;

use super::metrics::{mse, relative_l2, scalar_metrics};
use super::parametric::ParametricBaseline;
use super::report::{EvalReport, FieldMetrics, MethodReport, RunReport};
use super::uncertainty::{Checking, FieldSpread, RunSpread};
use crate::checkpoint;
use crate::data::batch::{batch_for_run, Normalizer, VolumeFields};
use crate::data::dataset::{load_runs, RunSet};
use crate::data::reading::pick;
use crate::data::{PreparedDataset, PreparedRun, Split};
use crate::geometry::neighbours::PointIndex;
use crate::geometry::sampling::choose_subset;
use crate::model::device::Job;
use crate::model::uncertainty::{std_of, DrawSpread};
use crate::model::{positions_tensor, AbUpt, Branch, DrawMean, ModelError};
use crate::physics::{coefficients, integrate};
use crate::progress::Progress;
use crate::rng::Rng;

/// What `slipstream eval` was asked to do.
#[derive(Debug, Clone)]
pub struct EvalJob {
    pub checkpoint: PathBuf,
    /// The prepared dataset (default: the one the checkpoint was trained on).
    pub data: Option<PathBuf>,
    /// Which of its runs to score.
    pub runs: RunSet,
    /// The prepared dataset whose training split the baselines come from (default: the one the
    /// checkpoint records it was trained on, so that scoring someone else's runs compares the
    /// model with baselines from the same data it learnt from).
    pub baseline_data: Option<PathBuf>,
    /// Query points decoded at once.
    pub chunk: usize,
    pub seed: u64,
    /// Anchors per branch at inference (default: as trained). More anchors give the
    /// attention a denser picture of the flow and a steadier prediction.
    pub anchors: Option<usize>,
    /// Independent anchor draws whose standardised predictions are averaged; each draw
    /// sees a different subset of the geometry, so averaging removes sampling noise.
    pub draws: usize,
    /// Folder for each run's truth, prediction and error as VTK point clouds.
    pub fields_out: Option<PathBuf>,
    /// Where each scored run is reported.
    pub progress: Progress,
}

/// Fields physical, row-major, for one run.
#[derive(Debug, Clone)]
pub(super) struct Fields {
    pub(super) surface_pressure: Vec<f32>,
    pub(super) surface_shear: Vec<f32>,
    volume: VolumeFields,
}

impl Fields {
    fn truth(run: &PreparedRun) -> Self {
        Fields {
            surface_pressure: run.surface_pressure.clone(),
            surface_shear: run.surface_wall_shear.clone(),
            volume: VolumeFields {
                pressure: run.volume_pressure.clone(),
                velocity: run.volume_velocity.clone(),
                vorticity: run.volume_vorticity.clone(),
            },
        }
    }
}

/// Accumulates per-run field scores of one method.
#[derive(Default)]
struct Scores {
    per_field: BTreeMap<String, Vec<(f64, f64, Option<f64>)>>,
    cd: Vec<f64>,
    cl: Vec<f64>,
}

impl Scores {
    /// Scores `pred` against `truth` on `run`; returns the relative L2 per field.
    fn add(
        &mut self,
        run: &PreparedRun,
        normalizer: &Normalizer,
        pred: &Fields,
        truth: &Fields,
        cd: f64,
        cl: f64,
    ) -> BTreeMap<String, f64> {
        let std_pred_s =
            normalizer.standardise_surface(&pred.surface_pressure, &pred.surface_shear);
        let std_true_s =
            normalizer.standardise_surface(&truth.surface_pressure, &truth.surface_shear);
        let std_pred_v = normalizer.standardise_volume(&pred.volume);
        let std_true_v = normalizer.standardise_volume(&truth.volume);
        let area = Some(run.surface_area.as_slice());
        let channels = |v: &[f32], width: usize, from: usize, count: usize| {
            v.chunks_exact(width)
                .flat_map(|r| r[from..from + count].iter().copied())
                .collect::<Vec<f32>>()
        };
        let component = |v: &[f32], k: usize| channels(v, 3, k, 1);
        let mut entries: Vec<(String, f64, f64, Option<f64>)> = vec![
            (
                "surface_pressure".into(),
                relative_l2(&pred.surface_pressure, &truth.surface_pressure, 1, None),
                mse(
                    &channels(&std_pred_s, 4, 0, 1),
                    &channels(&std_true_s, 4, 0, 1),
                ),
                Some(relative_l2(
                    &pred.surface_pressure,
                    &truth.surface_pressure,
                    1,
                    area,
                )),
            ),
            (
                "surface_wall_shear".into(),
                relative_l2(&pred.surface_shear, &truth.surface_shear, 3, None),
                mse(
                    &channels(&std_pred_s, 4, 1, 3),
                    &channels(&std_true_s, 4, 1, 3),
                ),
                Some(relative_l2(
                    &pred.surface_shear,
                    &truth.surface_shear,
                    3,
                    area,
                )),
            ),
        ];
        for (k, axis) in ["x", "y", "z"].iter().enumerate() {
            entries.push((
                format!("surface_wall_shear_{axis}"),
                relative_l2(
                    &component(&pred.surface_shear, k),
                    &component(&truth.surface_shear, k),
                    1,
                    None,
                ),
                mse(
                    &channels(&std_pred_s, 4, 1 + k, 1),
                    &channels(&std_true_s, 4, 1 + k, 1),
                ),
                None,
            ));
        }
        entries.extend([
            (
                "volume_pressure".to_string(),
                relative_l2(&pred.volume.pressure, &truth.volume.pressure, 1, None),
                mse(
                    &channels(&std_pred_v, 7, 0, 1),
                    &channels(&std_true_v, 7, 0, 1),
                ),
                None,
            ),
            (
                "volume_velocity".to_string(),
                relative_l2(&pred.volume.velocity, &truth.volume.velocity, 3, None),
                mse(
                    &channels(&std_pred_v, 7, 1, 3),
                    &channels(&std_true_v, 7, 1, 3),
                ),
                None,
            ),
            (
                "volume_vorticity".to_string(),
                relative_l2(&pred.volume.vorticity, &truth.volume.vorticity, 3, None),
                mse(
                    &channels(&std_pred_v, 7, 4, 3),
                    &channels(&std_true_v, 7, 4, 3),
                ),
                None,
            ),
        ]);
        // Fields the run's dataset lacks are not scored (their zeros are placeholders).
        entries.retain(|(name, ..)| {
            !run.meta
                .absent
                .iter()
                .any(|a| name.starts_with(&a.replace('/', "_")))
        });
        let mut rel = BTreeMap::new();
        for (name, r, m, a) in entries {
            rel.insert(name.clone(), r);
            self.per_field.entry(name).or_default().push((r, m, a));
        }
        self.cd.push(cd);
        self.cl.push(cl);
        rel
    }

    /// A method that predicts coefficients only (the parametric baseline); NaN: no prediction.
    fn add_coefficients(&mut self, cd: f64, cl: f64) {
        self.cd.push(cd);
        self.cl.push(cl);
    }

    fn finish(self, cd_true: &[Option<f64>], cl_true: &[Option<f64>]) -> MethodReport {
        let mean = |v: &mut dyn Iterator<Item = f64>| {
            let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
            s / n.max(1) as f64
        };
        let fields = self
            .per_field
            .into_iter()
            .map(|(name, v)| {
                let area: Vec<f64> = v.iter().filter_map(|x| x.2).collect();
                (
                    name,
                    FieldMetrics {
                        rel_l2: mean(&mut v.iter().map(|x| x.0)),
                        mse: mean(&mut v.iter().map(|x| x.1)),
                        rel_l2_area_weighted: (!area.is_empty())
                            .then(|| mean(&mut area.iter().copied())),
                    },
                )
            })
            .collect();
        // Scored over the runs with a ground truth (and a finite prediction: a baseline has none
        // when the training runs lack force tables); absent when there are none.
        let mut coefficients = BTreeMap::new();
        for (name, pred, truth) in [("cd", &self.cd, cd_true), ("cl", &self.cl, cl_true)] {
            let (p, t): (Vec<f64>, Vec<f64>) = pred
                .iter()
                .zip(truth)
                .filter_map(|(p, t)| {
                    t.filter(|t| t.is_finite() && p.is_finite())
                        .map(|t| (*p, t))
                })
                .unzip();
            if !t.is_empty() {
                coefficients.insert(name.to_string(), scalar_metrics(&p, &t));
            }
        }
        MethodReport {
            fields,
            coefficients,
        }
    }
}

/// A cheap shape descriptor: a fixed subsample of the resampled CAD surface.
fn shape_points(run: &PreparedRun) -> Vec<[f32; 3]> {
    let n = run.geometry_position.len() / 3;
    choose_subset(n, 2048, 0)
        .into_iter()
        .map(|r| {
            let g = &run.geometry_position;
            [g[3 * r], g[3 * r + 1], g[3 * r + 2]]
        })
        .collect()
}

/// Mean distance from each of `a` to its nearest in `b`'s index.
fn one_sided(a: &[[f32; 3]], b: &PointIndex) -> f64 {
    let n = b.nearest_batch(a, 1);
    n.distance_m.iter().map(|d| *d as f64).sum::<f64>() / a.len().max(1) as f64
}

/// For each of `queries` (row-major `[N·3]`), the nearest row of `points`.
fn nearest_rows(points: &[f32], queries: &[f32]) -> Vec<usize> {
    let to3 = |v: &[f32]| {
        v.chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect::<Vec<_>>()
    };
    let index = PointIndex::new(&to3(points));
    index
        .nearest_batch(&to3(queries), 1)
        .index
        .into_iter()
        .map(|i| i as usize)
        .collect()
}

/// The fields of `source` carried to the points of `target` by nearest neighbour.
fn transfer(source: &PreparedRun, target: &PreparedRun) -> Fields {
    let s = nearest_rows(&source.surface_position, &target.surface_position);
    let v = nearest_rows(&source.volume_position, &target.volume_position);
    Fields {
        surface_pressure: pick(&source.surface_pressure, 1, &s),
        surface_shear: pick(&source.surface_wall_shear, 3, &s),
        volume: VolumeFields {
            pressure: pick(&source.volume_pressure, 1, &v),
            velocity: pick(&source.volume_velocity, 3, &v),
            vorticity: pick(&source.volume_vorticity, 3, &v),
        },
    }
}

/// The model's fields on every point of `run`: the mean of `draws` predictions, each from
/// its own draw of anchors, geometry points and supernodes; and each draw's own fields (for the
/// spread between them).
#[allow(clippy::too_many_arguments)]
fn predict<B: Backend>(
    model: &AbUpt<B>,
    normalizer: &Normalizer,
    spec: &crate::data::BatchSpec,
    run: &PreparedRun,
    rng: &mut Rng,
    draws: usize,
    chunk: usize,
    device: &B::Device,
) -> Result<(Fields, Vec<Fields>), ModelError> {
    let frame = model.config().coordinates;
    let points = |v: &[f32]| {
        v.chunks_exact(3)
            .map(|p| frame.to_model([p[0], p[1], p[2]]))
            .collect::<Vec<_>>()
    };
    let (surface_points, volume_points) =
        (points(&run.surface_position), points(&run.volume_position));
    let (mut s, mut v) = (DrawMean::default(), DrawMean::default());
    let mut each = Vec::with_capacity(draws);
    for _ in 0..draws.max(1) {
        let anchors = batch_for_run(run, normalizer, spec, rng, 0);
        let encoded = model.encode(
            &frame.to_model_points(&anchors.geometry_m),
            &anchors.supernodes,
            positions_tensor::<B>(&frame.to_model_points(&anchors.surface_m), device),
            positions_tensor::<B>(&frame.to_model_points(&anchors.volume_m), device),
        )?;
        let ds = model.decode_chunked(&encoded, Branch::Surface, &surface_points, chunk, |_| {})?;
        let dv = model.decode_chunked(&encoded, Branch::Volume, &volume_points, chunk, |_| {})?;
        s.add(&ds);
        v.add(&dv);
        if draws > 1 {
            each.push(physical(normalizer, &ds, &dv));
        }
    }
    Ok((physical(normalizer, &s.mean(), &v.mean()), each))
}

/// How a checkpoint predicts the runs it is scored or calibrated on: run `i` of a split gets
/// the anchors of random stream `(seed, i)`, `draws` of them averaged.
pub(super) struct RunPredictor<'a, B: Backend> {
    pub model: &'a AbUpt<B>,
    pub normalizer: &'a Normalizer,
    pub spec: crate::data::BatchSpec,
    pub draws: usize,
    pub chunk: usize,
    pub seed: u64,
}

/// A run's prediction: the mean fields, each draw's fields (none with one draw) and the mean
/// fields' drag and lift.
pub(super) struct Prediction {
    pub fields: Fields,
    pub draws: Vec<Fields>,
    pub coefficients: RunCoefficients,
}

impl<B: Backend> RunPredictor<'_, B> {
    pub(super) fn predict(
        &self,
        index: usize,
        run: &PreparedRun,
        device: &B::Device,
    ) -> Result<Prediction, ModelError> {
        let mut rng = Rng::stream(self.seed, index as u64);
        let (fields, draws) = predict(
            self.model,
            self.normalizer,
            &self.spec,
            run,
            &mut rng,
            self.draws,
            self.chunk,
            device,
        )?;
        let coefficients = coefficients_of(run, &fields.surface_pressure, &fields.surface_shear)?;
        Ok(Prediction {
            fields,
            draws,
            coefficients,
        })
    }
}

/// Standardised model outputs in the run's units.
fn physical(normalizer: &Normalizer, surface: &[f32], volume: &[f32]) -> Fields {
    let (surface_pressure, surface_shear) = normalizer.surface_fields(surface);
    Fields {
        surface_pressure,
        surface_shear,
        volume: normalizer.volume_fields(volume),
    }
}

/// The spread of the draws' predictions on `run` against the errors of their mean `pred`:
/// per point (vectors as magnitudes) and for Cd and Cl. Fields the run lacks are left out.
pub(super) fn run_spread(
    run: &PreparedRun,
    draws: &[Fields],
    pred: &Fields,
    predicted: &RunCoefficients,
) -> Result<RunSpread, ModelError> {
    let mut cd = Vec::with_capacity(draws.len());
    let mut cl = Vec::with_capacity(draws.len());
    for d in draws {
        let c = coefficients_of(run, &d.surface_pressure, &d.surface_shear)?;
        cd.push(c.cd);
        cl.push(c.cl);
    }
    let spread = |get: &dyn Fn(&Fields) -> &[f32], width: usize| {
        let mut s = DrawSpread::default();
        draws.iter().for_each(|d| s.add(get(d)));
        s.vector_std(width)
    };
    let magnitude = |v: &[f32], width: usize| -> Vec<f32> {
        v.chunks_exact(width)
            .map(|c| c.iter().map(|x| x * x).sum::<f32>().sqrt())
            .collect()
    };
    let error = |p: &[f32], t: &[f32], width: usize| -> Vec<f32> {
        let d: Vec<f32> = p.iter().zip(t).map(|(a, b)| a - b).collect();
        magnitude(&d, width)
    };
    let truth = Fields::truth(run);
    type Get = fn(&Fields) -> &[f32];
    let table: [(&'static str, Get, usize); 5] = [
        ("surface_pressure", |f| &f.surface_pressure, 1),
        ("surface_wall_shear", |f| &f.surface_shear, 3),
        ("volume_pressure", |f| &f.volume.pressure, 1),
        ("volume_velocity", |f| &f.volume.velocity, 3),
        ("volume_vorticity", |f| &f.volume.vorticity, 3),
    ];
    let fields = table
        .into_iter()
        .filter(|(name, ..)| {
            !run.meta
                .absent
                .iter()
                .any(|a| name.starts_with(&a.replace('/', "_")))
        })
        .map(|(name, get, width)| FieldSpread {
            name,
            spread: spread(&get, width),
            error: error(get(pred), get(&truth), width),
            truth: magnitude(get(&truth), width),
        })
        .collect();
    Ok(RunSpread {
        cd: run.meta.cd.map(|t| (predicted.cd - t, std_of(&cd))),
        cl: run.meta.cl.map(|t| (predicted.cl - t, std_of(&cl))),
        fields,
    })
}

/// `DIR/<run>_surface.vtp` and `DIR/<run>_volume.vtu`: point clouds at the prepared cell
/// centres carrying each field's truth, prediction and prediction − truth, in the run's units,
/// so that ParaView shows where a checkpoint goes wrong.
fn write_fields(
    dir: &Path,
    run: &PreparedRun,
    pred: &Fields,
    truth: &Fields,
) -> Result<(), ModelError> {
    use crate::mesh::{write_mesh, Field, Mesh};
    std::fs::create_dir_all(dir).map_err(|e| ModelError::write(dir, e))?;
    let points = |v: &[f32]| {
        v.chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect::<Vec<_>>()
    };
    let triple = |name: &str, components: usize, p: &[f32], t: &[f32]| {
        let error = p.iter().zip(t).map(|(a, b)| a - b).collect();
        [
            Field::new_f32(name, components, t.to_vec()),
            Field::new_f32(format!("{name}_pred"), components, p.to_vec()),
            Field::new_f32(format!("{name}_error"), components, error),
        ]
    };
    let mut surface = Mesh::point_cloud(points(&run.surface_position));
    surface.point_data.extend(triple(
        "pressure",
        1,
        &pred.surface_pressure,
        &truth.surface_pressure,
    ));
    surface.point_data.extend(triple(
        "wall_shear",
        3,
        &pred.surface_shear,
        &truth.surface_shear,
    ));
    surface
        .point_data
        .push(Field::new_f32("normal", 3, run.surface_normal.clone()));
    surface
        .point_data
        .push(Field::new_f32("area_m2", 1, run.surface_area.clone()));
    let mut volume = Mesh::point_cloud(points(&run.volume_position));
    let (p, t) = (&pred.volume, &truth.volume);
    volume
        .point_data
        .extend(triple("pressure", 1, &p.pressure, &t.pressure));
    volume
        .point_data
        .extend(triple("velocity", 3, &p.velocity, &t.velocity));
    volume
        .point_data
        .extend(triple("vorticity", 3, &p.vorticity, &t.vorticity));
    for (file, mesh) in [("surface.vtp", &surface), ("volume.vtu", &volume)] {
        let path = dir.join(format!("{}_{file}", run.name));
        write_mesh(&path, mesh).map_err(ModelError::write_error)?;
    }
    Ok(())
}

/// Drag and lift of surface fields on `run`, with drag split into its pressure and friction parts.
pub(super) struct RunCoefficients {
    cd: f64,
    cl: f64,
    cd_pressure: f64,
    cd_friction: f64,
}

fn coefficients_of(
    run: &PreparedRun,
    pressure: &[f32],
    shear: &[f32],
) -> Result<RunCoefficients, ModelError> {
    let m = &run.meta;
    let f = integrate(
        &run.loads_with(pressure, shear),
        m.pressure_kind,
        &m.reference,
        [0.0; 3],
    )
    .map_err(|e| ModelError::job(format!("{}: {e}", run.name)))?;
    let c = coefficients(&f, &m.reference, m.axes);
    let q_a = m.reference.dynamic_pressure_pa() * m.reference.area_m2;
    Ok(RunCoefficients {
        cd: c.cd,
        cl: c.cl,
        cd_pressure: f.pressure_force_n[m.axes.flow] / q_a,
        cd_friction: f.shear_force_n[m.axes.flow] / q_a,
    })
}

impl Job for EvalJob {
    type Output = EvalReport;

    fn run<B: Backend>(self, device: &B::Device, _backend: &str) -> Result<EvalReport, ModelError> {
        let (model, meta) =
            checkpoint::load_model::<B>(&self.checkpoint, device).map_err(ModelError::job)?;
        let data_dir = self
            .data
            .clone()
            .unwrap_or_else(|| PathBuf::from(&meta.data));
        let names = self.runs.resolve(&data_dir).map_err(ModelError::job)?;
        let runs = load_runs(&data_dir, &names).map_err(ModelError::job)?;
        let baseline_dir = self
            .baseline_data
            .clone()
            .unwrap_or_else(|| PathBuf::from(&meta.data));
        let training = training_runs(&baseline_dir, self.baseline_data.is_some())?;
        // The checkpoint's statistics, not the folder's: they define the model's outputs.
        let normalizer = Normalizer::new(&meta.stats);
        let mut spec = meta.train.data;
        if let Some(n) = self.anchors {
            spec.surface_anchors = n;
            spec.volume_anchors = n;
        }
        let mean_cd = mean_of(training.iter().map(|r| r.meta.cd));
        let mean_cl = mean_of(training.iter().map(|r| r.meta.cl));
        let training_shapes: Vec<(PointIndex, Vec<[f32; 3]>)> = training
            .iter()
            .map(|r| {
                let shape = shape_points(r);
                (PointIndex::new(&shape), shape)
            })
            .collect();
        let ms = normalizer.mean_surface();
        let mv = normalizer.mean_volume();
        let parametric = ParametricBaseline::fit(&training);
        let mut parametric_scores = Scores::default();
        let mut without_parameters = 0usize;

        let (mut model_scores, mut mean_scores, mut nearest_scores) =
            (Scores::default(), Scores::default(), Scores::default());
        let (mut cd_true, mut cl_true) = (Vec::new(), Vec::new());
        let mut per_run = Vec::new();
        let mut checking = Checking::default();
        let predictor = RunPredictor {
            model: &model,
            normalizer: &normalizer,
            spec,
            draws: self.draws,
            chunk: self.chunk,
            seed: self.seed,
        };
        self.progress.start("evaluating", runs.len() as u64);
        for (i, run) in runs.iter().enumerate() {
            let started = Instant::now();
            let (truth_cd, truth_cl) = (run.meta.cd, run.meta.cl);
            cd_true.push(truth_cd);
            cl_true.push(truth_cl);
            let truth = Fields::truth(run);
            let from_truth = coefficients_of(run, &run.surface_pressure, &run.surface_wall_shear)?;

            let Prediction {
                fields: pred,
                draws,
                coefficients: predicted,
            } = predictor.predict(i, run, device)?;
            let (cd, cl) = (predicted.cd, predicted.cl);
            let mut sigma = (None, None);
            if !draws.is_empty() {
                let spread = run_spread(run, &draws, &pred, &predicted)?;
                let factor = |k: f64, s: Option<(f64, f64)>| s.map(|(_, s)| k * s);
                let c = meta.uncertainty.as_ref();
                sigma = (
                    factor(c.map_or(1.0, |c| c.cd), spread.cd),
                    factor(c.map_or(1.0, |c| c.cl), spread.cl),
                );
                checking.add(&spread, [truth_cd, truth_cl], c);
            }
            if let Some(dir) = &self.fields_out {
                write_fields(dir, run, &pred, &truth)?;
            }
            let rel = model_scores.add(run, &normalizer, &pred, &truth, cd, cl);

            let (ns, nv) = (run.surface_len(), run.volume_len());
            let vort_mean: Vec<f32> = mv[4..]
                .iter()
                .map(|y| y.signum() * y.abs().exp_m1())
                .collect();
            let mean_fields = Fields {
                surface_pressure: vec![ms[0]; ns],
                surface_shear: ms[1..].repeat(ns),
                volume: VolumeFields {
                    pressure: vec![mv[0]; nv],
                    velocity: mv[1..4].repeat(nv),
                    vorticity: vort_mean.repeat(nv),
                },
            };
            mean_scores.add(run, &normalizer, &mean_fields, &truth, mean_cd, mean_cl);

            let shape = shape_points(run);
            let shape_index = PointIndex::new(&shape);
            let nearest = training_shapes
                .iter()
                .map(|(index, t_shape)| one_sided(&shape, index) + one_sided(t_shape, &shape_index))
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(k, _)| k)
                .ok_or_else(|| ModelError::job("the training split is empty"))?;
            let neighbour = &training[nearest];
            nearest_scores.add(
                run,
                &normalizer,
                &transfer(neighbour, run),
                &truth,
                neighbour.meta.cd.unwrap_or(f64::NAN),
                neighbour.meta.cl.unwrap_or(f64::NAN),
            );
            if let Ok(baseline) = &parametric {
                let (cd, cl) = baseline.predict(run).unwrap_or_else(|| {
                    without_parameters += 1;
                    (f64::NAN, f64::NAN)
                });
                parametric_scores.add_coefficients(cd, cl);
            }
            let seconds = started.elapsed().as_secs_f64();
            self.progress.advance(i as u64 + 1, || {
                format!(
                    "{} ({}/{}): Cd {cd:.4} vs {}, surface p rel L2 {:.2}%, {seconds:.1} s",
                    run.name,
                    i + 1,
                    runs.len(),
                    truth_cd.map_or("n/a (no force table)".to_string(), |t| format!("{t:.4}")),
                    100.0 * rel.get("surface_pressure").copied().unwrap_or(f64::NAN)
                )
            });
            per_run.push(RunReport {
                run: run.name.clone(),
                cd_true: truth_cd,
                cd_pred: cd,
                cd_from_true_fields: from_truth.cd,
                cd_pressure_true: from_truth.cd_pressure,
                cd_pressure_pred: predicted.cd_pressure,
                cd_friction_true: from_truth.cd_friction,
                cd_friction_pred: predicted.cd_friction,
                cl_true: truth_cl,
                cl_pred: cl,
                cd_std: sigma.0,
                cl_std: sigma.1,
                rel_l2: rel,
                nearest_training_run: neighbour.name.clone(),
                seconds,
            });
        }
        let model_report = model_scores.finish(&cd_true, &cl_true);
        let mut baselines = BTreeMap::new();
        baselines.insert(
            "mean_field".to_string(),
            mean_scores.finish(&cd_true, &cl_true),
        );
        baselines.insert(
            "nearest_geometry".to_string(),
            nearest_scores.finish(&cd_true, &cl_true),
        );
        let mut baseline_notes = BTreeMap::new();
        match &parametric {
            Ok(baseline) => {
                baselines.insert(
                    "parametric".to_string(),
                    parametric_scores.finish(&cd_true, &cl_true),
                );
                let mut note = baseline.describe();
                if without_parameters > 0 {
                    note += &format!(
                        "; {without_parameters} of the {} runs scored lack these parameters and \
                         are left out of its scores",
                        runs.len()
                    );
                }
                baseline_notes.insert("parametric".to_string(), note);
            }
            Err(why) => {
                baseline_notes.insert("parametric".to_string(), format!("left out: {why}"));
            }
        }
        self.progress.finish();
        Ok(EvalReport {
            runs: runs.len(),
            split: self.runs.name().to_string(),
            checkpoint: self.checkpoint.display().to_string(),
            data: data_dir.display().to_string(),
            baseline_data: baseline_dir.display().to_string(),
            baseline_notes,
            fields: model_report.fields,
            coefficients: model_report.coefficients,
            baselines,
            per_run,
            uncertainty: (self.draws > 1)
                .then(|| checking.finish(self.draws, meta.uncertainty.is_some())),
        })
    }
}

/// The training runs the baselines are built from: `--baseline-data`, else the dataset the
/// checkpoint records (`recorded`); gone or without a training split: an error that says so.
fn training_runs(dir: &Path, explicit: bool) -> Result<Vec<PreparedRun>, ModelError> {
    let opened = PreparedDataset::open(dir).and_then(|d| d.load(Split::Train));
    opened.map_err(|e| match explicit {
        true => ModelError::job(e),
        false => ModelError::job(format!(
            "the baselines are built from the checkpoint's training data, recorded as `{}`, \
             which cannot be read ({e}); pass --baseline-data DIR with the prepared dataset it \
             was trained on",
            dir.display()
        )),
    })
}

/// The mean of the values present; NaN when none is.
fn mean_of(values: impl Iterator<Item = Option<f64>>) -> f64 {
    let v: Vec<f64> = values.flatten().collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}
