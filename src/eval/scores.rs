//! Scores of one method (the model or a baseline) over the runs: relative L2 and standardised
//! MSE per field, and the drag and lift errors.

use std::collections::BTreeMap;

use super::fields::{run_has, Fields};
use super::metrics::{mse, relative_l2, scalar_metrics};
use super::report::{FieldMetrics, MethodReport};
use crate::data::batch::Normalizer;
use crate::data::PreparedRun;

/// Accumulates per-run field scores of one method.
#[derive(Default)]
pub(super) struct Scores {
    per_field: BTreeMap<String, Vec<(f64, f64, Option<f64>)>>,
    cd: Vec<f64>,
    cl: Vec<f64>,
}

impl Scores {
    /// Scores `pred` against `truth` on `run`; returns the relative L2 per field.
    pub(super) fn add(
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
        entries.retain(|(name, ..)| run_has(run, name));
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
    pub(super) fn add_coefficients(&mut self, cd: f64, cl: f64) {
        self.cd.push(cd);
        self.cl.push(cl);
    }

    pub(super) fn finish(self, cd_true: &[Option<f64>], cl_true: &[Option<f64>]) -> MethodReport {
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
