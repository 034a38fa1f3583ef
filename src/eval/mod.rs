//! `slipstream eval`: the field's accuracy metrics for a checkpoint on a dataset split, next to
//! the mean-field, nearest-geometry and parametric (ridge on the design parameters) baselines.

pub mod calibrate;
pub mod evaluate;
pub mod metrics;
pub mod parametric;
pub mod report;
pub mod uncertainty;

pub use evaluate::EvalJob;
pub use report::EvalReport;
