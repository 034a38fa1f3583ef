//! `slipstream train`: fits AB-UPT to a prepared dataset on the CPU or a GPU, with checkpoints
//! that resume exactly.
//!
//! - [`optim`]: Lion and global-norm gradient clipping.
//! - [`trainer`]: the loop; `start` where a run begins (resume, `--init-from`, a seeded
//!   initialisation), `training_domain` what its checkpoint records about the training runs.
//! - [`loss`]: the loss terms; `log` the JSONL training log.
//! - [`curve`]: the loss-curve picture.

pub mod curve;
mod log;
pub mod loss;
pub mod optim;
mod start;
pub mod trainer;
mod training_domain;

// The checkpoint format and the TOML configuration live in `crate::checkpoint`, below the jobs,
// since `eval` and `predict` read checkpoints too; they are re-exported here.
pub use crate::checkpoint::train_config as config;
pub use crate::checkpoint::{self, TrainConfig};
pub use loss::batch_loss;
pub use trainer::{Residence, TrainJob, TrainReport};
