//! The layout `slipstream generate` writes: `run_<i>/` folders with `run.json` (the run's units,
//! references and coefficients), `boundary_<i>.vtp` and `volume_<i>.vtu` as OpenFOAM's
//! `foamToVTK` leaves them, the body's `ahmed_<i>.stl`, and `geo_parameters_<i>.csv`.

use std::path::{Path, PathBuf};

use super::{Layout, RawDataset, Runs};
use crate::data::csv_table::CsvTable;
use crate::data::design_parameters::{from_csv_if_present, from_json, Parameters};
use crate::data::reading::{numbered_runs, read_run, PrepareOptions, RunSources};
use crate::data::{DataError, RunMeta};
use crate::physics::{Axes, PressureKind, Reference};

/// The `slipstream` layout.
pub struct Slipstream;

impl Layout for Slipstream {
    fn name(&self) -> &'static str {
        "slipstream"
    }

    fn open(&self, src: &Path) -> Result<Box<dyn RawDataset>, DataError> {
        Ok(Box::new(Runs {
            runs: numbered_runs(src)?,
            prepare: |dir: &PathBuf, name: &str, out: &Path, opts: &PrepareOptions| {
                prepare_run(dir, name, out, opts)
            },
        }))
    }
}

/// Prepares one run of the `slipstream` layout into `out` (through a temporary file, so a
/// half-written run is never left behind).
fn prepare_run(
    dir: &Path,
    name: &str,
    out: &Path,
    opts: &PrepareOptions,
) -> Result<(usize, usize), DataError> {
    let n: String = name.trim_start_matches("run_").to_string();
    let record_path = dir.join("run.json");
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&record_path).map_err(|e| DataError::read(&record_path, e))?,
    )
    .map_err(|e| DataError::file(&record_path, e.to_string()))?;
    let number = |key: &str| -> Result<f64, DataError> {
        record[key]
            .as_f64()
            .ok_or_else(|| DataError::file(&record_path, format!("no number `{key}`")))
    };
    let text = |key: &str| record[key].as_str().unwrap_or("").to_string();

    // OpenFOAM writes patch faces with normals into the body and wallShearStress as −τ.
    let sources = RunSources {
        surface: dir.join(format!("boundary_{n}.vtp")),
        surface_extra: None,
        volume: dir.join(format!("volume_{n}.vtu")),
        geometry: dir.join(format!("ahmed_{n}.stl")),
        surface_pressure: "p",
        surface_wall_shear: Some("wallShearStress"),
        shear_negated: true,
        normals_into_body: true,
        volume_velocity: "U",
        volume_pressure: Some("p"),
        volume_vorticity: Some("vorticity"),
    };
    let bad = |e: crate::physics::PhysicsError| DataError::file(&record_path, e);
    let reference = Reference {
        density_kg_m3: number("density_kg_m3")?,
        speed_m_s: number("speed_m_s")?,
        area_m2: number("ref_area_m2")?,
        length_m: number("ref_length_m")?,
    };
    let [cd, cl, cs] = slipstream_coefficients(&record, &record_path, dir, &n)?;
    let meta = RunMeta {
        cd,
        cl,
        cs,
        parameters: slipstream_parameters(&record, dir, &n)?,
        ..RunMeta::new(
            "slipstream",
            PressureKind::parse(&text("pressure_kind")).map_err(bad)?,
            reference,
            Axes::parse(&text("flow_axis"), &text("up_axis")).map_err(bad)?,
        )
    };
    let run = read_run(&sources, opts, name, meta)?;
    run.write(out)?;
    Ok((run.surface_len(), run.volume_len()))
}

/// cd, cl and cs of a generated run: from `run.json` when it has all three, else from
/// `force_mom_<i>.csv` (where the layout guarantees them); neither: an error naming both files.
fn slipstream_coefficients(
    record: &serde_json::Value,
    record_path: &Path,
    dir: &Path,
    n: &str,
) -> Result<[Option<f64>; 3], DataError> {
    let from_record = ["cd", "cl", "cs"].map(|k| record[k].as_f64());
    if from_record.iter().all(Option::is_some) {
        return Ok(from_record);
    }
    let csv_path = dir.join(format!("force_mom_{n}.csv"));
    let table = CsvTable::read(&csv_path)
        .map_err(|e| DataError::file(record_path, format!("has no cd, cl and cs, and {e}")))?;
    let from_csv = ["cd", "cl", "cs"].map(|k| table.value(k));
    match from_csv {
        [Some(_), Some(_), Some(_)] => Ok(from_csv),
        _ => Err(DataError::file(
            record_path,
            format!(
                "neither it nor {} holds single values of cd, cl and cs",
                csv_path.display()
            ),
        )),
    }
}

/// Design parameters of a generated run: `geo_parameters_<i>.csv`, else `run.json`'s `params`.
fn slipstream_parameters(
    record: &serde_json::Value,
    dir: &Path,
    n: &str,
) -> Result<Parameters, DataError> {
    let csv = from_csv_if_present(&dir.join(format!("geo_parameters_{n}.csv")))?;
    Ok(csv.unwrap_or_else(|| from_json(&record["params"])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_runs_take_coefficients_from_run_json_else_the_force_table() {
        let dir = tempfile::tempdir().unwrap();
        let record_path = dir.path().join("run.json");
        let with: serde_json::Value =
            serde_json::from_str(r#"{"cd": 0.3, "cl": 0.1, "cs": 0.0}"#).unwrap();
        assert_eq!(
            slipstream_coefficients(&with, &record_path, dir.path(), "7").unwrap(),
            [Some(0.3), Some(0.1), Some(0.0)]
        );
        let without: serde_json::Value = serde_json::from_str(r#"{"cd": 0.3}"#).unwrap();
        let e = slipstream_coefficients(&without, &record_path, dir.path(), "7").unwrap_err();
        assert!(
            e.to_string().contains("run.json") && e.to_string().contains("force_mom_7.csv"),
            "{e}"
        );
        std::fs::write(dir.path().join("force_mom_7.csv"), "cd,cl\n0.31,0.12\n").unwrap();
        let e = slipstream_coefficients(&without, &record_path, dir.path(), "7").unwrap_err();
        assert!(
            e.to_string().contains("run.json") && e.to_string().contains("force_mom_7.csv"),
            "{e}"
        );
        std::fs::write(
            dir.path().join("force_mom_7.csv"),
            "cd,cl,cs\n0.31,0.12,0.01\n",
        )
        .unwrap();
        assert_eq!(
            slipstream_coefficients(&without, &record_path, dir.path(), "7").unwrap(),
            [Some(0.31), Some(0.12), Some(0.01)]
        );
    }
}
