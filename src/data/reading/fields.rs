//! A run's fields as per-cell rows: the named arrays of a mesh (cell arrays as they are, point
//! arrays averaged onto the cells, vectors stored as separate scalar arrays joined), and the rows
//! a subset keeps.

use std::path::Path;

use crate::data::DataError;
use crate::mesh::{Location, Mesh};

/// The per-cell values of the field `spec` names: one array of `components` values a tuple, or
/// `components` comma-separated scalar arrays (WindsorML stores `cfxavg`, `cfyavg`, `cfzavg`
/// apart). Cell arrays are taken as they are; point arrays (WindsorML's and DrivAerNet++'s
/// surfaces) are averaged over each cell's points.
pub fn cell_field(
    m: &Mesh,
    spec: &str,
    components: usize,
    file: &Path,
) -> Result<Vec<f32>, DataError> {
    let names = array_names(spec);
    if names.len() > 1 {
        if names.len() != components {
            return Err(DataError::file(
                file,
                format!(
                    "field `{spec}` names {} arrays, expected {components}",
                    names.len()
                ),
            ));
        }
        let parts: Vec<Vec<f32>> = names
            .iter()
            .map(|n| cell_field(m, n, 1, file))
            .collect::<Result<_, _>>()?;
        return Ok(interleave(&parts));
    }
    let name = names[0];
    let shape_error = |f: &crate::mesh::Field, what: &str, count: usize| {
        DataError::file(
            file,
            format!(
                "`{name}` has {} components × {} values for {count} {what}, expected {components} per {}",
                f.components,
                f.values.len(),
                what.trim_end_matches('s')
            ),
        )
    };
    if let Some(f) = m.field(Location::Cell, name) {
        if f.components != components || f.values.len() != m.n_cells() * components {
            return Err(shape_error(f, "cells", m.n_cells()));
        }
        return Ok(f.values.to_f32().into_owned());
    }
    let f = m
        .field(Location::Point, name)
        .ok_or_else(|| DataError::file(file, format!("no cell or point array `{name}`")))?;
    if f.components != components || f.values.len() != m.n_points() * components {
        return Err(shape_error(f, "points", m.n_points()));
    }
    let values = f.values.to_f32();
    let mut out = Vec::with_capacity(m.n_cells() * components);
    for c in 0..m.n_cells() {
        let ids = m.cells.cell(c);
        let w = 1.0 / ids.len().max(1) as f64;
        for k in 0..components {
            let sum: f64 = ids
                .iter()
                .map(|&p| values[p as usize * components + k] as f64)
                .sum();
            out.push((sum * w) as f32);
        }
    }
    Ok(out)
}

/// The arrays a field spec names: one, or comma-separated components.
pub(super) fn array_names(spec: &str) -> Vec<&str> {
    spec.split(',').map(str::trim).collect()
}

/// Row-major rows from equally long columns (scalar component arrays).
pub(super) fn interleave<C: AsRef<[f32]>>(columns: &[C]) -> Vec<f32> {
    let rows = columns.first().map_or(0, |c| c.as_ref().len());
    (0..rows)
        .flat_map(|r| columns.iter().map(move |c| c.as_ref()[r]))
        .collect()
}

/// Rows `rows` of a row-major array `width` values wide.
pub fn pick<T: Copy>(v: &[T], width: usize, rows: &[usize]) -> Vec<T> {
    rows.iter()
        .flat_map(|&r| v[r * width..(r + 1) * width].iter().copied())
        .collect()
}
