//! Exactness against the reference implementation: load its weights, run its inputs, compare
//! with its outputs (the layout of `../shared/fixtures/abupt_parity/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::tensor::backend::Backend;
use serde::Serialize;

use super::weights::{read_float_tensors, read_safetensors, StoredTensor};
use super::{
    positions_tensor, tensor_values, AbUpt, AbUptConfig, Branch, CoordinateFrame, ModelError,
    ParamSource,
};

/// Largest allowed `|ours − ref| / max(1, |ref|)`.
pub const TOLERANCE: f64 = 1e-4;

#[derive(Debug, Clone, Serialize)]
pub struct OutputParity {
    pub name: String,
    pub values: usize,
    pub max_abs_error: f64,
    /// `max |Δ| / max(1, |ref|)` over the output's values.
    pub max_rel_error: f64,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub case: String,
    pub backend: String,
    pub tolerance: f64,
    pub parameters_reference: u64,
    pub parameters: u64,
    pub outputs: Vec<OutputParity>,
    pub seconds: f64,
    pub passed: bool,
}

impl CaseReport {
    /// The largest relative error over all outputs.
    pub fn worst_rel_error(&self) -> f64 {
        self.outputs
            .iter()
            .map(|o| o.max_rel_error)
            .fold(0.0, f64::max)
    }
}

fn file_error(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Case names `NAME` with `NAME.json` and the three safetensors files, sorted.
pub fn find_cases(dir: &Path) -> Result<Vec<String>, ModelError> {
    let entries = std::fs::read_dir(dir).map_err(|e| file_error(dir, e.to_string()))?;
    let mut cases = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(case) = name.strip_suffix(".json") {
            let complete = ["weights", "inputs", "outputs"]
                .iter()
                .all(|kind| dir.join(format!("{case}.{kind}.safetensors")).is_file());
            if complete {
                cases.push(case.to_string());
            }
        }
    }
    cases.sort();
    if cases.is_empty() {
        return Err(file_error(
            dir,
            "no parity case: expected NAME.json with NAME.weights.safetensors, NAME.inputs.safetensors and NAME.outputs.safetensors",
        ));
    }
    Ok(cases)
}

/// The configuration a case's `model_kwargs` describe (reference defaults otherwise), and the
/// parameter count the reference reported.
pub fn case_config(json_path: &Path) -> Result<(AbUptConfig, u64), ModelError> {
    let text =
        std::fs::read_to_string(json_path).map_err(|e| file_error(json_path, e.to_string()))?;
    let meta: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| file_error(json_path, format!("invalid JSON: {e}")))?;
    let mut config = AbUptConfig::drivaerml();
    config.coordinates = CoordinateFrame::IDENTITY;
    let kwargs = meta
        .get("model_kwargs")
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default();
    for (key, value) in &kwargs {
        let bad = || {
            file_error(
                json_path,
                format!("model_kwargs.{key} has an unexpected value {value}"),
            )
        };
        let as_usize = || value.as_u64().map(|v| v as usize).ok_or_else(bad);
        match key.as_str() {
            "dim" => config.dim = as_usize()?,
            "num_heads" => config.num_heads = as_usize()?,
            "blocks" => config.blocks = value.as_str().ok_or_else(bad)?.to_string(),
            "num_surface_blocks" => config.num_surface_blocks = as_usize()?,
            "num_volume_blocks" => config.num_volume_blocks = as_usize()?,
            "geometry_depth" => config.geometry_depth = as_usize()?,
            "radius" => config.radius = value.as_f64().ok_or_else(bad)? as f32,
            other => {
                return Err(file_error(
                    json_path,
                    format!("unknown model argument `{other}`"),
                ))
            }
        }
    }
    if let Some(cap) = meta.get("max_degree").and_then(|v| v.as_u64()) {
        config.max_neighbours = cap as usize;
    }
    let params = meta
        .get("num_parameters")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    config.validate()?;
    Ok((config, params))
}

fn float_input(
    map: &BTreeMap<String, StoredTensor>,
    name: &str,
    path: &Path,
) -> Result<Vec<[f32; 3]>, ModelError> {
    match map.get(name) {
        Some(StoredTensor::Float(t)) if t.shape.last() == Some(&3) => Ok(t
            .values
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2]])
            .collect()),
        _ => Err(file_error(
            path,
            format!("missing float tensor `{name}` [.., 3]"),
        )),
    }
}

/// Runs one case on `device` and compares every output.
pub fn run_case<B: Backend>(
    dir: &Path,
    case: &str,
    tolerance: f64,
    device: &B::Device,
) -> Result<CaseReport, ModelError> {
    let started = Instant::now();
    let path = |kind: &str| -> PathBuf { dir.join(format!("{case}.{kind}")) };
    let (config, parameters_reference) = case_config(&path("json"))?;
    let weights = read_float_tensors(&path("weights.safetensors"))?;
    let model = AbUpt::<B>::build(&config, ParamSource::Reference(weights), device)?;
    let inputs_path = path("inputs.safetensors");
    let inputs = read_safetensors(&inputs_path)?;
    let geometry = float_input(&inputs, "geometry_position", &inputs_path)?;
    let supernodes: Vec<u32> = match inputs.get("geometry_supernode_idx") {
        Some(StoredTensor::Int { values, .. }) => values
            .iter()
            .map(|&v| {
                u32::try_from(v)
                    .map_err(|_| file_error(&inputs_path, format!("supernode index {v}")))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(file_error(
                &inputs_path,
                "missing integer tensor `geometry_supernode_idx`",
            ))
        }
    };
    let pos = |name: &str| -> Result<_, ModelError> {
        Ok(positions_tensor::<B>(
            &float_input(&inputs, name, &inputs_path)?,
            device,
        ))
    };

    // Call 1: anchors and queries. Call 2: anchors only.
    let encoded = model.encode(
        &geometry,
        &supernodes,
        pos("surface_anchor_position")?,
        pos("volume_anchor_position")?,
    )?;
    let surface_query = model.decode(&encoded, Branch::Surface, pos("surface_query_position")?);
    let volume_query = model.decode(&encoded, Branch::Volume, pos("volume_query_position")?);
    let anchors_only = model.encode(
        &geometry,
        &supernodes,
        pos("surface_anchor_position")?,
        pos("volume_anchor_position")?,
    )?;

    let mut ours: BTreeMap<String, (Vec<f32>, usize)> = BTreeMap::new();
    let mut split =
        |prefix: &str, values: Vec<f32>, channels: usize, names: &[(&str, usize, usize)]| {
            for &(name, start, width) in names {
                let picked: Vec<f32> = values
                    .chunks_exact(channels)
                    .flat_map(|row| row[start..start + width].to_vec())
                    .collect();
                ours.insert(format!("{prefix}{name}"), (picked, width));
            }
        };
    let surface = [("pressure", 0, 1), ("wallshearstress", 1, 3)];
    let volume = [
        ("totalpcoeff", 0, 1),
        ("velocity", 1, 3),
        ("vorticity", 4, 3),
    ];
    let (sc, vc) = (config.surface_channels, config.volume_channels);
    split(
        "surface_anchor_",
        tensor_values(encoded.surface_anchors.clone()),
        sc,
        &surface,
    );
    split(
        "volume_anchor_",
        tensor_values(encoded.volume_anchors.clone()),
        vc,
        &volume,
    );
    split("surface_query_", tensor_values(surface_query), sc, &surface);
    split("volume_query_", tensor_values(volume_query), vc, &volume);
    split(
        "anchor_only.surface_anchor_",
        tensor_values(anchors_only.surface_anchors),
        sc,
        &surface,
    );
    split(
        "anchor_only.volume_anchor_",
        tensor_values(anchors_only.volume_anchors),
        vc,
        &volume,
    );

    let outputs_path = path("outputs.safetensors");
    let reference = read_safetensors(&outputs_path)?;
    let mut outputs = Vec::new();
    for (name, stored) in &reference {
        let StoredTensor::Float(expected) = stored else {
            continue;
        };
        let (values, _) = ours.get(name).ok_or_else(|| {
            file_error(
                &outputs_path,
                format!("reference output `{name}` is not one slipstream produces"),
            )
        })?;
        if values.len() != expected.values.len() {
            return Err(file_error(
                &outputs_path,
                format!(
                    "`{name}` holds {} values, slipstream produced {}",
                    expected.values.len(),
                    values.len()
                ),
            ));
        }
        let (mut max_abs, mut max_rel) = (0.0f64, 0.0f64);
        for (o, r) in values.iter().zip(&expected.values) {
            let d = (f64::from(*o) - f64::from(*r)).abs();
            let d = if d.is_nan() { f64::INFINITY } else { d };
            max_abs = max_abs.max(d);
            max_rel = max_rel.max(d / f64::from(r.abs()).max(1.0));
        }
        outputs.push(OutputParity {
            name: name.clone(),
            values: values.len(),
            max_abs_error: max_abs,
            max_rel_error: max_rel,
            passed: max_rel <= tolerance,
        });
    }
    let parameters = model.num_params() as u64;
    let passed = outputs.iter().all(|o| o.passed)
        && !outputs.is_empty()
        && (parameters_reference == 0 || parameters_reference == parameters);
    Ok(CaseReport {
        case: case.to_string(),
        backend: String::new(),
        tolerance,
        parameters_reference,
        parameters,
        outputs,
        seconds: started.elapsed().as_secs_f64(),
        passed,
    })
}

/// Every case of a folder on one device (see [`super::device::dispatch`]).
pub struct ParityJob {
    pub dir: PathBuf,
    pub tolerance: f64,
}

impl super::device::Job for ParityJob {
    type Output = Vec<CaseReport>;

    fn run<B: Backend>(
        self,
        device: &B::Device,
        backend: &str,
    ) -> Result<Vec<CaseReport>, ModelError> {
        find_cases(&self.dir)?
            .iter()
            .map(|case| {
                let mut report = run_case::<B>(&self.dir, case, self.tolerance, device)?;
                report.backend = backend.to_string();
                Ok(report)
            })
            .collect()
    }
}
