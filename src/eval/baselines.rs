//! The baselines that give a checkpoint's scores meaning, all built from its training runs:
//!
//! - `mean_field`: the training split's mean of every channel everywhere; its Cd/Cl are the
//!   training runs' mean coefficients (a constant field has no meaningful force).
//! - `nearest_geometry`: the training run whose CAD surface is closest (symmetric Chamfer
//!   distance of 2,048 resampled points), its fields carried over point by point (nearest
//!   neighbour), its Cd/Cl as the prediction.
//! - `parametric`: Cd and Cl from a ridge regression on the runs' design parameters
//!   ([`super::parametric`]), where the prepared runs carry them.

use std::path::Path;

use super::fields::Fields;
use super::parametric::{NoBaseline, ParametricBaseline};
use crate::data::batch::{Normalizer, VolumeFields};
use crate::data::reading::pick;
use crate::data::{PreparedDataset, PreparedRun, Split};
use crate::geometry::neighbours::PointIndex;
use crate::geometry::sampling::choose_subset;
use crate::model::ModelError;

/// The baselines, fitted to the training runs.
pub(super) struct Baselines<'a> {
    training: &'a [PreparedRun],
    /// Each training run's shape points and their index.
    shapes: Vec<(PointIndex, Vec<[f32; 3]>)>,
    mean_cd: f64,
    mean_cl: f64,
    /// The training statistics' mean of every surface and volume channel.
    mean_surface: [f32; 4],
    mean_volume: [f32; 7],
    /// Why there is none, where the runs carry no usable design parameters.
    pub parametric: Result<ParametricBaseline, NoBaseline>,
}

impl<'a> Baselines<'a> {
    pub fn new(training: &'a [PreparedRun], normalizer: &Normalizer) -> Self {
        Baselines {
            training,
            shapes: training
                .iter()
                .map(|r| {
                    let shape = shape_points(r);
                    (PointIndex::new(&shape), shape)
                })
                .collect(),
            mean_cd: mean_of(training.iter().map(|r| r.meta.cd)),
            mean_cl: mean_of(training.iter().map(|r| r.meta.cl)),
            mean_surface: normalizer.mean_surface(),
            mean_volume: normalizer.mean_volume(),
            parametric: ParametricBaseline::fit(training),
        }
    }

    /// The mean field on `run`'s points, with the training runs' mean Cd and Cl.
    pub fn mean_field(&self, run: &PreparedRun) -> (Fields, f64, f64) {
        let (ms, mv) = (&self.mean_surface, &self.mean_volume);
        let (ns, nv) = (run.surface_len(), run.volume_len());
        // Vorticity is standardised through a signed log: undo it for the mean.
        let vort_mean: Vec<f32> = mv[4..]
            .iter()
            .map(|y| y.signum() * y.abs().exp_m1())
            .collect();
        let fields = Fields {
            surface_pressure: vec![ms[0]; ns],
            surface_shear: ms[1..].repeat(ns),
            volume: VolumeFields {
                pressure: vec![mv[0]; nv],
                velocity: mv[1..4].repeat(nv),
                vorticity: vort_mean.repeat(nv),
            },
        };
        (fields, self.mean_cd, self.mean_cl)
    }

    /// The training run whose shape is nearest `run`'s.
    pub fn nearest(&self, run: &PreparedRun) -> Result<&'a PreparedRun, ModelError> {
        let shape = shape_points(run);
        let shape_index = PointIndex::new(&shape);
        let nearest = self
            .shapes
            .iter()
            .map(|(index, t_shape)| one_sided(&shape, index) + one_sided(t_shape, &shape_index))
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(k, _)| k)
            .ok_or_else(|| ModelError::job("the training split is empty"))?;
        Ok(&self.training[nearest])
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
pub(super) fn transfer(source: &PreparedRun, target: &PreparedRun) -> Fields {
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

/// The training runs the baselines are built from: `--baseline-data`, else the dataset the
/// checkpoint records (`recorded`); gone or without a training split: an error that says so.
pub(super) fn training_runs(dir: &Path, explicit: bool) -> Result<Vec<PreparedRun>, ModelError> {
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
