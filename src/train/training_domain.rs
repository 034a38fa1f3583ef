//! What a checkpoint records about its training runs ([`TrainingDomain`]): their units, body
//! sizes, volume-anchor template and shapes, and the bounds the model's coordinate frame is
//! fitted to.

use crate::checkpoint::TrainingDomain;
use crate::data::batch::RunStore;
use crate::data::PreparedRun;
use crate::domain::{Member, ShapeDomain};
use crate::model::ModelError;

/// Calls `f` on every training run: from memory, or read from disk one at a time.
fn for_each_run(
    store: &RunStore,
    mut f: impl FnMut(usize, &PreparedRun) -> Result<(), ModelError>,
) -> Result<(), ModelError> {
    match store {
        RunStore::Memory(runs) => runs.iter().enumerate().try_for_each(|(i, r)| f(i, r)),
        RunStore::Disk(files) => files.iter().enumerate().try_for_each(|(i, file)| {
            let run = PreparedRun::read(&file.path).map_err(ModelError::job)?;
            f(i, &run)
        }),
    }
}

/// Lower and upper corners of a bounding box, metres.
pub(super) type Bounds = ([f32; 3], [f32; 3]);

/// Grows `bounds` to hold a run's volume, geometry and surface points.
fn extend_bounds(bounds: &mut Bounds, run: &PreparedRun) {
    let (lo, hi) = bounds;
    for values in [
        &run.volume_position,
        &run.geometry_position,
        &run.surface_position,
    ] {
        for p in values.chunks_exact(3) {
            for k in 0..3 {
                if p[k].is_finite() {
                    lo[k] = lo[k].min(p[k]);
                    hi[k] = hi[k].max(p[k]);
                }
            }
        }
    }
}

/// Points of the volume-anchor template kept in a checkpoint.
const TEMPLATE_POINTS: usize = 8192;

/// Bounding-box centre and flow-axis length of a run's body (its surface cells).
pub fn body_frame(run: &PreparedRun) -> ([f32; 3], f32) {
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    for p in run.surface_position.chunks_exact(3) {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let flow = run.meta.axes.flow;
    (
        std::array::from_fn(|k| 0.5 * (lo[k] + hi[k])),
        (hi[flow] - lo[flow]).max(f32::EPSILON),
    )
}

/// The body sizes, the volume-anchor template and the units of the training runs, which must
/// share pressure kind, density, speed and axes: the model's outputs are in those units. Also
/// the union of their points' bounds (metres), from the same pass over the runs (on disk, each
/// run is read once).
pub(super) fn training_domain(
    store: &RunStore,
    validation: &[PreparedRun],
    seed: u64,
) -> Result<(TrainingDomain, Bounds), ModelError> {
    let count = store.len();
    if count == 0 {
        return Err(ModelError::job("the training split has no runs"));
    }
    let per_run = TEMPLATE_POINTS.div_ceil(count);
    let mut template = Vec::with_capacity(per_run * count);
    let mut lengths = [f64::INFINITY, 0.0f64];
    // The first run's units, which every other run must share.
    let mut first: Option<(String, crate::data::RunMeta)> = None;
    let mut bounds: Bounds = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
    let mut shapes = Vec::with_capacity(count);
    for_each_run(store, |i, run| {
        extend_bounds(&mut bounds, run);
        shapes.push(Member::of_run(run).map_err(ModelError::job)?);
        let (b_name, b) = first.get_or_insert_with(|| (run.name.clone(), run.meta.clone()));
        let a = &run.meta;
        let same = a.pressure_kind == b.pressure_kind
            && a.axes == b.axes
            && (a.reference.speed_m_s - b.reference.speed_m_s).abs()
                <= 1e-6 * b.reference.speed_m_s
            && (a.reference.density_kg_m3 - b.reference.density_kg_m3).abs()
                <= 1e-6 * b.reference.density_kg_m3;
        if !same {
            return Err(ModelError::job(format!(
                "runs {b_name} and {} differ in pressure kind, speed, density or axes; one model \
                 learns one set of units (prepare them alike)",
                run.name
            )));
        }
        let (centre, length) = body_frame(run);
        lengths = [lengths[0].min(length as f64), lengths[1].max(length as f64)];
        let rows = crate::geometry::sampling::choose_subset(
            run.volume_len(),
            per_run,
            seed.wrapping_add(i as u64),
        );
        for r in rows {
            let p = &run.volume_position[3 * r..3 * r + 3];
            template.push(std::array::from_fn(|k| (p[k] - centre[k]) / length));
        }
        Ok(())
    })?;
    let (_, first) = first.ok_or_else(|| ModelError::job("the training split has no runs"))?;
    let domain = TrainingDomain {
        body_length_m: lengths,
        volume_template: template,
        pressure_kind: Some(first.pressure_kind),
        density_kg_m3: first.reference.density_kg_m3,
        speed_m_s: first.reference.speed_m_s,
        flow_axis: first.axes.flow,
        up_axis: first.axes.up,
        shape: ShapeDomain::of_runs(shapes, validation).map_err(ModelError::job)?,
    };
    Ok((domain, bounds))
}
