//! Where the model looks: anchors drawn as in training (geometry points and surface anchors
//! uniformly by area, volume anchors from the checkpoint's template of the training meshes'
//! cells mapped onto this body), and the query points whose outputs are written.

use crate::checkpoint::CheckpointMeta;
use crate::data::BatchSpec;
use crate::geometry::centroid::cell_centres;
use crate::geometry::sampling::{choose_subset, sample_surface};
use crate::geometry::surface_query::SurfaceQuery;
use crate::geometry::volume_sampling::{sample_volume, VolumeSamplingConfig};
use crate::mesh::{self, Mesh};
use crate::model::ModelError;
use crate::physics::Axes;

use super::body::Body;
use super::{bad, PredictJob};

/// One draw of what the model is conditioned on, in metres.
pub(super) struct Anchors {
    pub geometry: Vec<[f32; 3]>,
    /// Indices into `geometry`.
    pub supernodes: Vec<u32>,
    pub surface: Vec<[f32; 3]>,
    pub volume: Vec<[f32; 3]>,
}

/// Draws [`Anchors`] for a body; each draw is independent and reproducible from the seed.
pub(super) struct AnchorSampler<'a> {
    body: &'a Body,
    spec: BatchSpec,
    /// The checkpoint's volume-anchor template mapped onto the body, outside it.
    outside: Vec<[f32; 3]>,
    seed: u64,
}

impl<'a> AnchorSampler<'a> {
    pub fn new(
        body: &'a Body,
        query: &SurfaceQuery,
        meta: &CheckpointMeta,
        job: &PredictJob,
    ) -> Result<Self, ModelError> {
        let centre = body.centre();
        let length = body.length_m;
        let mapped: Vec<[f32; 3]> = meta
            .domain
            .volume_template
            .iter()
            .map(|q| std::array::from_fn(|k| (centre[k] + length * q[k] as f64) as f32))
            .collect();
        let outside: Vec<[f32; 3]> = mapped
            .iter()
            .zip(query.winding_numbers(&mapped))
            .filter(|(_, w)| *w < 0.5)
            .map(|(p, _)| *p)
            .collect();
        if outside.is_empty() {
            return Err(bad(
                &job.checkpoint,
                "the checkpoint has no volume-anchor template",
            ));
        }
        Ok(AnchorSampler {
            body,
            spec: meta.train.data,
            outside,
            seed: job.seed,
        })
    }

    /// Draw `draw`; draw 0 uses the seed as given.
    pub fn draw(&self, draw: u64) -> Anchors {
        let soup = &self.body.soup;
        let seed = self.seed.wrapping_add(1000 * draw);
        let geometry = sample_surface(soup, self.spec.geometry_points, seed).position;
        let supernodes = choose_subset(geometry.len(), self.spec.supernodes, seed.wrapping_add(1))
            .into_iter()
            .map(|i| i as u32)
            .collect();
        let surface =
            sample_surface(soup, self.spec.surface_anchors, seed.wrapping_add(2)).position;
        let volume = choose_subset(
            self.outside.len(),
            self.spec.volume_anchors,
            seed.wrapping_add(3),
        )
        .into_iter()
        .map(|i| self.outside[i])
        .collect();
        Anchors {
            geometry,
            supernodes,
            surface,
            volume,
        }
    }
}

/// The points whose outputs are written, in metres.
pub(super) struct Queries {
    /// Every triangle's centroid, then area-weighted samples: every triangle gets a value and
    /// large triangles are averaged over their samples.
    pub surface: Vec<[f32; 3]>,
    /// The triangle each surface query belongs to.
    pub owner: Vec<u32>,
    /// The given volume mesh's cell centres, or points sampled around the body.
    pub volume: Vec<[f32; 3]>,
    /// The volume mesh given with `--volume-mesh`, which receives the volume fields.
    pub volume_mesh: Option<Mesh>,
}

impl Queries {
    pub fn new(
        body: &Body,
        query: &SurfaceQuery,
        job: &PredictJob,
        axes: Axes,
    ) -> Result<Self, ModelError> {
        let soup = &body.soup;
        let samples = sample_surface(soup, job.surface_points, job.seed.wrapping_add(4));
        let mut surface: Vec<[f32; 3]> = soup
            .triangles
            .iter()
            .map(|t| std::array::from_fn(|k| (t[0][k] + t[1][k] + t[2][k]) / 3.0))
            .collect();
        let mut owner: Vec<u32> = (0..soup.len() as u32).collect();
        surface.extend_from_slice(&samples.position);
        owner.extend_from_slice(&samples.cell);
        let (volume, volume_mesh) = match &job.volume_mesh {
            Some(path) => {
                let m = mesh::read_mesh(path).map_err(|e| ModelError::Input(e.to_string()))?;
                (cell_centres(&m), Some(m))
            }
            None => {
                let config = VolumeSamplingConfig {
                    flow_axis: axes.flow,
                    up_axis: axes.up,
                    ..Default::default()
                };
                let v = sample_volume(
                    soup,
                    query,
                    job.volume_points,
                    &config,
                    job.seed.wrapping_add(5),
                )
                .map_err(|e| bad(&job.geometry, e))?;
                (v, None)
            }
        };
        Ok(Queries {
            surface,
            owner,
            volume,
            volume_mesh,
        })
    }
}
