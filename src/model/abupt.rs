//! The anchored-branched universal physics transformer.
//!
//! Anchors of both branches pass through the geometry-conditioned trunk and the branch
//! decoders once ([`AbUpt::encode`]); every attention on the way records the keys and values its
//! queries saw. Any other point (a query) then follows the same path attending only to those
//! recorded anchors ([`AbUpt::decode`]), so its output never depends on other queries, the
//! queries can be evaluated in chunks of any size, and a query placed on an anchor reproduces
//! that anchor's output.

use burn::module::Module;
use burn::tensor::{backend::Backend, Tensor};

use super::attention::KeysValues;
use super::block::{Block, BlockSpec};
pub use super::branch_decoder::Branch;
use super::branch_decoder::BranchDecoder;
use super::config::{AbUptConfig, TrunkBlock, VectorHead};
use super::embedding::{RopeFrequencies, SincosEmbedding};
use super::mlp::Mlp;
use super::params::ParamSource;
use super::supernode::{supernode_positions, SupernodePooling};
use super::tangent::{self, Dual};
use super::{positions_tensor, tensor_from, ModelError};

/// What the anchors left behind for queries, and the anchors' own head outputs.
#[derive(Debug, Clone)]
pub struct Encoded<B: Backend> {
    /// `[As, surface_channels]` (raw head output).
    pub surface_anchors: Tensor<B, 2>,
    /// `[Av, volume_channels]` (raw head output; with curl heads these channels are potentials).
    pub volume_anchors: Tensor<B, 2>,
    /// Per trunk block: what surface tokens and what volume tokens attend to.
    trunk: Vec<[KeysValues<B>; 2]>,
    /// Per branch (`[surface, volume]`), per decoder block: what its queries attend to.
    decoders: [Vec<KeysValues<B>>; 2],
}

/// The model: geometry encoder, shared trunk and the two branches.
///
/// Checkpoints store the weights in this field order (`checkpoint.json` `weights_layout` 2);
/// [`super::legacy_layout`] reads the order of earlier checkpoints.
#[derive(Module, Debug)]
pub struct AbUpt<B: Backend> {
    pub encoder: SupernodePooling<B>,
    pub geometry_blocks: Vec<Block<B>>,
    /// The shared trunk, one block per letter of [`AbUptConfig::blocks`].
    pub blocks: Vec<Block<B>>,
    pub surface: BranchDecoder<B>,
    pub volume: BranchDecoder<B>,
    #[module(skip)]
    pub(super) config: AbUptConfig,
    #[module(skip)]
    pub(super) pos_embed: SincosEmbedding,
    #[module(skip)]
    pub(super) rope: RopeFrequencies,
}

impl<B: Backend> AbUpt<B> {
    /// A model with the reference initialisation, reproducible from `seed`.
    pub fn init(config: &AbUptConfig, seed: u64, device: &B::Device) -> Result<Self, ModelError> {
        Self::build(config, ParamSource::random(seed), device)
    }

    /// Builds the model and fills it from `source`; reference weights must match the
    /// configuration exactly (no missing, extra or misshapen tensors).
    pub fn build(
        config: &AbUptConfig,
        mut source: ParamSource,
        device: &B::Device,
    ) -> Result<Self, ModelError> {
        config.validate()?;
        let d = config.dim;
        let mut rope = RopeFrequencies::new(config.head_dim(), config.max_wavelength);
        rope.set_omega(source.frequencies("rope.omega", rope.omega())?);
        let encoder = SupernodePooling::init(
            &mut source,
            d,
            config.radius,
            config.max_neighbours,
            config.max_wavelength,
            device,
        )?;
        let spec = BlockSpec {
            dim: d,
            heads: config.num_heads,
            mlp_ratio: config.mlp_ratio,
            eps: config.layer_norm_eps,
            cross: false,
        };
        let stack =
            |source: &mut ParamSource, name: &str, n: usize| -> Result<Vec<Block<B>>, ModelError> {
                (0..n)
                    .map(|i| Block::init(source, &format!("{name}.{i}"), spec, device))
                    .collect()
            };
        let geometry_blocks = stack(&mut source, "geometry_blocks", config.geometry_depth)?;
        let mut pos_embed = SincosEmbedding::new(d, 3, config.max_wavelength);
        pos_embed.set_omega(source.frequencies("pos_embed.omega", pos_embed.omega())?);
        // Created in the reference's order (a seeded random initialisation draws them in it too):
        // both biases, the trunk, both branches' blocks, both heads.
        let bias = |source: &mut ParamSource, branch: Branch| {
            let name = format!("{}_bias", branch.name());
            Mlp::init(source, &name, ["0", "2"], [d; 3], device)
        };
        let surface_bias = bias(&mut source, Branch::Surface)?;
        let volume_bias = bias(&mut source, Branch::Volume)?;
        let blocks = config
            .trunk()
            .into_iter()
            .enumerate()
            .map(|(i, kind)| {
                let spec = BlockSpec {
                    cross: kind == TrunkBlock::Geometry,
                    ..spec
                };
                Block::init(&mut source, &format!("blocks.{i}"), spec, device)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let surface_blocks = stack(&mut source, "surface_blocks", config.num_surface_blocks)?;
        let volume_blocks = stack(&mut source, "volume_blocks", config.num_volume_blocks)?;
        let surface = BranchDecoder {
            bias: surface_bias,
            blocks: surface_blocks,
            head: source.linear("surface_decoder", d, config.surface_channels, device)?,
        };
        let volume = BranchDecoder {
            bias: volume_bias,
            blocks: volume_blocks,
            head: source.linear("volume_decoder", d, config.volume_channels, device)?,
        };
        source.finish()?;
        Ok(AbUpt {
            encoder,
            geometry_blocks,
            blocks,
            surface,
            volume,
            config: config.clone(),
            pos_embed,
            rope,
        })
    }

    pub fn config(&self) -> &AbUptConfig {
        &self.config
    }

    /// Encodes the geometry and runs the anchors. Positions are in the model frame:
    /// `geometry` `[G]` points with `supernodes` indexing into them, anchors `[A, 3]` tensors.
    pub fn encode(
        &self,
        geometry: &[[f32; 3]],
        supernodes: &[u32],
        surface_anchors: Tensor<B, 2>,
        volume_anchors: Tensor<B, 2>,
    ) -> Result<Encoded<B>, ModelError> {
        let device = surface_anchors.device();
        if supernodes.is_empty() {
            return Err(ModelError::Input("no geometry supernodes".into()));
        }
        if surface_anchors.dims()[0] == 0 || volume_anchors.dims()[0] == 0 {
            return Err(ModelError::Input(
                "each branch needs at least one anchor".into(),
            ));
        }
        let centres: Vec<f32> = supernode_positions(geometry, supernodes)?
            .into_iter()
            .flatten()
            .collect();
        let rope_geometry =
            self.rope
                .angles(tensor_from::<B, 2>(centres, [supernodes.len(), 3], &device));
        let mut geo = self.encoder.forward(geometry, supernodes, &device)?;
        for block in &self.geometry_blocks {
            let context = block.context(geo.clone(), &rope_geometry);
            geo = block.forward(geo, &rope_geometry, &context);
        }

        let rope_s = self.rope.angles(surface_anchors.clone());
        let rope_v = self.rope.angles(volume_anchors.clone());
        let mut xs = self.surface.embed(self.pos_embed.forward(surface_anchors));
        let mut xv = self.volume.embed(self.pos_embed.forward(volume_anchors));
        let mut trunk = Vec::with_capacity(self.blocks.len());
        for (block, kind) in self.blocks.iter().zip(self.config.trunk()) {
            let [for_surface, for_volume] = match kind {
                TrunkBlock::Geometry => {
                    let g = block.context(geo.clone(), &rope_geometry);
                    [g.clone(), g]
                }
                TrunkBlock::OwnBranch => [
                    block.context(xs.clone(), &rope_s),
                    block.context(xv.clone(), &rope_v),
                ],
                TrunkBlock::OtherBranch => [
                    block.context(xv.clone(), &rope_v),
                    block.context(xs.clone(), &rope_s),
                ],
            };
            xs = block.forward(xs, &rope_s, &for_surface);
            xv = block.forward(xv, &rope_v, &for_volume);
            trunk.push([for_surface, for_volume]);
        }
        let (surface_anchors, surface_decoder) = self.surface.decode_anchors(xs, &rope_s);
        let (volume_anchors, volume_decoder) = self.volume.decode_anchors(xv, &rope_v);
        Ok(Encoded {
            surface_anchors,
            volume_anchors,
            trunk,
            decoders: [surface_decoder, volume_decoder],
        })
    }

    /// [`encode`](Self::encode) from physical positions (metres), mapped into the model frame:
    /// what prediction and evaluation draw their anchors in.
    pub fn encode_physical(
        &self,
        geometry_m: &[[f32; 3]],
        supernodes: &[u32],
        surface_anchors_m: &[[f32; 3]],
        volume_anchors_m: &[[f32; 3]],
        device: &B::Device,
    ) -> Result<Encoded<B>, ModelError> {
        let frame = self.config.coordinates;
        let tensor =
            |points: &[[f32; 3]]| positions_tensor::<B>(&frame.to_model_points(points), device);
        self.encode(
            &frame.to_model_points(geometry_m),
            supernodes,
            tensor(surface_anchors_m),
            tensor(volume_anchors_m),
        )
    }

    /// The branch decoder of `branch`.
    pub fn branch(&self, branch: Branch) -> &BranchDecoder<B> {
        match branch {
            Branch::Surface => &self.surface,
            Branch::Volume => &self.volume,
        }
    }

    /// Raw head outputs `[N, channels]` at query positions `[N, 3]` (model frame).
    pub fn decode_raw(
        &self,
        encoded: &Encoded<B>,
        branch: Branch,
        positions: Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        let decoder = self.branch(branch);
        let rope = self.rope.angles(positions.clone());
        let mut x = decoder.embed(self.pos_embed.forward(positions));
        for (block, contexts) in self.blocks.iter().zip(&encoded.trunk) {
            x = block.forward(x, &rope, &contexts[branch.index()]);
        }
        decoder.decode(x, &rope, &encoded.decoders[branch.index()])
    }

    /// Head outputs and their derivatives along the physical axes, `[3, N, channels]`.
    pub fn decode_with_tangents(
        &self,
        encoded: &Encoded<B>,
        branch: Branch,
        positions: Tensor<B, 2>,
    ) -> Dual<B> {
        let decoder = self.branch(branch);
        let scale = self.config.coordinates.scale_per_m;
        let rope = self.rope.angles(positions.clone());
        let rates = self.rope.angle_rates::<B>(scale, &positions.device());
        let mut x = decoder.embed_dual(self.pos_embed.forward_with_tangents(positions, scale));
        for (block, contexts) in self.blocks.iter().zip(&encoded.trunk) {
            x = block.forward_dual(x, &rope, &rates, &contexts[branch.index()]);
        }
        decoder.decode_dual(x, &rope, &rates, &encoded.decoders[branch.index()])
    }

    /// Whether the volume branch needs tangents (a curl head is on).
    pub fn uses_curl(&self) -> bool {
        self.config.vorticity_head == VectorHead::Curl
            || self.config.velocity_head == VectorHead::Curl
    }

    /// Physical outputs `[N, channels]` at query positions: raw head outputs, with the curl
    /// heads' potentials replaced by their curls.
    pub fn decode(
        &self,
        encoded: &Encoded<B>,
        branch: Branch,
        positions: Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        if branch == Branch::Surface || !self.uses_curl() {
            return self.decode_raw(encoded, branch, positions);
        }
        let dual = self.decode_with_tangents(encoded, branch, positions);
        self.apply_curl_heads(dual)
    }

    /// Replaces potential channels by curls: velocity `1..4` → `u∞ + ∇×A`, vorticity `4..7` →
    /// `∇×ψ`.
    pub fn apply_curl_heads(&self, dual: Dual<B>) -> Tensor<B, 2> {
        let device = dual.value.device();
        let [n, _] = dual.value.dims();
        let pressure = dual.value.clone().narrow(1, 0, 1);
        let velocity = match self.config.velocity_head {
            VectorHead::Direct => dual.value.clone().narrow(1, 1, 3),
            VectorHead::Curl => {
                tangent::curl(&dual.tangent, 1)
                    + tensor_from::<B, 2>(self.config.freestream_velocity.to_vec(), [1, 3], &device)
            }
        };
        let vorticity = match self.config.vorticity_head {
            VectorHead::Direct => dual.value.narrow(1, 4, 3),
            VectorHead::Curl => tangent::curl(&dual.tangent, 4),
        };
        let out = Tensor::cat(vec![pressure, velocity, vorticity], 1);
        debug_assert_eq!(out.dims(), [n, 7]);
        out
    }

    /// The anchors' physical outputs: the raw outputs, or for curl heads the field evaluated at
    /// the anchors (identical values, plus the derivatives the curl needs).
    pub fn anchor_outputs(
        &self,
        encoded: &Encoded<B>,
        volume_anchors: Tensor<B, 2>,
    ) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let volume = if self.uses_curl() {
            self.decode(encoded, Branch::Volume, volume_anchors)
        } else {
            encoded.volume_anchors.clone()
        };
        (encoded.surface_anchors.clone(), volume)
    }

    /// Streams `positions` through [`decode`](Self::decode) `chunk` points at a time and returns
    /// the outputs row-major `[N · channels]` on the host. Memory is bounded by the chunk, and
    /// the result does not depend on it.
    pub fn decode_chunked(
        &self,
        encoded: &Encoded<B>,
        branch: Branch,
        positions: &[[f32; 3]],
        chunk: usize,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<f32>, ModelError> {
        let device = encoded.surface_anchors.device();
        let channels = match branch {
            Branch::Surface => self.config.surface_channels,
            Branch::Volume => self.config.volume_channels,
        };
        let chunk = chunk.max(1);
        let mut out = Vec::with_capacity(positions.len() * channels);
        for part in positions.chunks(chunk) {
            let rows = if super::cpu_kernels::applies::<B>() {
                part.len()
            } else {
                padded_rows(part.len(), chunk)
            };
            let mut flat: Vec<f32> = part.iter().flatten().copied().collect();
            let last = part.last().copied().unwrap_or_default();
            for _ in part.len()..rows {
                flat.extend_from_slice(&last);
            }
            let pos = tensor_from::<B, 2>(flat, [rows, 3], &device);
            let values = self.decode(encoded, branch, pos).into_data();
            let values = values
                .convert::<f32>()
                .into_vec::<f32>()
                .map_err(|e| ModelError::Input(format!("{e:?}")))?;
            out.extend_from_slice(&values[..part.len() * channels]);
            progress(part.len());
        }
        Ok(out)
    }
}

/// Rows a GPU backend decodes for a part of `len` query points out of chunks of `chunk`. GPU
/// backends compile (and autotune) kernels per shape, so the short last part is padded to the next
/// power of two (at least 64, at most the chunk) by repeating its last point: a stream then meets
/// few shapes. A full chunk is never padded: padding 49,152 rows to 65,536 would waste a quarter
/// of the work. Queries are independent, so padding changes no result; the CPU needs none.
fn padded_rows(len: usize, chunk: usize) -> usize {
    if len >= chunk {
        len
    } else {
        len.next_power_of_two().max(64).min(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::padded_rows;

    #[test]
    fn only_a_short_last_part_is_padded() {
        assert_eq!(padded_rows(49_152, 49_152), 49_152);
        assert_eq!(padded_rows(65_536, 65_536), 65_536);
        assert_eq!(padded_rows(5_000, 49_152), 8_192);
        assert_eq!(padded_rows(40_000, 49_152), 49_152);
        assert_eq!(padded_rows(10, 8_192), 64);
        assert_eq!(padded_rows(10, 32), 32);
        assert_eq!(padded_rows(7, 7), 7);
    }
}
