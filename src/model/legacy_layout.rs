//! The weights' order in checkpoints written before the branches became [`BranchDecoder`]s
//! (`checkpoint.json` without `weights_layout`, or `weights_layout = 1`).
//!
//! burn's binary record stores a module's fields in declaration order and without names, so a
//! checkpoint can only be read through a module with the fields it was written from. This one
//! has them; its weights are moved into an [`AbUpt`] field by field, nothing recomputed.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::backend::Backend;

use super::abupt::AbUpt;
use super::block::Block;
use super::branch_decoder::BranchDecoder;
use super::config::AbUptConfig;
use super::embedding::{RopeFrequencies, SincosEmbedding};
use super::mlp::Mlp;
use super::supernode::SupernodePooling;

/// [`AbUpt`] as it was laid out in weights layout 1. The three skipped fields stand where the
/// model's configuration, embedding and RoPE frequencies stood (they store nothing).
#[derive(Module, Debug)]
pub struct AbUptLayout1<B: Backend> {
    encoder: SupernodePooling<B>,
    geometry_blocks: Vec<Block<B>>,
    surface_bias: Mlp<B>,
    volume_bias: Mlp<B>,
    blocks: Vec<Block<B>>,
    surface_blocks: Vec<Block<B>>,
    volume_blocks: Vec<Block<B>>,
    surface_decoder: Linear<B>,
    volume_decoder: Linear<B>,
    #[module(skip)]
    config: (),
    #[module(skip)]
    pos_embed: (),
    #[module(skip)]
    rope: (),
}

/// What layout 1 did not store: the parts of an [`AbUpt`] that are not weights.
type NotStored = (AbUptConfig, SincosEmbedding, RopeFrequencies);

impl<B: Backend> AbUptLayout1<B> {
    /// `model`'s weights in layout 1's order, and what it keeps besides.
    fn from_model(model: AbUpt<B>) -> (Self, NotStored) {
        let AbUpt {
            encoder,
            geometry_blocks,
            blocks,
            surface,
            volume,
            config,
            pos_embed,
            rope,
        } = model;
        let old = AbUptLayout1 {
            encoder,
            geometry_blocks,
            surface_bias: surface.bias,
            volume_bias: volume.bias,
            blocks,
            surface_blocks: surface.blocks,
            volume_blocks: volume.blocks,
            surface_decoder: surface.head,
            volume_decoder: volume.head,
            config: (),
            pos_embed: (),
            rope: (),
        };
        (old, (config, pos_embed, rope))
    }

    /// The model again, from these weights and what [`from_model`](Self::from_model) kept.
    fn into_model(self, (config, pos_embed, rope): NotStored) -> AbUpt<B> {
        AbUpt {
            encoder: self.encoder,
            geometry_blocks: self.geometry_blocks,
            blocks: self.blocks,
            surface: BranchDecoder {
                bias: self.surface_bias,
                blocks: self.surface_blocks,
                head: self.surface_decoder,
            },
            volume: BranchDecoder {
                bias: self.volume_bias,
                blocks: self.volume_blocks,
                head: self.volume_decoder,
            },
            config,
            pos_embed,
            rope,
        }
    }
}

impl<B: Backend> AbUpt<B> {
    /// This model with its weights replaced by `record`, read from a checkpoint in weights
    /// layout 1.
    pub fn load_layout1_record(self, record: AbUptLayout1Record<B>) -> Self {
        let (old, kept) = AbUptLayout1::from_model(self);
        old.load_record(record).into_model(kept)
    }
}

#[cfg(test)]
mod tests {
    use burn::module::{ModuleVisitor, Param};
    use burn::record::{BinFileRecorder, FullPrecisionSettings, Recorder};
    use burn::tensor::Tensor;

    use super::*;
    use crate::model::{AbUptConfig, Cpu};

    /// Every float weight, with its parameter id, in visiting order.
    struct Weights(Vec<(String, Vec<f32>)>);

    impl<B: Backend> ModuleVisitor<B> for Weights {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let values = param.val().into_data().convert::<f32>().to_vec().unwrap();
            self.0.push((param.id.to_string(), values));
        }
    }

    fn weights(model: &AbUpt<Cpu>) -> Vec<(String, Vec<f32>)> {
        let mut w = Weights(Vec::new());
        model.visit(&mut w);
        w.0
    }

    #[test]
    fn a_layout1_file_loads_every_weight_into_its_place() {
        let device = Default::default();
        let config = AbUptConfig::tiny();
        let original = AbUpt::<Cpu>::init(&config, 7, &device).unwrap();
        let expected = weights(&original);
        // Written the way checkpoints were before the branch decoders.
        let (old, _) = AbUptLayout1::from_model(original);
        let dir = tempfile::tempdir().unwrap();
        let recorder = BinFileRecorder::<FullPrecisionSettings>::new();
        recorder
            .record(old.into_record(), dir.path().join("model"))
            .unwrap();
        let record = recorder.load(dir.path().join("model"), &device).unwrap();
        // Another seed: every weight must come from the file.
        let loaded = AbUpt::<Cpu>::init(&config, 8, &device)
            .unwrap()
            .load_layout1_record(record);
        let got = weights(&loaded);
        assert_eq!(got.len(), expected.len());
        for ((id_got, got), (id_expected, expected)) in got.iter().zip(&expected) {
            assert_eq!(id_got, id_expected);
            assert_eq!(got, expected, "parameter {id_got}");
        }
    }
}
