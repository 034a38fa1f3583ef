//! Volume points around a body for CAD-only prediction, where no CFD mesh gives the query points.
//!
//! A CFD mesh puts most of its cells near the wall, where the flow changes fastest, and few far away.
//! We imitate that with a mixture: a share of the points uniform in a wind-tunnel-like box, the rest
//! in shells around the body, offset from area-weighted surface samples along the outward normal by a
//! log-uniformly distributed distance (equal numbers of points per decade of wall distance). Points
//! inside the body (by the winding number, so open CAD works too), below the ground or outside the
//! box are rejected and replaced.

use serde::{Deserialize, Serialize};

use super::bounds::Aabb;
use super::sampling::sample_surface;
use super::surface_query::SurfaceQuery;
use super::triangles::TriangleSoup;
use crate::rng::Rng;

/// Where and how densely to sample. Lengths ending in `_l` are multiples of the body length L along
/// the flow axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeSamplingConfig {
    /// 0 = x, 1 = y, 2 = z.
    pub flow_axis: usize,
    pub up_axis: usize,
    /// Box extent upstream of the body's front.
    pub upstream_l: f64,
    /// Box extent downstream of the body's rear (the wake).
    pub downstream_l: f64,
    /// Box extent sideways beyond the body, each side.
    pub side_l: f64,
    /// Box height above the ground (or above the body's lowest point when there is no ground).
    pub height_l: f64,
    /// Height of the ground plane along the up axis (m); no point lies below it.
    pub ground_m: Option<f64>,
    /// Share of the points placed in near-wall shells (the rest are uniform in the box).
    pub near_wall_fraction: f64,
    /// Smallest and largest wall offset of the shells, as multiples of L.
    pub shell_min_l: f64,
    pub shell_max_l: f64,
}

impl Default for VolumeSamplingConfig {
    fn default() -> Self {
        VolumeSamplingConfig {
            flow_axis: 0,
            up_axis: 2,
            upstream_l: 1.0,
            downstream_l: 3.0,
            side_l: 1.0,
            height_l: 1.5,
            ground_m: None,
            near_wall_fraction: 0.5,
            shell_min_l: 1e-3,
            shell_max_l: 0.2,
        }
    }
}

/// Why volume sampling could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VolumeSamplingError {
    #[error("the surface has no triangles with area, so there is no body to sample around")]
    EmptySurface,
    #[error("invalid sampling setting: {0}")]
    InvalidConfig(String),
    #[error("only {accepted} of {wanted} points found outside the body after {tried} candidates: is the box inside the body, or the ground above it?")]
    TooFewAccepted {
        wanted: usize,
        accepted: usize,
        tried: usize,
    },
}

impl VolumeSamplingConfig {
    fn check(&self) -> Result<(), VolumeSamplingError> {
        let bad = |m: &str| Err(VolumeSamplingError::InvalidConfig(m.into()));
        if self.flow_axis > 2 || self.up_axis > 2 || self.flow_axis == self.up_axis {
            return bad("flow and up axes must be two different axes of x, y, z");
        }
        if !(0.0..=1.0).contains(&self.near_wall_fraction) {
            return bad("near_wall_fraction must lie in [0, 1]");
        }
        if !(self.shell_min_l > 0.0 && self.shell_max_l > self.shell_min_l) {
            return bad("shells need 0 < shell_min_l < shell_max_l");
        }
        for (v, n) in [
            (self.upstream_l, "upstream_l"),
            (self.downstream_l, "downstream_l"),
            (self.side_l, "side_l"),
            (self.height_l, "height_l"),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(&format!("{n} must be a finite length ≥ 0"));
            }
        }
        Ok(())
    }

    /// The sampling box for a body with bounding box `body`.
    pub fn domain(&self, body: &Aabb) -> Aabb {
        let f = self.flow_axis;
        let u = self.up_axis;
        let s = 3 - f - u;
        let length = (body.max[f] - body.min[f]).max(f64::MIN_POSITIVE);
        let mut min = [0.0; 3];
        let mut max = [0.0; 3];
        min[f] = body.min[f] - self.upstream_l * length;
        max[f] = body.max[f] + self.downstream_l * length;
        min[s] = body.min[s] - self.side_l * length;
        max[s] = body.max[s] + self.side_l * length;
        let floor = self.ground_m.unwrap_or(body.min[u]);
        min[u] = floor;
        max[u] = floor + self.height_l * length;
        Aabb { min, max }
    }
}

/// Candidates drawn per round; the winding-number test of a round runs in parallel.
const ROUND: usize = 1 << 16;

/// `n` points outside the body, reproducible for a given `seed`.
pub fn sample_volume(
    soup: &TriangleSoup,
    query: &SurfaceQuery,
    n: usize,
    config: &VolumeSamplingConfig,
    seed: u64,
) -> Result<Vec<[f32; 3]>, VolumeSamplingError> {
    config.check()?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let body = query.bounds().ok_or(VolumeSamplingError::EmptySurface)?;
    let domain = config.domain(&body);
    // Written so that NaN extents count as empty too.
    if (0..3)
        .any(|k| domain.max[k].partial_cmp(&domain.min[k]) != Some(std::cmp::Ordering::Greater))
    {
        return Err(VolumeSamplingError::InvalidConfig(format!(
            "the sampling box {:?} – {:?} is empty (zero height or a flat body?)",
            domain.min, domain.max
        )));
    }
    let length = (body.max[config.flow_axis] - body.min[config.flow_axis]).max(f64::MIN_POSITIVE);
    let (d_lo, d_hi) = (config.shell_min_l * length, config.shell_max_l * length);
    let in_domain = |p: &[f32; 3]| {
        (0..3).all(|k| (p[k] as f64) >= domain.min[k] && (p[k] as f64) <= domain.max[k])
    };
    let n_wall = (ROUND as f64 * config.near_wall_fraction).round() as usize;
    let mut accepted: Vec<[f32; 3]> = Vec::with_capacity(n);
    let mut tried = 0usize;
    for round in 0u64.. {
        let mut rng = Rng::stream(seed, 2 * round);
        let surf = sample_surface(soup, n_wall, Rng::stream(seed, 2 * round + 1).next_u64());
        if n_wall > 0 && surf.position.is_empty() {
            return Err(VolumeSamplingError::EmptySurface);
        }
        let mut cands = Vec::with_capacity(ROUND);
        for (p, nrm) in surf.position.iter().zip(&surf.normal) {
            let d = d_lo * (d_hi / d_lo).powf(rng.uniform());
            cands.push([
                (p[0] as f64 + d * nrm[0] as f64) as f32,
                (p[1] as f64 + d * nrm[1] as f64) as f32,
                (p[2] as f64 + d * nrm[2] as f64) as f32,
            ]);
        }
        while cands.len() < ROUND {
            cands.push([
                rng.range(domain.min[0], domain.max[0]) as f32,
                rng.range(domain.min[1], domain.max[1]) as f32,
                rng.range(domain.min[2], domain.max[2]) as f32,
            ]);
        }
        // Shuffle so that truncating the last round does not favour uniform over near-wall points.
        for i in (1..cands.len()).rev() {
            cands.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let winding = query.winding_numbers(&cands);
        accepted.extend(
            cands
                .into_iter()
                .zip(winding)
                .filter(|(p, w)| w.abs() <= 0.5 && in_domain(p))
                .map(|(p, _)| p),
        );
        tried += ROUND;
        if accepted.len() >= n {
            break;
        }
        // Fewer than 1 in 1000 candidates accepted: this setting cannot work.
        if tried >= 16 * ROUND && accepted.len() * 1000 < tried {
            return Err(VolumeSamplingError::TooFewAccepted {
                wanted: n,
                accepted: accepted.len(),
                tried,
            });
        }
    }
    accepted.truncate(n);
    Ok(accepted)
}
