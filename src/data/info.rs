//! `slipstream dataset info`: what a prepared dataset holds (runs per split, points per run,
//! units and reference values, coefficient statistics, size on disk) and which runs are broken.

use std::path::Path;

use serde::Serialize;

use super::dataset::{PreparedDataset, Split};
use super::run::PreparedRun;
use super::DataError;

/// Minimum, mean, maximum and standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
    pub std: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        Some(Summary {
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            mean,
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            std: (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt(),
        })
    }
}

/// A published drag value next to the one integrated from the fields (same runs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PublishedCd {
    pub runs: usize,
    pub published: Summary,
    /// From the prepared surface (pressure, plus friction where the run has wall shear), with
    /// the run's own ρ, U∞ and reference area.
    pub integrated: Summary,
    /// Mean of published / integrated, and the Pearson correlation across runs.
    pub mean_ratio: f64,
    pub correlation: f64,
}

impl PublishedCd {
    fn of(runs: &[PreparedRun]) -> Option<PublishedCd> {
        let pairs: Vec<(f64, f64)> = runs
            .iter()
            .filter_map(|r| {
                let published = r.meta.cd_published?;
                let forces = crate::physics::integrate(
                    &r.loads_with(&r.surface_pressure, &r.surface_wall_shear),
                    r.meta.pressure_kind,
                    &r.meta.reference,
                    [0.0; 3],
                )
                .ok()?;
                let c = crate::physics::coefficients(&forces, &r.meta.reference, r.meta.axes);
                Some((published, c.cd))
            })
            .collect();
        let (published, integrated): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
        let n = pairs.len() as f64;
        let (mp, mi) = (
            published.iter().sum::<f64>() / n,
            integrated.iter().sum::<f64>() / n,
        );
        let cov: f64 = pairs.iter().map(|(p, i)| (p - mp) * (i - mi)).sum();
        let var = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>();
        Some(PublishedCd {
            runs: pairs.len(),
            published: Summary::of(&published)?,
            integrated: Summary::of(&integrated)?,
            mean_ratio: pairs.iter().map(|(p, i)| p / i).sum::<f64>() / n,
            correlation: cov / (var(&published, mp) * var(&integrated, mi)).sqrt(),
        })
    }
}

/// A run that could not be read, and why.
#[derive(Debug, Clone, Serialize)]
pub struct BrokenRun {
    pub run: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatasetInfo {
    pub dir: String,
    pub runs: usize,
    pub train: usize,
    pub val: usize,
    pub test: usize,
    pub size_mb: f64,
    pub pressure_kinds: Vec<String>,
    pub density_kg_m3: Option<Summary>,
    pub speed_m_s: Option<Summary>,
    pub ref_area_m2: Option<Summary>,
    pub ref_length_m: Option<Summary>,
    pub surface_points: Option<Summary>,
    pub volume_points: Option<Summary>,
    pub geometry_points: Option<Summary>,
    pub cd: Option<Summary>,
    pub cl: Option<Summary>,
    /// Where runs carry a published drag value of unknown definition (ShapeNet-Car's `cd.txt`):
    /// it, the Cd integrated from the same runs' prepared surface fields, and how they relate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_cd: Option<PublishedCd>,
    pub fields: Vec<String>,
    /// Target fields some runs lack, with how many runs lack each (masked in training and
    /// evaluation).
    pub absent_fields: std::collections::BTreeMap<String, usize>,
    pub broken: Vec<BrokenRun>,
}

/// Reads every run of the dataset in `dir` and summarises it.
pub fn dataset_info(dir: &Path) -> Result<DatasetInfo, DataError> {
    let dataset = PreparedDataset::open(dir)?;
    let names: Vec<String> = [Split::Train, Split::Val, Split::Test]
        .iter()
        .flat_map(|s| dataset.runs(*s).to_vec())
        .collect();
    let mut runs = Vec::new();
    let mut broken = Vec::new();
    let mut size = 0u64;
    for name in &names {
        let path = dataset.run_path(name);
        size += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        match PreparedRun::read(&path) {
            Ok(r) => runs.push(r),
            Err(e) => broken.push(BrokenRun {
                run: name.clone(),
                reason: e.to_string(),
            }),
        }
    }
    let summary = |f: &dyn Fn(&PreparedRun) -> Option<f64>| {
        Summary::of(&runs.iter().filter_map(f).collect::<Vec<f64>>())
    };
    let mut kinds: Vec<String> = runs
        .iter()
        .map(|r| r.meta.pressure_kind.name().to_string())
        .collect();
    kinds.sort();
    kinds.dedup();
    Ok(DatasetInfo {
        dir: dir.display().to_string(),
        runs: names.len(),
        train: dataset.splits.train.len(),
        val: dataset.splits.val.len(),
        test: dataset.splits.test.len(),
        size_mb: size as f64 / 1e6,
        pressure_kinds: kinds,
        density_kg_m3: summary(&|r| Some(r.meta.reference.density_kg_m3)),
        speed_m_s: summary(&|r| Some(r.meta.reference.speed_m_s)),
        ref_area_m2: summary(&|r| Some(r.meta.reference.area_m2)),
        ref_length_m: summary(&|r| Some(r.meta.reference.length_m)),
        surface_points: summary(&|r| Some(r.surface_len() as f64)),
        volume_points: summary(&|r| Some(r.volume_len() as f64)),
        geometry_points: summary(&|r| Some((r.geometry_position.len() / 3) as f64)),
        cd: summary(&|r| r.meta.cd),
        cl: summary(&|r| r.meta.cl),
        published_cd: PublishedCd::of(&runs),
        fields: [
            "surface/position [N,3] m",
            "surface/normal [N,3] (out of the body)",
            "surface/area [N] m²",
            "surface/pressure [N]",
            "surface/wall_shear [N,3] (traction on the body)",
            "volume/position [M,3] m",
            "volume/velocity [M,3] m/s",
            "volume/pressure [M]",
            "volume/vorticity [M,3] 1/s",
            "geometry/position [K,3] m",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        absent_fields: runs.iter().flat_map(|r| &r.meta.absent).fold(
            std::collections::BTreeMap::new(),
            |mut counts, field| {
                *counts.entry(field.clone()).or_insert(0) += 1;
                counts
            },
        ),
        broken,
    })
}

impl std::fmt::Display for DatasetInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{}: {} runs (train {}, val {}, test {}), {:.1} MB",
            self.dir, self.runs, self.train, self.val, self.test, self.size_mb
        )?;
        writeln!(f, "pressure kind: {}", self.pressure_kinds.join(", "))?;
        let rows: [(&str, &Option<Summary>); 9] = [
            ("density kg/m³", &self.density_kg_m3),
            ("speed m/s", &self.speed_m_s),
            ("reference area m²", &self.ref_area_m2),
            ("reference length m", &self.ref_length_m),
            ("surface points", &self.surface_points),
            ("volume points", &self.volume_points),
            ("geometry points", &self.geometry_points),
            ("Cd", &self.cd),
            ("Cl", &self.cl),
        ];
        for (label, s) in rows {
            if let Some(s) = s {
                writeln!(
                    f,
                    "{label:<20} min {:<12.5} mean {:<12.5} max {:<12.5} std {:.5}",
                    s.min, s.mean, s.max, s.std
                )?;
            }
        }
        if let Some(p) = &self.published_cd {
            writeln!(
                f,
                "published cd (definition unknown) in {} runs: mean {:.5} (min {:.5}, max {:.5}); \
                 Cd integrated from their fields: mean {:.5} (min {:.5}, max {:.5}); \
                 published/integrated {:.3} on average, correlation {:.3}",
                p.runs,
                p.published.mean,
                p.published.min,
                p.published.max,
                p.integrated.mean,
                p.integrated.min,
                p.integrated.max,
                p.mean_ratio,
                p.correlation
            )?;
        }
        writeln!(f, "fields: {}", self.fields.join("; "))?;
        for (field, runs) in &self.absent_fields {
            writeln!(
                f,
                "absent: {field} in {runs} runs (masked out of training and metrics)"
            )?;
        }
        if self.broken.is_empty() {
            writeln!(f, "broken runs: none")
        } else {
            writeln!(f, "broken runs: {}", self.broken.len())?;
            for b in &self.broken {
                writeln!(f, "  {}: {}", b.run, b.reason)?;
            }
            Ok(())
        }
    }
}
