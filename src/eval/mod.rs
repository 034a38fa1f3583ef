//! `slipstream eval`: the field's accuracy metrics for a checkpoint on a dataset split, next to
//! the mean-field and nearest-geometry baselines.

pub mod evaluate;
pub mod metrics;

pub use evaluate::{EvalJob, EvalReport};
