//! The points the model sees for a body, as one point cloud to look at in ParaView
//! (`slipstream sample`).

use serde::{Deserialize, Serialize};

use super::sampling::sample_surface;
use super::surface_query::SurfaceQuery;
use super::triangles::TriangleSoup;
use super::volume_sampling::{sample_volume, VolumeSamplingConfig, VolumeSamplingError};
use crate::mesh::{Field, Mesh};

/// How many points of each kind, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleOptions {
    pub surface_points: usize,
    pub volume_points: usize,
    pub seed: u64,
    pub volume: VolumeSamplingConfig,
}

/// What sampling found out about the body on the way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleReport {
    pub triangles: usize,
    /// Some body of the surface was wound inward and its triangles were turned around.
    pub reoriented: bool,
    pub surface_points: usize,
    pub volume_points: usize,
}

/// Samples the surface (area-weighted, with outward normals) and the volume around it (outside the
/// body, denser near the wall). The result is a point cloud with point arrays `kind` (0 surface,
/// 1 volume), `normal` (outward unit normal; zero for volume points) and `signed_distance_m`
/// (distance to the surface, negative inside).
pub fn sample_cloud(
    surface: &Mesh,
    options: &SampleOptions,
) -> Result<(Mesh, SampleReport), VolumeSamplingError> {
    let mut soup = TriangleSoup::from_mesh(surface);
    if soup.is_empty() {
        return Err(VolumeSamplingError::EmptySurface);
    }
    let reoriented = soup.orient_bodies_outward().0 > 0;
    let surf = sample_surface(&soup, options.surface_points, options.seed);
    let query = SurfaceQuery::new(&soup);
    let volume = sample_volume(
        &soup,
        &query,
        options.volume_points,
        &options.volume,
        options.seed.wrapping_add(0x5eed),
    )?;
    let n_surface = surf.position.len();
    let mut points = surf.position;
    points.extend_from_slice(&volume);
    let distances: Vec<f32> = query
        .signed_distances(&points)
        .into_iter()
        .map(|d| d as f32)
        .collect();
    let mut normals: Vec<f32> = surf.normal.iter().flatten().copied().collect();
    normals.resize(points.len() * 3, 0.0);
    let kind: Vec<f32> = (0..points.len())
        .map(|i| if i < n_surface { 0.0 } else { 1.0 })
        .collect();
    let report = SampleReport {
        triangles: soup.len(),
        reoriented,
        surface_points: n_surface,
        volume_points: volume.len(),
    };
    let mut cloud = Mesh::point_cloud(points);
    cloud.point_data = vec![
        Field::new_f32("kind", 1, kind),
        Field::new_f32("normal", 3, normals),
        Field::new_f32("signed_distance_m", 1, distances),
    ];
    Ok((cloud, report))
}
