//! `slipstream eval`: the field's accuracy metrics for a checkpoint on a dataset split, next to
//! the mean-field, nearest-geometry and parametric (ridge on the design parameters) baselines.

mod baselines;
pub mod calibrate;
pub mod evaluate;
mod fields;
mod fields_out;
pub mod metrics;
pub mod parametric;
pub mod report;
mod run_prediction;
mod scores;
pub mod uncertainty;

pub use evaluate::EvalJob;
pub use report::EvalReport;
