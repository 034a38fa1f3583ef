//! Splits and normalisation statistics of a prepared dataset, written next to its runs as
//! `splits.json` and `stats.json`.
//!
//! The model trains on per-channel standardised targets (AB-UPT); vorticity spans orders of
//! magnitude, so it is standardised after `sign(ω)·ln(1 + |ω|)`. Statistics come from the training
//! split only, so validation and test runs never leak into them.

use super::schema;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::DataError;
use crate::mesh::hdf5;
use crate::rng::Rng;

/// Run names per split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Splits {
    pub train: Vec<String>,
    pub val: Vec<String>,
    pub test: Vec<String>,
}

impl Splits {
    /// A seeded shuffle of `runs` cut by the `fractions` (train, val, test; normalised). Every
    /// split but train gets at least one run when there are three or more runs.
    pub fn random(runs: &[String], fractions: [f64; 3], seed: u64) -> Splits {
        let mut order: Vec<String> = runs.to_vec();
        order.sort();
        let mut rng = Rng::seed_from(seed);
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let total: f64 = fractions.iter().sum::<f64>().max(1e-12);
        let n = order.len();
        let mut n_val = (fractions[1] / total * n as f64).round() as usize;
        let mut n_test = (fractions[2] / total * n as f64).round() as usize;
        if n >= 3 {
            n_val = n_val.max(usize::from(fractions[1] > 0.0));
            n_test = n_test.max(usize::from(fractions[2] > 0.0));
        }
        let n_test = n_test.min(n);
        let n_val = n_val.min(n - n_test);
        let test = order.split_off(n - n_test);
        let val = order.split_off(order.len() - n_val);
        let mut s = Splits {
            train: order,
            val,
            test,
        };
        s.train.sort();
        s.val.sort();
        s.test.sort();
        s
    }
}

/// Mean and standard deviation per channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelStats {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub count: u64,
}

/// Statistics of every field the model predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetStats {
    pub runs: Vec<String>,
    pub surface_pressure: ChannelStats,
    pub surface_wall_shear: ChannelStats,
    pub volume_velocity: ChannelStats,
    pub volume_pressure: ChannelStats,
    /// Of `sign(ω)·ln(1 + |ω|)`.
    pub volume_vorticity: ChannelStats,
    pub vorticity_transform: String,
}

/// `sign(x)·ln(1 + |x|)`.
pub fn signed_log1p(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p()
}

struct Accumulator {
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    count: u64,
}

impl Accumulator {
    fn new(width: usize) -> Self {
        Accumulator {
            sum: vec![0.0; width],
            sum_sq: vec![0.0; width],
            count: 0,
        }
    }

    fn add(&mut self, values: &[f64], width: usize, transform: fn(f64) -> f64) {
        for row in values.chunks_exact(width) {
            for (c, v) in row.iter().enumerate() {
                let v = transform(*v);
                self.sum[c] += v;
                self.sum_sq[c] += v * v;
            }
            self.count += 1;
        }
    }

    /// Mean and standard deviation; a field no run has gets 0 and 1 (standardising leaves it
    /// as it is, and it is masked wherever it would count).
    fn finish(self) -> ChannelStats {
        let n = self.count.max(1) as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let std = self
            .sum_sq
            .iter()
            .zip(&mean)
            .map(|(sq, m)| match self.count {
                0 => 1.0,
                _ => (sq / n - m * m).max(0.0).sqrt(),
            })
            .collect();
        ChannelStats {
            mean,
            std,
            count: self.count,
        }
    }
}

/// A prepared dataset, its channels, and the transform applied before the statistics.
type FieldSpec = (&'static str, usize, fn(f64) -> f64);

/// Statistics over the prepared runs `dir/<run>.h5` of `runs`.
pub fn compute(dir: &Path, runs: &[String]) -> Result<DatasetStats, DataError> {
    let fields: [FieldSpec; 5] = [
        (schema::SURFACE_PRESSURE, 1, |x| x),
        (schema::SURFACE_WALL_SHEAR, 3, |x| x),
        (schema::VOLUME_VELOCITY, 3, |x| x),
        (schema::VOLUME_PRESSURE, 1, |x| x),
        (schema::VOLUME_VORTICITY, 3, signed_log1p),
    ];
    let mut acc: Vec<Accumulator> = fields.iter().map(|f| Accumulator::new(f.1)).collect();
    for run in runs {
        let path = dir.join(format!("{run}.h5"));
        let attributes = hdf5::read_root_attributes(&path)?;
        let absent =
            super::run::absent_fields(&attributes).map_err(|e| DataError::file(&path, e))?;
        for (k, (name, width, transform)) in fields.iter().enumerate() {
            if absent.iter().any(|a| a == name) {
                continue;
            }
            let d = hdf5::read_dataset(&path, name)?;
            let values: Vec<f64> = d.values.iter_f64().collect();
            if d.components() != *width {
                return Err(DataError::file(
                    &path,
                    format!(
                        "`{name}` has {} components, expected {width}",
                        d.components()
                    ),
                ));
            }
            acc[k].add(&values, *width, *transform);
        }
    }
    let mut it = acc.into_iter().map(Accumulator::finish);
    let mut next = || {
        it.next().unwrap_or(ChannelStats {
            mean: vec![],
            std: vec![],
            count: 0,
        })
    };
    Ok(DatasetStats {
        runs: runs.to_vec(),
        surface_pressure: next(),
        surface_wall_shear: next(),
        volume_velocity: next(),
        volume_pressure: next(),
        volume_vorticity: next(),
        vorticity_transform: "sign(w) * ln(1 + |w|)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::hdf5::H5Writer;

    fn write_run(dir: &Path, name: &str, offset: f32) {
        let mut h = H5Writer::new();
        h.dataset_f32("surface/pressure", &[2], &[offset, offset + 2.0])
            .dataset_f32(
                "surface/wall_shear",
                &[2, 3],
                &[1.0, 2.0, 3.0, 1.0, 2.0, 5.0],
            )
            .dataset_f32("volume/velocity", &[1, 3], &[offset, 0.0, 0.0])
            .dataset_f32("volume/pressure", &[1], &[offset])
            .dataset_f32(
                "volume/vorticity",
                &[1, 3],
                &[
                    (std::f32::consts::E - 1.0),
                    -(std::f32::consts::E - 1.0),
                    0.0,
                ],
            );
        h.write(&dir.join(format!("{name}.h5"))).unwrap();
    }

    #[test]
    fn statistics_use_the_given_runs_and_transform_vorticity() {
        let dir = tempfile::tempdir().unwrap();
        write_run(dir.path(), "run_1", 0.0);
        write_run(dir.path(), "run_2", 10.0);
        write_run(dir.path(), "run_3", 1000.0);
        let s = compute(dir.path(), &["run_1".into(), "run_2".into()]).unwrap();
        // Pressures 0, 2, 10, 12: mean 6, std √26.
        assert!((s.surface_pressure.mean[0] - 6.0).abs() < 1e-9);
        assert!((s.surface_pressure.std[0] - 26f64.sqrt()).abs() < 1e-9);
        assert_eq!(s.surface_wall_shear.mean, vec![1.0, 2.0, 4.0]);
        assert_eq!(s.surface_pressure.count, 4);
        // ln(1 + (e − 1)) = 1, with the sign kept.
        assert!(
            (s.volume_vorticity.mean[0] - 1.0).abs() < 1e-6
                && (s.volume_vorticity.mean[1] + 1.0).abs() < 1e-6
        );
        assert!(compute(dir.path(), &["run_9".into()]).is_err());
    }

    #[test]
    fn absent_fields_are_left_out_of_the_statistics() {
        let dir = tempfile::tempdir().unwrap();
        write_run(dir.path(), "run_1", 0.0);
        // A run without wall shear or volume pressure, saying so, with pressures 10 and 12.
        let mut h = H5Writer::new();
        h.dataset_f32("surface/pressure", &[2], &[10.0, 12.0])
            .dataset_f32("volume/velocity", &[1, 3], &[4.0, 0.0, 0.0])
            .dataset_f32("volume/vorticity", &[1, 3], &[0.0, 0.0, 0.0])
            .attr_text("/", "absent_fields", "surface/wall_shear,volume/pressure");
        h.write(&dir.path().join("run_2.h5")).unwrap();
        let s = compute(dir.path(), &["run_1".into(), "run_2".into()]).unwrap();
        assert_eq!(s.surface_pressure.count, 4);
        assert_eq!(s.surface_wall_shear.count, 2, "run_2's shear is absent");
        assert_eq!(s.surface_wall_shear.mean, vec![1.0, 2.0, 4.0]);
        assert_eq!(s.volume_pressure.count, 1);
        assert_eq!(s.volume_velocity.count, 2);
        // A field no training run has: mean 0, std 1 per channel.
        let alone = compute(dir.path(), &["run_2".into()]).unwrap();
        assert_eq!(alone.surface_wall_shear.count, 0);
        assert_eq!(alone.surface_wall_shear.mean, vec![0.0; 3]);
        assert_eq!(alone.surface_wall_shear.std, vec![1.0; 3]);
        // Only target fields may be absent.
        let mut h = H5Writer::new();
        h.dataset_f32("surface/pressure", &[1], &[1.0]).attr_text(
            "/",
            "absent_fields",
            "surface/area",
        );
        h.write(&dir.path().join("run_3.h5")).unwrap();
        let e = compute(dir.path(), &["run_3".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("surface/area") && e.contains("run_3.h5"), "{e}");
    }

    #[test]
    fn splits_are_seeded_disjoint_and_complete() {
        let runs: Vec<String> = (1..=48).map(|i| format!("run_{i}")).collect();
        let s = Splits::random(&runs, [0.8, 0.1, 0.1], 0);
        assert_eq!(s, Splits::random(&runs, [0.8, 0.1, 0.1], 0));
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (38, 5, 5));
        let mut all: Vec<String> = s
            .train
            .iter()
            .chain(&s.val)
            .chain(&s.test)
            .cloned()
            .collect();
        all.sort();
        let mut want = runs.clone();
        want.sort();
        assert_eq!(all, want);
        let few = Splits::random(&runs[..3], [0.8, 0.1, 0.1], 1);
        assert_eq!((few.train.len(), few.val.len(), few.test.len()), (1, 1, 1));
    }
}
