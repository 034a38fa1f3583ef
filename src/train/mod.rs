//! `slipstream train`: fits AB-UPT to a prepared dataset on the CPU or a GPU, with checkpoints
//! that resume exactly.
//!
//! - [`optim`]: Lion and global-norm gradient clipping.
//! - [`trainer`]: the loop.
//! - [`curve`]: the loss-curve picture.

pub mod curve;
pub mod optim;
pub mod trainer;

// The checkpoint format and the TOML configuration live in `crate::checkpoint`, below the jobs,
// since `eval` and `predict` read checkpoints too; they are re-exported here.
pub use crate::checkpoint::train_config as config;
pub use crate::checkpoint::{self, TrainConfig};
pub use trainer::{batch_loss, Residence, TrainJob, TrainReport};
