//! Geometry encoder: supernode pooling. Each supernode gathers the geometry points within a
//! radius (itself included, the nearest `max_neighbours` when more qualify), embeds every
//! relative position `[Δx, |Δx|]` (supernode minus neighbour) with a 4-axis sincos, passes it
//! through a message MLP, averages, appends the supernode's own sincos embedding and projects
//! `2·dim → dim`.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::IndexingUpdateOp;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use super::embedding::SincosEmbedding;
use super::mlp::Mlp;
use super::ops;
use super::params::ParamSource;
use super::{tensor_from, ModelError};
use crate::geometry::neighbours::PointIndex;

#[derive(Module, Debug)]
pub struct SupernodePooling<B: Backend> {
    pub message: Mlp<B>,
    pub proj: Linear<B>,
    #[module(skip)]
    pos_embed: SincosEmbedding,
    #[module(skip)]
    rel_pos_embed: SincosEmbedding,
    #[module(skip)]
    radius: f32,
    #[module(skip)]
    max_neighbours: usize,
}

impl<B: Backend> SupernodePooling<B> {
    pub fn init(
        source: &mut ParamSource,
        dim: usize,
        radius: f32,
        max_neighbours: usize,
        max_wavelength: f32,
        device: &B::Device,
    ) -> Result<Self, ModelError> {
        let mut pos_embed = SincosEmbedding::new(dim, 3, max_wavelength);
        let mut rel_pos_embed = SincosEmbedding::new(dim, 4, max_wavelength);
        pos_embed.set_omega(source.frequencies("encoder.pos_embed.omega", pos_embed.omega())?);
        rel_pos_embed
            .set_omega(source.frequencies("encoder.rel_pos_embed.omega", rel_pos_embed.omega())?);
        Ok(SupernodePooling {
            message: Mlp::init(
                source,
                "encoder.message",
                ["0", "2"],
                [dim, dim, dim],
                device,
            )?,
            proj: source.linear("encoder.proj", 2 * dim, dim, device)?,
            pos_embed,
            rel_pos_embed,
            radius,
            max_neighbours,
        })
    }

    /// `[S, dim]` supernode tokens for geometry points (model frame) and the indices of the
    /// points that are supernodes.
    pub fn forward(
        &self,
        points: &[[f32; 3]],
        supernodes: &[u32],
        device: &B::Device,
    ) -> Result<Tensor<B, 2>, ModelError> {
        let centres = supernode_positions(points, supernodes)?;
        let index = PointIndex::new(points);
        let rows = index.within_radius_batch(&centres, self.radius, self.max_neighbours);
        let mut relative = Vec::with_capacity(rows.indices.len() * 4);
        let mut owner = Vec::with_capacity(rows.indices.len());
        let mut inverse_count = Vec::with_capacity(centres.len());
        for (s, centre) in centres.iter().enumerate() {
            let row = rows.row(s);
            inverse_count.push(1.0 / row.len().max(1) as f32);
            for &g in row {
                let p = points[g as usize];
                let d = [centre[0] - p[0], centre[1] - p[1], centre[2] - p[2]];
                let len = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                relative.extend_from_slice(&[d[0], d[1], d[2], len]);
                owner.push(s as i32);
            }
        }
        let edges = owner.len();
        let dim = self.proj.weight.dims()[1];
        let s = centres.len();
        let messages = self
            .message
            .forward(
                self.rel_pos_embed
                    .forward(tensor_from::<B, 2>(relative, [edges, 4], device)),
            );
        let owner = Tensor::<B, 1, Int>::from_data(TensorData::new(owner, [edges]), device);
        let summed = Tensor::<B, 2>::zeros([s, dim], device).select_assign(
            0,
            owner,
            messages,
            IndexingUpdateOp::Add,
        );
        let mean = summed * tensor_from::<B, 2>(inverse_count, [s, 1], device);
        let flat: Vec<f32> = centres.iter().flatten().copied().collect();
        let own = self
            .pos_embed
            .forward(tensor_from::<B, 2>(flat, [s, 3], device));
        Ok(ops::linear(&self.proj, Tensor::cat(vec![mean, own], 1)))
    }
}

/// The supernodes' coordinates; an index past the geometry is an error, not a panic.
pub fn supernode_positions(
    points: &[[f32; 3]],
    supernodes: &[u32],
) -> Result<Vec<[f32; 3]>, ModelError> {
    supernodes
        .iter()
        .map(|&i| {
            points.get(i as usize).copied().ok_or_else(|| {
                ModelError::Input(format!(
                    "supernode index {i} is past the {} geometry points",
                    points.len()
                ))
            })
        })
        .collect()
}
