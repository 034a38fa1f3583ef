//! A prepared run (DESIGN.md "Prepared run"): what `prepare` writes for each run and what
//! training, evaluation and the baselines read back, one type both ways.
//!
//! Runs of the bundled dataset are a few megabytes, so a run is read whole; the fields are kept
//! row-major exactly as stored.

use super::schema;
use std::path::Path;

use super::DataError;
use crate::geometry::shape_descriptor::{shape_descriptor, OrientedPoints};
use crate::mesh::hdf5::{self, H5Contents, H5Writer};
use crate::physics::{Axes, PressureKind, Reference, SurfaceLoads};

/// The run's units and reference values (root attributes).
#[derive(Debug, Clone, PartialEq)]
pub struct RunMeta {
    pub pressure_kind: PressureKind,
    pub reference: Reference,
    pub axes: Axes,
    /// Ground-truth coefficients from the dataset's force file, where it has them.
    pub cd: Option<f64>,
    pub cl: Option<f64>,
    pub cs: Option<f64>,
    /// Target fields the dataset does not have (root attribute `absent_fields`, e.g.
    /// ShapeNet-Car's `surface/wall_shear,volume/pressure`): masked out of the loss, the
    /// statistics and the metrics, never trained towards zero.
    pub absent: Vec<String>,
    /// The run's design parameters (root attributes `parameter_names`/`parameter_values`), in
    /// the dataset's order; empty where the dataset has none.
    pub parameters: super::design_parameters::Parameters,
    /// A drag value the dataset publishes without its definition (ShapeNet-Car's `cd.txt`; root
    /// attribute `cd_published`): reported beside the integrated Cd, never used as ground truth.
    pub cd_published: Option<f64>,
    /// The layout the run was prepared from (root attribute `layout`: `slipstream`,
    /// `drivaerml`, …).
    pub layout: String,
    /// The whole surface's area, m² (root attribute `surface_total_area_m2`): the prepared
    /// surface is a subset whose areas no longer add up to it.
    pub surface_total_area_m2: Option<f64>,
}

/// The target fields a dataset may lack, as prepared datasets name them ([`schema::TARGETS`]).
pub const MASKABLE_FIELDS: [&str; 5] = {
    let t = schema::TARGETS;
    [t[0].0, t[1].0, t[2].0, t[3].0, t[4].0]
};

impl RunMeta {
    /// The metadata of a run of `layout` in these units, with no coefficients, parameters or
    /// absent fields yet (a layout adds what its dataset has).
    pub fn new(
        layout: &str,
        pressure_kind: PressureKind,
        reference: Reference,
        axes: Axes,
    ) -> Self {
        RunMeta {
            pressure_kind,
            reference,
            axes,
            cd: None,
            cl: None,
            cs: None,
            absent: Vec::new(),
            parameters: Vec::new(),
            cd_published: None,
            layout: layout.to_string(),
            surface_total_area_m2: None,
        }
    }

    /// Whether the run has target field `dataset` (e.g. `surface/wall_shear`).
    pub fn has(&self, dataset: &str) -> bool {
        !self.absent.iter().any(|a| a == dataset)
    }
}

pub use super::schema::ABSENT_ATTRIBUTE;

/// A prepared file's `absent_fields` names a field that cannot be absent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`absent_fields` names `{0}`; only these fields may be absent: {fields}", fields = MASKABLE_FIELDS.join(", "))]
pub struct UnknownAbsentField(pub String);

/// The absent fields a prepared file's root attributes list (none without the attribute).
pub fn absent_fields(h5: &H5Contents) -> Result<Vec<String>, UnknownAbsentField> {
    match h5
        .attribute("/", ABSENT_ATTRIBUTE)
        .and_then(|a| a.as_text())
    {
        Some(text) => parse_absent(text),
        None => Ok(Vec::new()),
    }
}

/// The absent fields a root attribute `absent_fields` lists (comma-separated), checked.
fn parse_absent(text: &str) -> Result<Vec<String>, UnknownAbsentField> {
    let names: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(bad) = names
        .iter()
        .find(|n| !MASKABLE_FIELDS.contains(&n.as_str()))
    {
        return Err(UnknownAbsentField(bad.clone()));
    }
    Ok(names)
}

/// A branch's name, its row count, and its datasets (name, values, width).
type Group<'a> = (&'a str, usize, &'a [(&'a str, &'a Vec<f32>, usize)]);

/// One prepared run in memory. Vectors are `[N·3]`, scalars `[N]`.
#[derive(Debug, Clone)]
pub struct PreparedRun {
    pub name: String,
    pub meta: RunMeta,
    pub surface_position: Vec<f32>,
    pub surface_normal: Vec<f32>,
    pub surface_area: Vec<f32>,
    pub surface_pressure: Vec<f32>,
    pub surface_wall_shear: Vec<f32>,
    pub volume_position: Vec<f32>,
    pub volume_velocity: Vec<f32>,
    pub volume_pressure: Vec<f32>,
    pub volume_vorticity: Vec<f32>,
    /// The resampled CAD surface.
    pub geometry_position: Vec<f32>,
}

fn dataset(h5: &H5Contents, path: &Path, name: &str, width: usize) -> Result<Vec<f32>, DataError> {
    let d = h5
        .dataset(name)
        .ok_or_else(|| DataError::file(path, format!("no dataset `{name}`")))?;
    if d.components() != width {
        return Err(DataError::file(
            path,
            format!(
                "`{name}` has {} components per row, expected {width}",
                d.components()
            ),
        ));
    }
    Ok(d.values.to_f32().into_owned())
}

/// A prepared run's name and units from its root attributes.
fn meta_of(h5: &H5Contents, path: &Path) -> Result<(String, RunMeta), DataError> {
    let text = |name: &str| -> Result<String, DataError> {
        h5.attribute("/", name)
            .and_then(|a| a.as_text())
            .map(str::to_string)
            .ok_or_else(|| DataError::file(path, format!("no text attribute `{name}`")))
    };
    let number = |name: &str| -> Result<f64, DataError> {
        h5.attribute("/", name)
            .and_then(|a| a.as_number())
            .ok_or_else(|| DataError::file(path, format!("no number attribute `{name}`")))
    };
    let optional = |name: &str| h5.attribute("/", name).and_then(|a| a.as_number());
    let bad = |e: crate::physics::PhysicsError| DataError::file(path, e.to_string());
    let meta = RunMeta {
        pressure_kind: PressureKind::parse(&text("pressure_kind")?).map_err(bad)?,
        reference: Reference {
            density_kg_m3: number("density_kg_m3")?,
            speed_m_s: number("speed_m_s")?,
            area_m2: number("ref_area_m2")?,
            length_m: number("ref_length_m")?,
        },
        axes: Axes::parse(&text("flow_axis")?, &text("up_axis")?).map_err(bad)?,
        cd: optional("cd"),
        cl: optional("cl"),
        cs: optional("cs"),
        absent: absent_fields(h5).map_err(|e| DataError::file(path, e))?,
        parameters: super::design_parameters::from_attributes(h5)
            .map_err(|e| DataError::file(path, e))?,
        cd_published: optional("cd_published"),
        layout: text("layout").unwrap_or_default(),
        surface_total_area_m2: optional("surface_total_area_m2"),
    };
    meta.reference.check().map_err(bad)?;
    let name = text("run").unwrap_or_else(|_| {
        path.file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()
    });
    Ok((name, meta))
}

/// A prepared run's name and units, reading only its attributes.
pub fn read_meta(path: &Path) -> Result<(String, RunMeta), DataError> {
    let h5 = hdf5::read_root_attributes(path).map_err(|e| DataError::file(path, e.to_string()))?;
    meta_of(&h5, path)
}

impl PreparedRun {
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let h5 = hdf5::read(path).map_err(|e| DataError::file(path, e.to_string()))?;
        let (name, meta) = meta_of(&h5, path)?;
        let surface_area = dataset(&h5, path, schema::SURFACE_AREA, 1)?;
        let volume_position = dataset(&h5, path, schema::VOLUME_POSITION, 3)?;
        let (ns, nv) = (surface_area.len(), volume_position.len() / 3);
        // An absent field is held as zeros, so every run has the same shape; what reads
        // targets consults `meta.has` and masks them.
        let target = |name: &str, rows: usize, width: usize| match meta.has(name) {
            true => dataset(&h5, path, name, width),
            false => Ok(vec![0.0; rows * width]),
        };
        let run = PreparedRun {
            surface_position: dataset(&h5, path, schema::SURFACE_POSITION, 3)?,
            surface_normal: dataset(&h5, path, schema::SURFACE_NORMAL, 3)?,
            surface_pressure: target(schema::SURFACE_PRESSURE, ns, 1)?,
            surface_wall_shear: target(schema::SURFACE_WALL_SHEAR, ns, 3)?,
            volume_velocity: target(schema::VOLUME_VELOCITY, nv, 3)?,
            volume_pressure: target(schema::VOLUME_PRESSURE, nv, 1)?,
            volume_vorticity: target(schema::VOLUME_VORTICITY, nv, 3)?,
            geometry_position: dataset(&h5, path, schema::GEOMETRY_POSITION, 3)?,
            surface_area,
            volume_position,
            name,
            meta,
        };
        run.check(path)?;
        Ok(run)
    }

    /// Row counts agree between a branch's datasets, and no branch is empty.
    fn check(&self, path: &Path) -> Result<(), DataError> {
        let ns = self.surface_area.len();
        let nv = self.volume_len();
        let groups: [Group; 2] = [
            (
                "surface",
                ns,
                &[
                    ("position", &self.surface_position, 3),
                    ("normal", &self.surface_normal, 3),
                    ("pressure", &self.surface_pressure, 1),
                    ("wall_shear", &self.surface_wall_shear, 3),
                ],
            ),
            (
                "volume",
                nv,
                &[
                    ("pressure", &self.volume_pressure, 1),
                    ("velocity", &self.volume_velocity, 3),
                    ("vorticity", &self.volume_vorticity, 3),
                ],
            ),
        ];
        for (group, rows, members) in groups {
            if rows == 0 {
                return Err(DataError::file(path, format!("`{group}` has no rows")));
            }
            for (name, values, width) in members {
                if values.len() != rows * width {
                    return Err(DataError::file(
                        path,
                        format!(
                            "`{group}/{name}` has {} rows, other `{group}` datasets {rows}",
                            values.len() / width
                        ),
                    ));
                }
            }
        }
        if self.geometry_position.is_empty() {
            return Err(DataError::file(path, "`geometry/position` has no rows"));
        }
        Ok(())
    }

    /// Writes the run to `out` (temporary file, then rename). Absent target fields are not
    /// written; the `absent_fields` attribute lists them.
    pub fn write(&self, out: &Path) -> Result<(), DataError> {
        let meta = &self.meta;
        let (ns, nv) = (self.surface_len(), self.volume_len());
        let mut h5 = H5Writer::new();
        h5.compress(true)
            .dataset_f32(schema::SURFACE_POSITION, &[ns, 3], &self.surface_position)
            .dataset_f32(schema::SURFACE_NORMAL, &[ns, 3], &self.surface_normal)
            .dataset_f32(schema::SURFACE_AREA, &[ns], &self.surface_area)
            .dataset_f32(schema::VOLUME_POSITION, &[nv, 3], &self.volume_position);
        let targets: [(&str, usize, usize, &[f32]); 5] = [
            (schema::SURFACE_PRESSURE, ns, 1, &self.surface_pressure),
            (schema::SURFACE_WALL_SHEAR, ns, 3, &self.surface_wall_shear),
            (schema::VOLUME_PRESSURE, nv, 1, &self.volume_pressure),
            (schema::VOLUME_VELOCITY, nv, 3, &self.volume_velocity),
            (schema::VOLUME_VORTICITY, nv, 3, &self.volume_vorticity),
        ];
        for (name, rows, width, values) in targets {
            if !meta.has(name) {
                continue;
            }
            match width {
                1 => h5.dataset_f32(name, &[rows], values),
                _ => h5.dataset_f32(name, &[rows, width], values),
            };
        }
        if !meta.absent.is_empty() {
            h5.attr_text("/", schema::ABSENT_ATTRIBUTE, &meta.absent.join(","));
        }
        let reference = &meta.reference;
        h5.dataset_f32(
            schema::GEOMETRY_POSITION,
            &[self.geometry_position.len() / 3, 3],
            &self.geometry_position,
        )
        .attr_text("/", "layout", &meta.layout)
        .attr_text("/", "run", &self.name)
        .attr_text("/", "pressure_kind", meta.pressure_kind.name())
        .attr_f64("/", "density_kg_m3", reference.density_kg_m3)
        .attr_f64("/", "speed_m_s", reference.speed_m_s)
        .attr_f64("/", "ref_area_m2", reference.area_m2)
        .attr_f64("/", "ref_length_m", reference.length_m)
        .attr_text("/", "up_axis", Axes::name(meta.axes.up))
        .attr_text("/", "flow_axis", Axes::name(meta.axes.flow));
        if let Some(area) = meta.surface_total_area_m2 {
            h5.attr_f64("/", "surface_total_area_m2", area);
        }
        for (name, value) in [("cd", meta.cd), ("cl", meta.cl), ("cs", meta.cs)] {
            if let Some(v) = value {
                h5.attr_f64("/", name, v);
            }
        }
        if let Some(v) = meta.cd_published {
            h5.attr_f64("/", "cd_published", v);
        }
        if !meta.parameters.is_empty() {
            use super::design_parameters::{check, NAMES_ATTRIBUTE, VALUES_ATTRIBUTE};
            check(&meta.parameters)
                .map_err(|e| DataError::file(out, format!("run {}: {e}", self.name)))?;
            let (names, values): (Vec<&str>, Vec<f64>) = meta
                .parameters
                .iter()
                .map(|(n, v)| (n.as_str(), *v))
                .unzip();
            h5.attr_text("/", NAMES_ATTRIBUTE, &names.join(","))
                .attr_f64s("/", VALUES_ATTRIBUTE, &values);
        }
        h5.write(out).map_err(|e| DataError::write(out, e))
    }

    pub fn surface_len(&self) -> usize {
        self.surface_area.len()
    }

    pub fn volume_len(&self) -> usize {
        self.volume_position.len() / 3
    }

    /// The surface loads of this run with other pressure and shear values (a prediction).
    pub fn loads_with<'a>(&'a self, pressure: &'a [f32], shear: &'a [f32]) -> SurfaceLoads<'a> {
        SurfaceLoads {
            normal: &self.surface_normal,
            area_m2: &self.surface_area,
            pressure,
            shear,
            position_m: &self.surface_position,
        }
    }

    /// The run's own surface loads.
    pub fn loads(&self) -> SurfaceLoads<'_> {
        self.loads_with(&self.surface_pressure, &self.surface_wall_shear)
    }

    /// The body's [shape descriptor](crate::geometry::shape_descriptor) from its surface cells
    /// (centres, normals, areas), in the run's own axes.
    pub fn shape_descriptor(&self) -> Result<Vec<f64>, DataError> {
        let triples = |v: &[f32]| {
            v.chunks_exact(3)
                .map(|p| [p[0], p[1], p[2]])
                .collect::<Vec<_>>()
        };
        let (position, normal) = (
            triples(&self.surface_position),
            triples(&self.surface_normal),
        );
        let area: Vec<f64> = self.surface_area.iter().map(|a| *a as f64).collect();
        let points = OrientedPoints {
            position: &position,
            normal: &normal,
            area_m2: &area,
        };
        shape_descriptor(points, self.meta.axes.flow, self.meta.axes.up, 0)
            .map_err(|e| DataError::file(Path::new(&self.name), format!("its surface: {e}")))
    }
}
