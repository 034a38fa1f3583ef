//! What `predict` writes: the surface with its fields per cell of the file given, the volume
//! (the given mesh's cells or the sampled points), the Cp picture and `summary.json`, all into a
//! staging folder first and moved into place together at the end, so a failure leaves the
//! previous outputs as they were.

use std::path::{Path, PathBuf};

use crate::data::VolumeFields;
use crate::export::surface_picture;
use crate::geometry::triangles::{triangle_area, TriangleSoup};
use crate::mesh::{self, Field, Mesh};
use crate::model::ModelError;

use super::coefficients::{Similarity, SurfaceAnswer};
use super::sigma::Sigma;

/// A folder inside the output folder that receives every file before any is moved into place.
pub(super) struct Staging {
    out: PathBuf,
    dir: PathBuf,
    files: Vec<&'static str>,
}

impl Staging {
    /// Creates `out` (if needed) and an empty staging folder in it.
    pub fn new(out: &Path) -> Result<Staging, ModelError> {
        std::fs::create_dir_all(out).map_err(|e| ModelError::write(out, e))?;
        let dir = out.join(".slipstream-predict.tmp");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| ModelError::write(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| ModelError::write(&dir, e))?;
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
            files: Vec::new(),
        })
    }

    pub fn write_mesh(&mut self, name: &'static str, mesh: &Mesh) -> Result<(), ModelError> {
        mesh::write_mesh(&self.dir.join(name), mesh).map_err(ModelError::write_error)?;
        self.files.push(name);
        Ok(())
    }

    pub fn write_picture(
        &mut self,
        name: &'static str,
        picture: &crate::export::canvas::Canvas,
    ) -> Result<(), ModelError> {
        picture
            .save_png(&self.dir.join(name))
            .map_err(ModelError::write_error)?;
        self.files.push(name);
        Ok(())
    }

    pub fn write_text(&mut self, name: &'static str, text: &str) -> Result<(), ModelError> {
        let path = self.dir.join(name);
        std::fs::write(&path, text).map_err(|e| ModelError::write(&path, e))?;
        self.files.push(name);
        Ok(())
    }

    /// Where `name` will be once the outputs are in place, if it was written.
    pub fn final_path(&self, name: &str) -> Option<String> {
        self.files
            .contains(&name)
            .then(|| self.out.join(name).display().to_string())
    }

    /// Moves every file written into the output folder (the staging folder goes when `self`
    /// is dropped).
    pub fn commit(self) -> Result<(), ModelError> {
        for name in &self.files {
            let to = self.out.join(name);
            std::fs::rename(self.dir.join(name), &to).map_err(|e| ModelError::write(&to, e))?;
        }
        Ok(())
    }
}

/// A prediction that failed halfway leaves no staging folder behind.
impl Drop for Staging {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// The surface as given, with pressure, Cp, wall shear, Cf, the unit normal and (with σ) their
/// standard deviations per cell: the area-weighted mean over the cell's triangles.
pub(super) fn surface_mesh(
    given: &Mesh,
    soup: &TriangleSoup,
    normals: &[[f64; 3]],
    answer: &SurfaceAnswer,
    sigma: &Sigma,
    q_pa: f64,
    shear_trained: bool,
) -> Mesh {
    let mut surface = given.clone();
    // Per cell: Σ a·cp, Σ a·cf (3), Σ a·n (3), Σ a, Σ a·σcp, Σ a·σcf.
    let mut cell_acc = vec![[0.0f64; 10]; surface.n_cells()];
    for (k, &cell) in soup.source_cell.iter().enumerate() {
        let a = triangle_area(&soup.triangles[k]).max(1e-300);
        let acc = &mut cell_acc[cell as usize];
        acc[0] += a * answer.cp[k];
        for d in 0..3 {
            acc[1 + d] += a * answer.cf[k][d];
            acc[4 + d] += a * normals[k][d];
        }
        acc[7] += a;
        if !sigma.cp.is_empty() {
            acc[8] += a * sigma.cp[k];
            acc[9] += a * sigma.cf[k];
        }
    }
    let per_cell =
        |f: &dyn Fn(&[f64; 10]) -> Vec<f32>| -> Vec<f32> { cell_acc.iter().flat_map(f).collect() };
    let w = |a: &[f64; 10]| a[7].max(1e-300);
    let mut fields = vec![
        Field::new_f32(
            "pressure_pa",
            1,
            per_cell(&|a| vec![(a[0] / w(a) * q_pa) as f32]),
        ),
        Field::new_f32("cp", 1, per_cell(&|a| vec![(a[0] / w(a)) as f32])),
        Field::new_f32(
            "wall_shear_pa",
            3,
            per_cell(&|a| (1..4).map(|d| (a[d] / w(a) * q_pa) as f32).collect()),
        ),
        Field::new_f32(
            "cf",
            3,
            per_cell(&|a| (1..4).map(|d| (a[d] / w(a)) as f32).collect()),
        ),
        Field::new_f32(
            "normal",
            3,
            per_cell(&|a| {
                let n = [a[4], a[5], a[6]];
                let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt().max(1e-300);
                n.iter().map(|x| (x / len) as f32).collect()
            }),
        ),
    ];
    if !sigma.cp.is_empty() {
        fields.extend([
            Field::new_f32(
                "pressure_std_pa",
                1,
                per_cell(&|a| vec![(a[8] / w(a) * q_pa) as f32]),
            ),
            Field::new_f32("cp_std", 1, per_cell(&|a| vec![(a[8] / w(a)) as f32])),
            Field::new_f32(
                "wall_shear_std_pa",
                1,
                per_cell(&|a| vec![(a[9] / w(a) * q_pa) as f32]),
            ),
        ]);
    }
    if !shear_trained {
        fields.retain(|f| {
            !matches!(
                f.name.as_str(),
                "wall_shear_pa" | "cf" | "wall_shear_std_pa"
            )
        });
    }
    surface.point_data.clear();
    surface.cell_data = fields;
    surface
}

/// The volume fields in physical units on the given volume mesh's cells, or on a point cloud of
/// the sampled `points`.
pub(super) fn volume_mesh(
    fields: &VolumeFields,
    points: &[[f32; 3]],
    given: Option<Mesh>,
    sigma: &Sigma,
    similarity: Similarity,
    pressure_trained: bool,
) -> Mesh {
    let Similarity {
        to_coefficient,
        q_pa,
        velocity_ratio,
    } = similarity;
    let scaled = |v: &[f32], k: f64| v.iter().map(|x| (*x as f64 * k) as f32).collect();
    let mut arrays = vec![
        Field::new_f32(
            "pressure_pa",
            1,
            scaled(&fields.pressure, to_coefficient * q_pa),
        ),
        Field::new_f32("cp", 1, scaled(&fields.pressure, to_coefficient)),
        Field::new_f32("velocity_m_s", 3, scaled(&fields.velocity, velocity_ratio)),
        Field::new_f32(
            "vorticity_1_s",
            3,
            scaled(&fields.vorticity, velocity_ratio),
        ),
    ];
    if !sigma.volume_cp.is_empty() {
        let f32s = |v: &[f64], k: f64| v.iter().map(|x| (x * k) as f32).collect::<Vec<_>>();
        arrays.extend([
            Field::new_f32("pressure_std_pa", 1, f32s(&sigma.volume_cp, q_pa)),
            Field::new_f32("cp_std", 1, f32s(&sigma.volume_cp, 1.0)),
            Field::new_f32("velocity_std_m_s", 1, f32s(&sigma.velocity, 1.0)),
            Field::new_f32("vorticity_std_1_s", 1, f32s(&sigma.vorticity, 1.0)),
        ]);
    }
    if !pressure_trained {
        arrays.retain(|f| {
            !matches!(
                f.name.as_str(),
                "pressure_pa" | "cp" | "pressure_std_pa" | "cp_std"
            )
        });
    }
    match given {
        Some(mut m) => {
            m.point_data.clear();
            m.cell_data = arrays;
            m
        }
        None => {
            let mut m = Mesh::point_cloud(points.to_vec());
            m.point_data = arrays;
            m
        }
    }
}

/// Cp on the body from four sides, its colour scale symmetric about 0 and clipped at the 2nd and
/// 98th percentiles of |Cp|.
pub(super) fn cp_picture(
    soup: &TriangleSoup,
    cp: &[f64],
    flow_axis: usize,
    up_axis: usize,
) -> crate::export::canvas::Canvas {
    let cps: Vec<f32> = cp.iter().map(|x| *x as f32).collect();
    let mut sorted: Vec<f64> = cp.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let pick = |f: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * f) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let bound = pick(0.02).abs().max(pick(0.98).abs()).max(1e-3);
    surface_picture::render(
        &soup.triangles,
        &cps,
        (-bound, bound),
        "Cp",
        flow_axis,
        up_axis,
    )
}
