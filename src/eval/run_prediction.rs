//! A checkpoint's prediction of a prepared run: anchors drawn from the run as in training,
//! every surface and volume point decoded by streaming inference, the fields de-standardised
//! into the run's units, and the drag and lift they integrate to; with several draws, their
//! spread (for σ).

use burn::tensor::backend::Backend;

use super::fields::{run_has, Fields};
use super::uncertainty::{FieldSpread, RunSpread};
use crate::data::batch::{batch_for_run, Normalizer};
use crate::data::PreparedRun;
use crate::model::uncertainty::{std_of, DrawSpread};
use crate::model::{AbUpt, Branch, DrawMean, ModelError};
use crate::physics::{coefficients, integrate};
use crate::rng::Rng;

/// The model's fields on every point of `run`: the mean of `draws` predictions, each from
/// its own draw of anchors, geometry points and supernodes; and each draw's own fields (for the
/// spread between them).
#[allow(clippy::too_many_arguments)]
fn predict_draws<B: Backend>(
    model: &AbUpt<B>,
    normalizer: &Normalizer,
    spec: &crate::data::BatchSpec,
    run: &PreparedRun,
    rng: &mut Rng,
    draws: usize,
    chunk: usize,
    device: &B::Device,
) -> Result<(Fields, Vec<Fields>), ModelError> {
    let frame = model.config().coordinates;
    let points = |v: &[f32]| {
        v.chunks_exact(3)
            .map(|p| frame.to_model([p[0], p[1], p[2]]))
            .collect::<Vec<_>>()
    };
    let (surface_points, volume_points) =
        (points(&run.surface_position), points(&run.volume_position));
    let (mut s, mut v) = (DrawMean::default(), DrawMean::default());
    let mut each = Vec::with_capacity(draws);
    for _ in 0..draws.max(1) {
        let anchors = batch_for_run(run, normalizer, spec, rng, 0);
        let encoded = model.encode_physical(
            &anchors.geometry_m,
            &anchors.supernodes,
            &anchors.surface_m,
            &anchors.volume_m,
            device,
        )?;
        let ds = model.decode_chunked(&encoded, Branch::Surface, &surface_points, chunk, |_| {})?;
        let dv = model.decode_chunked(&encoded, Branch::Volume, &volume_points, chunk, |_| {})?;
        s.add(&ds);
        v.add(&dv);
        if draws > 1 {
            each.push(physical(normalizer, &ds, &dv));
        }
    }
    Ok((physical(normalizer, &s.mean(), &v.mean()), each))
}

/// How a checkpoint predicts the runs it is scored or calibrated on: run `i` of a split gets
/// the anchors of random stream `(seed, i)`, `draws` of them averaged.
pub(super) struct RunPredictor<'a, B: Backend> {
    pub model: &'a AbUpt<B>,
    pub normalizer: &'a Normalizer,
    pub spec: crate::data::BatchSpec,
    pub draws: usize,
    pub chunk: usize,
    pub seed: u64,
}

/// A run's prediction: the mean fields, each draw's fields (none with one draw) and the mean
/// fields' drag and lift.
pub(super) struct Prediction {
    pub fields: Fields,
    pub draws: Vec<Fields>,
    pub coefficients: RunCoefficients,
}

impl<B: Backend> RunPredictor<'_, B> {
    pub(super) fn predict(
        &self,
        index: usize,
        run: &PreparedRun,
        device: &B::Device,
    ) -> Result<Prediction, ModelError> {
        let mut rng = Rng::stream(self.seed, index as u64);
        let (fields, draws) = predict_draws(
            self.model,
            self.normalizer,
            &self.spec,
            run,
            &mut rng,
            self.draws,
            self.chunk,
            device,
        )?;
        let coefficients = coefficients_of(run, &fields.surface_pressure, &fields.surface_shear)?;
        Ok(Prediction {
            fields,
            draws,
            coefficients,
        })
    }
}

/// Standardised model outputs in the run's units.
fn physical(normalizer: &Normalizer, surface: &[f32], volume: &[f32]) -> Fields {
    let (surface_pressure, surface_shear) = normalizer.surface_fields(surface);
    Fields {
        surface_pressure,
        surface_shear,
        volume: normalizer.volume_fields(volume),
    }
}

/// The spread of the draws' predictions on `run` against the errors of their mean `pred`:
/// per point (vectors as magnitudes) and for Cd and Cl. Fields the run lacks are left out.
pub(super) fn run_spread(
    run: &PreparedRun,
    draws: &[Fields],
    pred: &Fields,
    predicted: &RunCoefficients,
) -> Result<RunSpread, ModelError> {
    let mut cd = Vec::with_capacity(draws.len());
    let mut cl = Vec::with_capacity(draws.len());
    for d in draws {
        let c = coefficients_of(run, &d.surface_pressure, &d.surface_shear)?;
        cd.push(c.cd);
        cl.push(c.cl);
    }
    let spread = |get: &dyn Fn(&Fields) -> &[f32], width: usize| {
        let mut s = DrawSpread::default();
        draws.iter().for_each(|d| s.add(get(d)));
        s.vector_std(width)
    };
    let magnitude = |v: &[f32], width: usize| -> Vec<f32> {
        v.chunks_exact(width)
            .map(|c| c.iter().map(|x| x * x).sum::<f32>().sqrt())
            .collect()
    };
    let error = |p: &[f32], t: &[f32], width: usize| -> Vec<f32> {
        let d: Vec<f32> = p.iter().zip(t).map(|(a, b)| a - b).collect();
        magnitude(&d, width)
    };
    let truth = Fields::truth(run);
    type Get = fn(&Fields) -> &[f32];
    let table: [(&'static str, Get, usize); 5] = [
        ("surface_pressure", |f| &f.surface_pressure, 1),
        ("surface_wall_shear", |f| &f.surface_shear, 3),
        ("volume_pressure", |f| &f.volume.pressure, 1),
        ("volume_velocity", |f| &f.volume.velocity, 3),
        ("volume_vorticity", |f| &f.volume.vorticity, 3),
    ];
    let fields = table
        .into_iter()
        .filter(|(name, ..)| run_has(run, name))
        .map(|(name, get, width)| FieldSpread {
            name,
            spread: spread(&get, width),
            error: error(get(pred), get(&truth), width),
            truth: magnitude(get(&truth), width),
        })
        .collect();
    Ok(RunSpread {
        cd: run.meta.cd.map(|t| (predicted.cd - t, std_of(&cd))),
        cl: run.meta.cl.map(|t| (predicted.cl - t, std_of(&cl))),
        fields,
    })
}

/// Drag and lift of surface fields on `run`, with drag split into its pressure and friction parts.
pub(super) struct RunCoefficients {
    pub cd: f64,
    pub cl: f64,
    pub cd_pressure: f64,
    pub cd_friction: f64,
}

/// Drag and lift of `pressure` and `shear` (in the run's units) on `run`'s surface.
pub(super) fn coefficients_of(
    run: &PreparedRun,
    pressure: &[f32],
    shear: &[f32],
) -> Result<RunCoefficients, ModelError> {
    let m = &run.meta;
    let f = integrate(
        &run.loads_with(pressure, shear),
        m.pressure_kind,
        &m.reference,
        [0.0; 3],
    )
    .map_err(|e| ModelError::job(format!("{}: {e}", run.name)))?;
    let c = coefficients(&f, &m.reference, m.axes);
    let q_a = m.reference.dynamic_pressure_pa() * m.reference.area_m2;
    Ok(RunCoefficients {
        cd: c.cd,
        cl: c.cl,
        cd_pressure: f.pressure_force_n[m.axes.flow] / q_a,
        cd_friction: f.shear_force_n[m.axes.flow] / q_a,
    })
}
