//! What `slipstream predict` answers: the coefficients with their error bars, the verdict on
//! the shape domain, forces, references, outputs and timings, as JSON (the stable keys of
//! DESIGN.md) and as the text a person reads.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::physics::Reference;

#[derive(Debug, Clone, Serialize, Default)]
pub struct Outputs {
    pub surface: Option<String>,
    pub volume: Option<String>,
    pub summary: Option<String>,
    pub picture: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Timings {
    pub load: f64,
    pub sample: f64,
    pub encode: f64,
    pub decode: f64,
    pub export: f64,
    pub total: f64,
}

/// The result (DESIGN.md "Stable interfaces": `cd`, `cl`, `cs`, `force_n`, `reference`,
/// `outputs`, `timings_s`, `in_domain`, `domain_score`, `cd_std`, `cl_std`; the rest is extra).
#[derive(Debug, Clone, Serialize)]
pub struct PredictReport {
    pub cd: f64,
    pub cl: f64,
    pub cs: f64,
    /// 1σ of Cd and Cl: the spread of the anchor draws times the checkpoint's calibrated factor;
    /// `null` with one draw or an uncalibrated checkpoint.
    pub cd_std: Option<f64>,
    pub cl_std: Option<f64>,
    /// Whether the body is like the checkpoint's training bodies (`null`: the checkpoint has no
    /// shape domain; `slipstream calibrate` adds one).
    pub in_domain: Option<bool>,
    /// Distance to the nearest training body over the training bodies' typical spacing;
    /// accepted up to `domain_threshold`.
    pub domain_score: Option<f64>,
    pub domain_threshold: Option<f64>,
    pub nearest_training_run: Option<String>,
    /// What is unlike the training bodies, in words (empty in the domain).
    pub domain_reasons: Vec<String>,
    pub force_n: [f64; 3],
    pub pressure_force_n: [f64; 3],
    pub shear_force_n: [f64; 3],
    pub reference: Reference,
    pub outputs: Outputs,
    pub timings_s: Timings,
    pub surface_points: usize,
    pub volume_points: usize,
    pub triangles: usize,
    /// Anchor draws averaged (`encode` and `decode` timings are their sums).
    pub draws: usize,
    pub warnings: Vec<String>,
    pub checkpoint: String,
}

impl PredictReport {
    /// The report as text, headed by the geometry's path.
    pub fn summary<'a>(&'a self, geometry: &'a Path) -> Summary<'a> {
        Summary {
            report: self,
            geometry,
        }
    }
}

/// [`PredictReport::summary`]: the report for people.
pub struct Summary<'a> {
    report: &'a PredictReport,
    geometry: &'a Path,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.report;
        let pm = |sigma: Option<f64>| sigma.map_or(String::new(), |s| format!(" ± {s:.4}"));
        writeln!(f, "{}", self.geometry.display())?;
        writeln!(
            f,
            "  Cd {:.4}{}   Cl {:.4}{}   Cs {:.4}{}",
            r.cd,
            pm(r.cd_std),
            r.cl,
            pm(r.cl_std),
            r.cs,
            if r.cd_std.is_some() {
                "   (± 1σ)"
            } else {
                ""
            },
        )?;
        let domain = match (r.in_domain, r.domain_score, r.domain_threshold) {
            (Some(inside), Some(score), Some(limit)) => format!(
                "{} (score {score:.2}, accepted up to {limit:.2}; nearest training body {})",
                if inside {
                    "like the training bodies"
                } else {
                    "OUTSIDE the training bodies: extrapolation"
                },
                r.nearest_training_run.as_deref().unwrap_or("?")
            ),
            _ => "not checked (the checkpoint records no shape domain)".to_string(),
        };
        writeln!(f, "  domain      {domain}")?;
        let v = &r.reference;
        // Coefficient × q∞ A: the force along the drag, lift and side directions.
        let newtons = v.dynamic_pressure_pa() * v.area_m2;
        writeln!(
            f,
            "  force [N]   drag {:.2}   lift {:.2}   side {:.2}   (x {:.2}, y {:.2}, z {:.2})",
            r.cd * newtons,
            r.cl * newtons,
            r.cs * newtons,
            r.force_n[0],
            r.force_n[1],
            r.force_n[2],
        )?;
        writeln!(
            f,
            "  reference   U {} m/s, rho {} kg/m3, A {:.5} m2, L {:.4} m",
            v.speed_m_s, v.density_kg_m3, v.area_m2, v.length_m
        )?;
        writeln!(
            f,
            "  points      {} surface ({} triangles), {} volume",
            r.surface_points, r.triangles, r.volume_points
        )?;
        let t = &r.timings_s;
        writeln!(
            f,
            "  time [s]    load {:.2}, sample {:.2}, encode {:.2}, decode {:.2}, export {:.2}, total {:.2}",
            t.load, t.sample, t.encode, t.decode, t.export, t.total
        )?;
        let o = &r.outputs;
        let written: Vec<&str> = [&o.surface, &o.volume, &o.summary, &o.picture]
            .iter()
            .filter_map(|p| p.as_deref())
            .collect();
        write!(f, "  wrote       {}", written.join(", "))
    }
}
