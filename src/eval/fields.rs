//! A run's fields in physical units, as scored: the truth, a prediction or a baseline's.

use crate::data::batch::VolumeFields;
use crate::data::PreparedRun;

/// Whether `run` has the field that the score or spread `name` measures (`surface_wall_shear_x`
/// is the run's `surface/wall_shear`): a field its dataset lacks is held as zeros, placeholders
/// that are not scored.
pub(super) fn run_has(run: &PreparedRun, name: &str) -> bool {
    !run.meta
        .absent
        .iter()
        .any(|a| name.starts_with(&a.replace('/', "_")))
}

/// Fields physical, row-major, for one run.
#[derive(Debug, Clone)]
pub(super) struct Fields {
    pub(super) surface_pressure: Vec<f32>,
    pub(super) surface_shear: Vec<f32>,
    pub(super) volume: VolumeFields,
}

impl Fields {
    /// The run's own fields.
    pub(super) fn truth(run: &PreparedRun) -> Self {
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
