//! `slipstream train`: fits AB-UPT to a prepared dataset on the CPU or a GPU, with checkpoints
//! that resume exactly.
//!
//! - [`config`]: the TOML configuration.
//! - [`optim`]: Lion and global-norm gradient clipping.
//! - [`checkpoint`]: atomic checkpoints (weights, optimiser state, statistics, configuration).
//! - [`trainer`]: the loop.
//! - [`curve`]: the loss-curve picture.

pub mod checkpoint;
pub mod config;
pub mod curve;
pub mod optim;
pub mod trainer;

pub use config::TrainConfig;
pub use trainer::{batch_loss, Residence, TrainJob, TrainReport};
