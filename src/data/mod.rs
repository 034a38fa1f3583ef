//! Datasets: the files that describe runs (force and geometry CSVs), dataset layouts, preparation
//! and training batches. So far: the CSV tables every automotive CFD dataset ships its ground truth in.

pub mod csv_table;
pub mod prepare;
pub mod stats;

pub use csv_table::{CsvError, CsvTable};
