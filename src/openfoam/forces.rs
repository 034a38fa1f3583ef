//! Force coefficients as OpenFOAM's `forceCoeffs` function object writes them, and the
//! convergence judgement `generate` makes from them.

use super::run_error::RunError;
use std::path::Path;

/// Per-iteration coefficients.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coefficients {
    pub iteration: Vec<f64>,
    pub cd: Vec<f64>,
    pub cl: Vec<f64>,
    pub cs: Vec<f64>,
}

/// Means over the final iterations and whether they settled.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Settled {
    pub cd: f64,
    pub cl: f64,
    pub cs: f64,
    /// Standard deviation of Cd over the window.
    pub cd_std: f64,
    /// |mean of the window's second half − mean of its first half| / |mean Cd|.
    pub cd_drift: f64,
    pub window: usize,
    pub converged: bool,
}

/// Reads `coefficient.dat` (v1912: `# Time Cd Cs Cl CmRoll …`; older: `# Time Cm Cd Cl …`),
/// finding the columns by their header names.
pub fn parse(text: &str, path: &Path) -> Result<Coefficients, RunError> {
    let mut columns: Option<(usize, usize, usize, usize)> = None;
    let mut c = Coefficients::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('#') {
            let names: Vec<&str> = header.split_whitespace().collect();
            let find = |want: &str| names.iter().position(|h| h.eq_ignore_ascii_case(want));
            if let (Some(t), Some(d), Some(l)) = (find("Time"), find("Cd"), find("Cl")) {
                columns = Some((t, d, l, find("Cs").unwrap_or(usize::MAX)));
            }
            continue;
        }
        let (t, d, l, s) =
            columns.ok_or_else(|| RunError::file(path, "no `# Time … Cd … Cl` header"))?;
        let values: Vec<f64> = line
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(f64::NAN))
            .collect();
        let get = |i: usize| values.get(i).copied();
        match (get(t), get(d), get(l)) {
            (Some(tv), Some(dv), Some(lv))
                if tv.is_finite() && dv.is_finite() && lv.is_finite() =>
            {
                c.iteration.push(tv);
                c.cd.push(dv);
                c.cl.push(lv);
                c.cs.push(get(s).unwrap_or(0.0));
            }
            _ => {
                return Err(RunError::file(
                    path,
                    format!("line {}: unreadable row `{line}`", n + 1),
                ))
            }
        }
    }
    if c.cd.is_empty() {
        return Err(RunError::file(path, "no coefficient rows"));
    }
    Ok(c)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

impl Coefficients {
    /// Means over the last `window` iterations; converged when Cd's two half-window means differ
    /// by less than `tolerance` (relative).
    pub fn settle(&self, window: usize, tolerance: f64) -> Settled {
        let n = self.cd.len();
        let w = window.clamp(1, n.max(1));
        let tail = |v: &[f64]| v[n - w..].to_vec();
        let (cd, cl, cs) = (tail(&self.cd), tail(&self.cl), tail(&self.cs));
        let m = mean(&cd);
        let std = (cd.iter().map(|x| (x - m).powi(2)).sum::<f64>() / w as f64).sqrt();
        let half = w / 2;
        let drift = if half == 0 {
            f64::INFINITY
        } else {
            (mean(&cd[half..]) - mean(&cd[..half])).abs() / m.abs().max(1e-12)
        };
        Settled {
            cd: m,
            cl: mean(&cl),
            cs: mean(&cs),
            cd_std: std,
            cd_drift: drift,
            window: w,
            converged: n >= window && drift < tolerance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v1912_columns_by_name_and_judges_drift() {
        let mut text =
            String::from("# Force coefficients\n# Time  Cd  Cs  Cl  CmRoll  CmPitch  CmYaw\n");
        for i in 1..=300 {
            let cd = 0.3 + 0.1 * (-(i as f64) / 20.0).exp() + 0.001 * ((i as f64) * 0.7).sin();
            text.push_str(&format!("{i} {cd} 0.001 0.05 0 0 0\n"));
        }
        let c = parse(&text, Path::new("coefficient.dat")).unwrap();
        assert_eq!(c.cd.len(), 300);
        assert_eq!(c.cl[0], 0.05);
        let s = c.settle(100, 0.01);
        assert!((s.cd - 0.3).abs() < 0.002 && s.converged, "{s:?}");
        // Still falling fast over the first 60 iterations: not converged.
        let early = Coefficients {
            iteration: c.iteration[..60].to_vec(),
            cd: c.cd[..60].to_vec(),
            cl: c.cl[..60].to_vec(),
            cs: c.cs[..60].to_vec(),
        };
        assert!(!early.settle(40, 0.01).converged);
        assert!(parse("1 2 3\n", Path::new("x")).is_err());
    }
}
