//! What `prepare` writes for one run: every array and attribute of a prepared run (DESIGN.md
//! "Prepared run"), as the layouts fill them in, and their writing to HDF5.

use crate::data::schema;
use std::path::Path;

use crate::data::DataError;
use crate::mesh::hdf5::H5Writer;

/// Everything a prepared run stores (DESIGN.md "Prepared run"), row-major float32.
#[derive(Debug, Clone, Default)]
pub struct PreparedArrays {
    pub surface_position: Vec<f32>,
    pub surface_normal: Vec<f32>,
    pub surface_area: Vec<f32>,
    pub surface_pressure: Vec<f32>,
    pub surface_wall_shear: Vec<f32>,
    pub volume_position: Vec<f32>,
    pub volume_velocity: Vec<f32>,
    pub volume_pressure: Vec<f32>,
    pub volume_vorticity: Vec<f32>,
    pub geometry_position: Vec<f32>,
    pub layout: String,
    pub run: String,
    pub pressure_kind: String,
    pub density_kg_m3: f64,
    pub speed_m_s: f64,
    pub ref_area_m2: f64,
    pub ref_length_m: f64,
    pub up_axis: String,
    pub flow_axis: String,
    /// cd, cl, cs where the dataset has them.
    pub coefficients: [Option<f64>; 3],
    /// The whole surface's area (a subset's areas no longer add up to it).
    pub surface_total_area_m2: f64,
    /// Target fields the dataset lacks (`run::MASKABLE_FIELDS` names): not written, and listed
    /// in the `absent_fields` attribute so that training and evaluation mask them.
    pub absent: Vec<&'static str>,
    /// The run's design parameters, where the dataset ships them (empty: none).
    pub parameters: crate::data::design_parameters::Parameters,
    /// A drag value the dataset publishes without saying how it was computed (ShapeNet-Car's
    /// `cd.txt`): root attribute `cd_published`, reported beside the integrated Cd, never used as
    /// ground truth.
    pub published_cd: Option<f64>,
}

impl PreparedArrays {
    /// Writes the run (temporary file, then rename).
    pub fn write(&self, out: &Path) -> Result<(), DataError> {
        let (ns, nv) = (self.surface_area.len(), self.volume_position.len() / 3);
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
            if self.absent.contains(&name) {
                continue;
            }
            match width {
                1 => h5.dataset_f32(name, &[rows], values),
                _ => h5.dataset_f32(name, &[rows, width], values),
            };
        }
        if !self.absent.is_empty() {
            h5.attr_text("/", schema::ABSENT_ATTRIBUTE, &self.absent.join(","));
        }
        h5.dataset_f32(
            schema::GEOMETRY_POSITION,
            &[self.geometry_position.len() / 3, 3],
            &self.geometry_position,
        )
        .attr_text("/", "layout", &self.layout)
        .attr_text("/", "run", &self.run)
        .attr_text("/", "pressure_kind", &self.pressure_kind)
        .attr_f64("/", "density_kg_m3", self.density_kg_m3)
        .attr_f64("/", "speed_m_s", self.speed_m_s)
        .attr_f64("/", "ref_area_m2", self.ref_area_m2)
        .attr_f64("/", "ref_length_m", self.ref_length_m)
        .attr_text("/", "up_axis", &self.up_axis)
        .attr_text("/", "flow_axis", &self.flow_axis)
        .attr_f64("/", "surface_total_area_m2", self.surface_total_area_m2);
        for (name, value) in ["cd", "cl", "cs"].iter().zip(self.coefficients) {
            if let Some(v) = value {
                h5.attr_f64("/", name, v);
            }
        }
        if let Some(v) = self.published_cd {
            h5.attr_f64("/", "cd_published", v);
        }
        if !self.parameters.is_empty() {
            use crate::data::design_parameters::{check, NAMES_ATTRIBUTE, VALUES_ATTRIBUTE};
            check(&self.parameters)
                .map_err(|e| DataError::file(out, format!("run {}: {e}", self.run)))?;
            let (names, values): (Vec<&str>, Vec<f64>) = self
                .parameters
                .iter()
                .map(|(n, v)| (n.as_str(), *v))
                .unzip();
            h5.attr_text("/", NAMES_ATTRIBUTE, &names.join(","))
                .attr_f64s("/", VALUES_ATTRIBUTE, &values);
        }
        h5.write(out).map_err(|e| DataError::write(out, e))
    }
}
