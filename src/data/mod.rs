//! Datasets: the files that describe runs (force and geometry CSVs), preparation into HDF5 runs,
//! splits and normalisation statistics, and the batches training draws from prepared runs.

pub mod batch;
pub mod csv_table;
pub mod dataset;
pub mod design_parameters;
mod error;
pub mod info;
pub mod layouts;
pub mod point_match;
pub mod prepare;
pub mod published_splits;
pub mod reading;
pub mod run;
pub mod schema;
pub mod split_rule;
pub mod stats;

pub use batch::{
    batch_for_run, sample_batch, Batch, BatchSpec, Normalizer, Prefetcher, VolumeFields,
};
pub use csv_table::{CsvError, CsvTable};
pub use dataset::{PreparedDataset, Split};
pub use error::DataError;
pub use run::{PreparedRun, RunMeta};
