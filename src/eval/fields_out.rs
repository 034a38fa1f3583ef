//! `eval --fields-out DIR`: each run's truth, prediction and error as VTK point clouds.

use std::path::Path;

use super::fields::Fields;
use crate::data::PreparedRun;
use crate::model::ModelError;

/// `DIR/<run>_surface.vtp` and `DIR/<run>_volume.vtu`: point clouds at the prepared cell
/// centres carrying each field's truth, prediction and prediction − truth, in the run's units,
/// so that ParaView shows where a checkpoint goes wrong.
pub(super) fn write_fields(
    dir: &Path,
    run: &PreparedRun,
    pred: &Fields,
    truth: &Fields,
) -> Result<(), ModelError> {
    use crate::mesh::{write_mesh, Field, Mesh};
    std::fs::create_dir_all(dir).map_err(|e| ModelError::write(dir, e))?;
    let points = |v: &[f32]| {
        v.chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect::<Vec<_>>()
    };
    let triple = |name: &str, components: usize, p: &[f32], t: &[f32]| {
        let error = p.iter().zip(t).map(|(a, b)| a - b).collect();
        [
            Field::new_f32(name, components, t.to_vec()),
            Field::new_f32(format!("{name}_pred"), components, p.to_vec()),
            Field::new_f32(format!("{name}_error"), components, error),
        ]
    };
    let mut surface = Mesh::point_cloud(points(&run.surface_position));
    surface.point_data.extend(triple(
        "pressure",
        1,
        &pred.surface_pressure,
        &truth.surface_pressure,
    ));
    surface.point_data.extend(triple(
        "wall_shear",
        3,
        &pred.surface_shear,
        &truth.surface_shear,
    ));
    surface
        .point_data
        .push(Field::new_f32("normal", 3, run.surface_normal.clone()));
    surface
        .point_data
        .push(Field::new_f32("area_m2", 1, run.surface_area.clone()));
    let mut volume = Mesh::point_cloud(points(&run.volume_position));
    let (p, t) = (&pred.volume, &truth.volume);
    volume
        .point_data
        .extend(triple("pressure", 1, &p.pressure, &t.pressure));
    volume
        .point_data
        .extend(triple("velocity", 3, &p.velocity, &t.velocity));
    volume
        .point_data
        .extend(triple("vorticity", 3, &p.vorticity, &t.vorticity));
    for (file, mesh) in [("surface.vtp", &surface), ("volume.vtu", &volume)] {
        let path = dir.join(format!("{}_{file}", run.name));
        write_mesh(&path, mesh).map_err(ModelError::write_error)?;
    }
    Ok(())
}
