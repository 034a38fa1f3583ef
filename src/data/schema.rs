//! The prepared-run schema (DESIGN.md "Prepared run"), spelled once: the HDF5 dataset of every
//! array and its width, and the root attributes that name what a run lacks. `prepare` writes by
//! these names ([`super::run::PreparedRun::write`]), training and evaluation read by them
//! ([`super::run`], [`super::batch`]), the statistics and `dataset info` list them.

/// Cell centres of the surface, `[N, 3]` m.
pub const SURFACE_POSITION: &str = "surface/position";
/// Outward unit normals (out of the body into the fluid), `[N, 3]`.
pub const SURFACE_NORMAL: &str = "surface/normal";
/// Cell areas, `[N]` m².
pub const SURFACE_AREA: &str = "surface/area";
/// Surface pressure, `[N]`, in the run's `pressure_kind`.
pub const SURFACE_PRESSURE: &str = "surface/pressure";
/// Shear traction the fluid exerts on the body, `[N, 3]`.
pub const SURFACE_WALL_SHEAR: &str = "surface/wall_shear";
/// Volume cell centres, `[M, 3]` m.
pub const VOLUME_POSITION: &str = "volume/position";
/// Velocity, `[M, 3]` m/s.
pub const VOLUME_VELOCITY: &str = "volume/velocity";
/// Volume pressure, `[M]`.
pub const VOLUME_PRESSURE: &str = "volume/pressure";
/// Vorticity, `[M, 3]` 1/s.
pub const VOLUME_VORTICITY: &str = "volume/vorticity";
/// Points resampled on the CAD surface, `[K, 3]` m.
pub const GEOMETRY_POSITION: &str = "geometry/position";

/// The target fields, with their widths: what a model predicts, and what a dataset may lack
/// (listed in [`ABSENT_ATTRIBUTE`], masked out of the loss, the statistics and the metrics).
pub const TARGETS: [(&str, usize); 5] = [
    (SURFACE_PRESSURE, 1),
    (SURFACE_WALL_SHEAR, 3),
    (VOLUME_PRESSURE, 1),
    (VOLUME_VELOCITY, 3),
    (VOLUME_VORTICITY, 3),
];

/// The root attribute listing a prepared run's absent target fields (comma-separated).
pub const ABSENT_ATTRIBUTE: &str = "absent_fields";
