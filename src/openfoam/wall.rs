//! How well a solved run resolved the body's wall, read from OpenFOAM's own outputs: y+ of the
//! first cell (the `yPlus` function object), the prism layers snappyHexMesh managed to add (its
//! log), and the solver's last residuals (its log). A wall function is only valid in its y+
//! range, and layers that collapse leave the friction to the castellated cells, so `run.json`
//! records all three next to the forces.

use super::run_error::RunError;
use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

/// First-cell y+ on one patch at the last written time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct YPlus {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
}

/// Reads the row of `patch` with the largest time from `yPlus.dat` (`# Time patch min max
/// average`, tab or space separated).
pub fn parse_y_plus(text: &str, patch: &str, path: &Path) -> Result<YPlus, RunError> {
    let mut best: Option<(f64, YPlus)> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 5 || fields[1] != patch {
            continue;
        }
        let num = |i: usize| fields[i].parse::<f64>().ok().filter(|v| v.is_finite());
        let (Some(t), Some(min), Some(max), Some(mean)) = (num(0), num(2), num(3), num(4)) else {
            return Err(RunError::file(path, format!("unreadable y+ row `{line}`")));
        };
        if best.as_ref().is_none_or(|(b, _)| t >= *b) {
            best = Some((t, YPlus { min, mean, max }));
        }
    }
    best.map(|(_, y)| y)
        .ok_or_else(|| RunError::file(path, format!("no y+ row for patch `{patch}`")))
}

/// The prism layers snappyHexMesh added on one patch, from the table it prints when it is done.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LayerCoverage {
    /// Faces of the patch.
    pub faces: u64,
    /// Mean number of layers over the patch's faces (the requested number where every face was
    /// extruded; less where layers were removed at edges, corners or for mesh quality).
    pub mean_layers: f64,
    /// Mean thickness of all layers together (m), and as a percentage of the thickness asked for.
    pub thickness_m: f64,
    pub thickness_percent: f64,
}

/// Reads the last table of achieved layers in `log.snappyHexMesh` (v1912: `patch faces layers
/// overall thickness` with `[m]` and `[%]` columns) for `patch`. `None` when the mesh was made
/// without layers (no such table).
pub fn parse_layer_coverage(log: &str, patch: &str) -> Option<LayerCoverage> {
    let lines: Vec<&str> = log.lines().collect();
    let header = lines.iter().rposition(|l| {
        l.trim_start().starts_with("patch")
            && l.contains("layers")
            && l.contains("overall thickness")
    })?;
    let fields: Vec<&str> = lines[header + 1..]
        .iter()
        .take(40)
        .map(|l| l.split_whitespace().collect::<Vec<&str>>())
        .find(|fields| fields.first() == Some(&patch))?;
    let num = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    Some(LayerCoverage {
        faces: fields.get(1)?.parse().ok()?,
        mean_layers: num(2)?,
        thickness_m: num(3)?,
        thickness_percent: num(4)?,
    })
}

/// The last initial residual the solver printed for each solved field (`Solving for Ux, Initial
/// residual = …`), by field name.
pub fn final_residuals(log: &str) -> BTreeMap<String, f64> {
    let mut last = BTreeMap::new();
    for line in log.lines() {
        let Some(rest) = line.split("Solving for ").nth(1) else {
            continue;
        };
        let Some((field, tail)) = rest.split_once(',') else {
            continue;
        };
        let value = tail
            .split("Initial residual = ")
            .nth(1)
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<f64>().ok());
        if let Some(v) = value {
            last.insert(field.trim().to_string(), v);
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn y_plus_takes_the_patch_row_of_the_last_time() {
        let text = "# yPlus ()\n# Time          \tpatch          \tmin            \tmax            \taverage\n\
                    250\tbody\t1.5\t300\t60\n250\tground\t0.1\t20\t5\n500\tground\t0.2\t21\t6\n500\tbody\t2.5\t250.5\t55.25\n";
        let y = parse_y_plus(text, "body", Path::new("yPlus.dat")).unwrap();
        assert_eq!(
            y,
            YPlus {
                min: 2.5,
                mean: 55.25,
                max: 250.5
            }
        );
        let err = parse_y_plus(text, "wing", Path::new("yPlus.dat"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("yPlus.dat") && err.contains("wing"), "{err}");
        assert!(parse_y_plus("1 body x 2 3\n", "body", Path::new("y")).is_err());
    }

    #[test]
    fn layer_coverage_reads_the_table_of_achieved_layers() {
        // As v1912 prints it: the requested layers first, the achieved ones at the end.
        let log = "\
patch faces    layers avg thickness[m]
                     near-wall overall
----- -----    ------ --------- -------
body 5564     3      0.001     0.00364

Layer addition iteration 0
patch faces    layers   overall thickness
                       [m]       [%]
----- -----    ------   ---       ---
ground 10      0        0         0
body 5564     0.407    0.000463  12.7

Layer mesh : cells:41447  faces:135840  points:53309
";
        let c = parse_layer_coverage(log, "body").unwrap();
        assert_eq!(
            c,
            LayerCoverage {
                faces: 5564,
                mean_layers: 0.407,
                thickness_m: 0.000463,
                thickness_percent: 12.7
            }
        );
        assert!(parse_layer_coverage(log, "wing").is_none());
        assert!(parse_layer_coverage("no layers here\n", "body").is_none());
    }

    #[test]
    fn residuals_are_the_last_printed_per_field() {
        let log = "\
smoothSolver:  Solving for Ux, Initial residual = 0.5, Final residual = 0.01, No Iterations 2
GAMG:  Solving for p, Initial residual = 0.2, Final residual = 0.01, No Iterations 5
smoothSolver:  Solving for Ux, Initial residual = 0.004, Final residual = 1e-05, No Iterations 2
GAMG:  Solving for p, Initial residual = 0.0061, Final residual = 0.0004, No Iterations 4
";
        let r = final_residuals(log);
        assert_eq!(r.get("Ux"), Some(&0.004));
        assert_eq!(r.get("p"), Some(&0.0061));
        assert_eq!(r.len(), 2);
    }
}
