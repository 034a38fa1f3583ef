//! The body to predict, read and checked before any work: a closed surface, wound outward, of a
//! plausible size, and (where the checkpoint records one) inside the shape domain it was trained
//! on.

use std::path::Path;

use crate::checkpoint::CheckpointMeta;
use crate::domain::Verdict;
use crate::geometry::shape_descriptor::soup_descriptor;
use crate::geometry::triangles::TriangleSoup;
use crate::geometry::{bounding_box, Aabb};
use crate::mesh::{self, Mesh};
use crate::model::ModelError;
use crate::physics::Axes;

use super::closed::open_edges;
use super::{bad, PredictJob};

/// Shortest and longest plausible body relative to the training bodies before `predict` refuses:
/// a factor of 50 is not a different car, it is millimetres (or kilometres).
const REFUSE_FACTOR: f64 = 50.0;
/// Outside this factor of the training range the prediction is an extrapolation: warn.
const WARN_FACTOR: f64 = 1.5;

/// A body that passed the checks.
pub(super) struct Body {
    /// The file as read (its cells carry the output fields).
    pub mesh: Mesh,
    /// Its triangles, every closed part wound outward.
    pub soup: TriangleSoup,
    pub bounds: Aabb,
    /// Extent along the flow axis, metres.
    pub length_m: f64,
    /// The shape-domain verdict; `None` when the checkpoint records no domain.
    pub verdict: Option<Verdict>,
}

impl Body {
    /// Reads the job's geometry and checks it against what the checkpoint `meta` was trained
    /// on; what is doubtful but usable goes to `warnings`. A body unlike the training bodies is
    /// refused unless the job allows extrapolation.
    pub fn read(
        job: &PredictJob,
        meta: &CheckpointMeta,
        axes: Axes,
        warnings: &mut Vec<String>,
    ) -> Result<Body, ModelError> {
        let path = job.geometry.as_path();
        let mesh = mesh::read_mesh(path).map_err(|e| ModelError::Input(e.to_string()))?;
        let mut soup = TriangleSoup::from_mesh(&mesh);
        if soup.is_empty() {
            return Err(bad(
                path,
                "no surface triangles: predict needs the body's closed surface (STL or OBJ)",
            ));
        }
        check_closed(path, &soup, warnings)?;
        // Body by body: one inward-wound part of a file (a wheel, a mirror) must not turn the
        // others inside out.
        match soup.orient_bodies_outward() {
            (0, _) => {}
            (1, 1) => {
                warnings.push("the surface's normals pointed inward; they were flipped".into())
            }
            (flipped, bodies) => warnings.push(format!(
                "{flipped} of the {bodies} bodies in the file had normals pointing inward; they \
                 were flipped"
            )),
        }
        let bounds = bounding_box(&mesh.points).ok_or_else(|| bad(path, "no finite points"))?;
        let length_m = bounds.extent()[axes.flow];
        check_size(path, length_m, meta, axes, warnings)?;
        let verdict = judge_shape(job, &soup, meta, axes, warnings)?;
        Ok(Body {
            mesh,
            soup,
            bounds,
            length_m,
            verdict,
        })
    }

    /// The centre of the bounding box, metres.
    pub fn centre(&self) -> [f64; 3] {
        std::array::from_fn(|k| 0.5 * (self.bounds.min[k] + self.bounds.max[k]))
    }
}

/// Refuses a surface with more than 1 % open edges; warns about fewer.
fn check_closed(
    path: &Path,
    soup: &TriangleSoup,
    warnings: &mut Vec<String>,
) -> Result<(), ModelError> {
    let (open, edges) = open_edges(soup);
    if open * 100 > edges {
        return Err(bad(
            path,
            format!(
                "not a closed surface: {open} of {edges} edges belong to one triangle only; \
                 the body must be watertight for its forces and for telling outside from inside \
                 (close the holes in your CAD tool)"
            ),
        ));
    }
    if open > 0 {
        warnings.push(format!(
            "{open} of {edges} edges are open (small holes); results may suffer near them"
        ));
    }
    Ok(())
}

/// Refuses a body far outside the training bodies' lengths (wrong units), warns a little
/// outside, and notes axes other than the training data's.
fn check_size(
    path: &Path,
    length: f64,
    meta: &CheckpointMeta,
    axes: Axes,
    warnings: &mut Vec<String>,
) -> Result<(), ModelError> {
    let domain = &meta.domain;
    let [lo, hi] = domain.body_length_m;
    if length > REFUSE_FACTOR * hi || length < lo / REFUSE_FACTOR {
        return Err(bad(
            path,
            format!(
                "the body is {length:.4} m long along {}, but the model was trained on bodies of \
                 {lo:.3}–{hi:.3} m: is the STL in millimetres? slipstream reads metres",
                ["x", "y", "z"][axes.flow]
            ),
        ));
    }
    if length > WARN_FACTOR * hi || length < lo / WARN_FACTOR {
        warnings.push(format!(
            "the body is {length:.3} m long, outside the training range {lo:.3}–{hi:.3} m: an extrapolation"
        ));
    }
    if axes.flow != domain.flow_axis || axes.up != domain.up_axis {
        warnings.push(
            "the axes differ from the training data's; the model sees the body as given".into(),
        );
    }
    Ok(())
}

/// The shape-domain verdict, where the checkpoint records a domain; a body outside it is an error
/// unless `allow_extrapolation` (then a warning).
fn judge_shape(
    job: &PredictJob,
    soup: &TriangleSoup,
    meta: &CheckpointMeta,
    axes: Axes,
    warnings: &mut Vec<String>,
) -> Result<Option<Verdict>, ModelError> {
    let Some(shape) = &meta.domain.shape else {
        warnings.push(
            "the checkpoint records no shape domain: whether this body is like its training \
             bodies is not checked (slipstream calibrate adds it)"
                .into(),
        );
        return Ok(None);
    };
    let descriptor =
        soup_descriptor(soup, axes.flow, axes.up, job.seed).map_err(|e| bad(&job.geometry, e))?;
    let verdict = shape
        .judge(&descriptor)
        .map_err(|e| bad(&job.checkpoint, e))?;
    if !verdict.in_domain {
        let what = format!(
            "unlike the bodies the checkpoint was trained on (domain_score {:.2}, accepted up \
             to {:.2}; nearest training body {}): {}",
            verdict.domain_score,
            verdict.threshold,
            verdict.nearest_run,
            verdict.reasons.join("; ")
        );
        if !job.allow_extrapolation {
            return Err(ModelError::Input(format!(
                "{}: {what}. A checkpoint trained on bodies like this one is needed (this one \
                 learnt from `{}`); --allow-extrapolation predicts anyway, marked as such",
                job.geometry.display(),
                meta.data
            )));
        }
        warnings.push(format!("EXTRAPOLATION: the body is {what}"));
    }
    Ok(Some(verdict))
}
