//! Derived geometric quantities of meshes: bounding boxes, cell areas and normals, the enclosed
//! volume of a surface, cell centres and cell volumes.
//!
//! In the data flow this is the stage after [`crate::mesh`] and before the model: readers deliver a
//! [`Mesh`](crate::mesh::Mesh) of `f32` points and VTK cells; this module turns it into what the
//! model and the physics consume (positions, normals and areas of surface cells, positions and
//! volumes of volume cells), and what `info` reports. Everything is accumulated in `f64`, works on
//! any cell mix (VTK's linear cells, polyhedra, and quadratic cells by their nodes), and degrades to
//! zeros instead of panicking on inconsistent data. Lengths are in the mesh's units (metres for car
//! meshes), so areas are in m² and volumes in m³.

pub mod bounds;
pub mod cell_volume;
pub mod centroid;
mod polygon;
pub mod surface;
pub mod triangles;
mod vec3;

pub use bounds::{bounding_box, Aabb};
pub use cell_volume::{cell_volume_m3, cell_volumes_m3, total_volume_m3};
pub use centroid::{cell_centre, cell_centres};
pub use surface::{outward_normals, surface_properties, SurfaceProperties};
pub use triangles::{Triangle, TriangleSoup};
