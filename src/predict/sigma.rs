//! σ of a prediction: the spread of independent anchor draws, scaled by the factors the
//! checkpoint's calibration fitted on its validation bodies.

use crate::data::Normalizer;
use crate::model::uncertainty::{std_of, Calibration, DrawSpread};

use super::coefficients::SurfaceIntegrator;

/// σ in coefficients (per triangle on the surface, per point in the volume; vectors as
/// magnitudes); empty without calibrated draws.
#[derive(Debug, Default)]
pub(super) struct Sigma {
    pub cd: Option<f64>,
    pub cl: Option<f64>,
    pub cp: Vec<f64>,
    pub cf: Vec<f64>,
    pub volume_cp: Vec<f64>,
    /// m/s at the requested speed.
    pub velocity: Vec<f64>,
    /// 1/s at the requested speed.
    pub vorticity: Vec<f64>,
}

impl Sigma {
    /// From the draws' raw outputs `(surface, volume)` (the volume empty when not asked for).
    pub fn of_draws(
        draws: &[(Vec<f32>, Vec<f32>)],
        calibration: &Calibration,
        surface: &SurfaceIntegrator,
        normalizer: &Normalizer,
    ) -> Sigma {
        let similarity = surface.similarity;
        let (mut cds, mut cls) = (Vec::new(), Vec::new());
        let (mut cp_spread, mut cf_spread) = (DrawSpread::default(), DrawSpread::default());
        let mut volume_spread: [DrawSpread; 3] = Default::default();
        for (s_draw, v_draw) in draws {
            let answer = surface.answer(s_draw);
            cds.push(answer.coefficients.cd);
            cls.push(answer.coefficients.cl);
            cp_spread.add(&answer.cp.iter().map(|x| *x as f32).collect::<Vec<_>>());
            cf_spread.add(
                &answer
                    .cf
                    .iter()
                    .flatten()
                    .map(|x| *x as f32)
                    .collect::<Vec<_>>(),
            );
            if !v_draw.is_empty() {
                let f = normalizer.volume_fields(v_draw);
                let cp_v: Vec<f32> = f
                    .pressure
                    .iter()
                    .map(|x| (*x as f64 * similarity.to_coefficient) as f32)
                    .collect();
                volume_spread[0].add(&cp_v);
                volume_spread[1].add(&f.velocity);
                volume_spread[2].add(&f.vorticity);
            }
        }
        let scale = |v: Vec<f32>, k: f64| v.into_iter().map(|x| x as f64 * k).collect::<Vec<f64>>();
        let field = |name: &str| calibration.field(name);
        Sigma {
            cd: Some(calibration.cd * std_of(&cds)),
            cl: Some(calibration.cl * std_of(&cls)),
            cp: scale(cp_spread.std(), field("surface_pressure")),
            cf: scale(cf_spread.vector_std(3), field("surface_wall_shear")),
            volume_cp: scale(volume_spread[0].std(), field("volume_pressure")),
            velocity: scale(
                volume_spread[1].vector_std(3),
                field("volume_velocity") * similarity.velocity_ratio,
            ),
            vorticity: scale(
                volume_spread[2].vector_std(3),
                field("volume_vorticity") * similarity.velocity_ratio,
            ),
        }
    }
}
