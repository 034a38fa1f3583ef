//! Geometry of meshes: derived quantities (bounding boxes, cell areas and normals, the enclosed
//! volume of a surface, cell centres and cell volumes) and the queries the model's inputs are made
//! with (area-weighted surface sampling, volume sampling around a body, inside/outside by the
//! generalized winding number, distances, neighbour search, frontal area).
//!
//! In the data flow this is the stage after [`crate::mesh`] and before the model: readers deliver a
//! [`Mesh`](crate::mesh::Mesh) of `f32` points and VTK cells; this module turns it into what the
//! model and the physics consume. Everything is accumulated in `f64`, works on any cell mix, and
//! degrades to zeros or errors instead of panicking on inconsistent data. Lengths are in the mesh's
//! units (metres for car meshes), so areas are in m² and volumes in m³.

pub mod bounds;
pub mod bvh;
pub mod cell_volume;
pub mod centroid;
pub mod distance;
pub mod frontal_area;
pub mod gradient;
mod morton;
pub mod neighbours;
mod polygon;
pub mod sample_cloud;
pub mod sampling;
pub mod shape_descriptor;
pub mod surface;
pub mod surface_query;
pub mod synthetic;
#[cfg(test)]
mod test_shapes;
pub mod triangles;
pub(crate) mod vec3;
pub mod volume_sampling;
pub mod winding;

pub use bounds::{bounding_box, Aabb};
pub use cell_volume::{cell_volume_m3, cell_volumes_m3, total_volume_m3};
pub use centroid::{cell_centre, cell_centres};
pub use frontal_area::{frontal_area, FrontalArea, FrontalAreaError};
pub use neighbours::{idw_interpolate, Neighbour, Neighbours, PointIndex, Ragged};
pub use sample_cloud::{sample_cloud, SampleOptions, SampleReport};
pub use sampling::{choose_subset, sample_surface, SurfaceSamples};
pub use surface::{outward_normals, surface_properties, SurfaceProperties};
pub use surface_query::{Closest, SurfaceQuery};
pub use triangles::{Triangle, TriangleSoup};
pub use volume_sampling::{sample_volume, VolumeSamplingConfig, VolumeSamplingError};
