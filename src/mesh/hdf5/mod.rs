//! HDF5 files, through the pure-Rust `hdf5-pure` crate (no libhdf5).
//!
//! Three things live here:
//!
//! - [`read`] / [`read_dataset`]: any HDF5 file as plain numeric datasets and attributes
//!   ([`H5Contents`]), for `info`, for dataset layouts written by other tools (h5py) and for prepared
//!   training runs.
//! - slipstream's own mesh layout (root attribute `layout = "slipstream-mesh"`): [`write_mesh`] and
//!   [`mesh_from_contents`].
//! - [`H5Writer`], a small general writer (nested groups, float/integer datasets, text and number
//!   attributes) that writes atomically.
//!
//! # The mesh layout
//!
//! | dataset | shape | type |
//! |---|---|---|
//! | `points` | `[N, 3]` | float32 |
//! | `cells/types` | `[C]` | uint8 (VTK cell type ids) |
//! | `cells/offsets` | `[C + 1]` | int64 |
//! | `cells/connectivity` | `[K]` | int64 |
//! | `cells/polyhedron_faces`, `cells/face_offsets`, `cells/face_connectivity` | `[C + 1]`, `[F + 1]`, `[L]` | int64, only with polyhedra |
//! | `cells/part_id` | `[C]` | int32, only with parts; root attribute `part_names` holds the names joined by `'\n'` |
//! | `point_data/<name>`, `cell_data/<name>` | `[N]` or `[N, components]` | float32 or float64 as held in memory |
//! | `field_data/<name>` | `[T]` or `[T, components]` | float32 or float64 |
//!
//! Array names containing `/` are stored with `|` in its place. Every array carries an attribute
//! `index` (its position, so that the order of the arrays survives the round trip) and, where the
//! array came from a file that stored it as another type (ids as `Int32`), `source_type` (VTK's
//! spelling). The root also carries `layout_version = 1`.
//!
//! The files: `contents` (what a read gives), `read`, `write` ([`H5Writer`]) and `mesh_layout`.

mod contents;
mod mesh_layout;
mod read;
#[cfg(test)]
mod tests;
mod write;

pub use contents::*;
pub use mesh_layout::{mesh_from_contents, write_mesh};
pub use read::{dataset_shape, parse, read, read_dataset, read_root_attributes, read_rows_f32};
pub use write::H5Writer;
