//! The design parameters of a run: the numbers a parametric family was generated from
//! (`geo_parameters_<i>.csv` in DrivAerML, AhmedML and WindsorML; the generator's `params` in
//! `run.json`). A surrogate of a parametric family must beat a plain regression on these, so
//! prepared runs carry them (root attributes `parameter_names`, comma-separated, and
//! `parameter_values`, float64, in the same order).

use std::path::Path;

use super::csv_table::CsvTable;
use super::DataError;
use crate::mesh::hdf5::{AttrValue, H5Contents};

/// Root attribute with the parameter names, joined by commas.
pub const NAMES_ATTRIBUTE: &str = "parameter_names";
/// Root attribute with the parameter values, float64, in the order of the names.
pub const VALUES_ATTRIBUTE: &str = "parameter_values";

/// Named design parameters, in the order the dataset gives them.
pub type Parameters = Vec<(String, f64)>;

/// The one row of a `geo_parameters` table: header = names, one row of numbers.
pub fn from_csv(path: &Path) -> Result<Parameters, DataError> {
    let table = CsvTable::read(path)?;
    match table.rows.as_slice() {
        [row] => Ok(table
            .columns
            .iter()
            .cloned()
            .zip(row.iter().copied())
            .collect()),
        rows => Err(DataError::file(
            path,
            format!(
                "a design-parameter table has one row of values, this one has {}",
                rows.len()
            ),
        )),
    }
}

/// [`from_csv`] for a run that may lack the table: `None` when there is no file at `path`.
pub fn from_csv_if_present(path: &Path) -> Result<Option<Parameters>, DataError> {
    match path.is_file() {
        true => from_csv(path).map(Some),
        false => Ok(None),
    }
}

/// The numeric entries of a `params` object (booleans as 0 and 1), sorted by name.
pub fn from_json(params: &serde_json::Value) -> Parameters {
    params
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| {
                    v.as_f64()
                        .or_else(|| v.as_bool().map(|b| f64::from(u8::from(b))))
                        .map(|x| (k.clone(), x))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Design parameters that cannot be stored, or stored ones that cannot be read back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParameterError {
    #[error("design parameter name `{0}` is empty or has a comma")]
    BadName(String),
    #[error("design parameter `{0}` is given twice")]
    Twice(String),
    #[error("design parameter `{name}` is {value}")]
    NotFinite { name: String, value: f64 },
    #[error("attribute `{VALUES_ATTRIBUTE}` is text, not numbers")]
    ValuesAreText,
    #[error("{names} design-parameter names but {values} values")]
    Counts { names: usize, values: usize },
    #[error("only one of the attributes `{NAMES_ATTRIBUTE}` and `{VALUES_ATTRIBUTE}` is present")]
    HalfStored,
}

/// Checks names before they are written: no commas (the separator), none empty, none twice.
pub fn check(parameters: &Parameters) -> Result<(), ParameterError> {
    for (k, (name, value)) in parameters.iter().enumerate() {
        if name.trim().is_empty() || name.contains(',') {
            return Err(ParameterError::BadName(name.clone()));
        }
        if parameters[..k].iter().any(|(other, _)| other == name) {
            return Err(ParameterError::Twice(name.clone()));
        }
        if !value.is_finite() {
            return Err(ParameterError::NotFinite {
                name: name.clone(),
                value: *value,
            });
        }
    }
    Ok(())
}

/// The parameters stored in a prepared run's root attributes (none: empty).
pub fn from_attributes(h5: &H5Contents) -> Result<Parameters, ParameterError> {
    let names = h5
        .attribute("/", NAMES_ATTRIBUTE)
        .and_then(AttrValue::as_text);
    let values = match h5.attribute("/", VALUES_ATTRIBUTE) {
        Some(AttrValue::Numbers(v)) => Some(v.clone()),
        Some(AttrValue::Number(x)) => Some(vec![*x]),
        Some(AttrValue::Text(_)) => return Err(ParameterError::ValuesAreText),
        None => None,
    };
    match (names, values) {
        (None, None) => Ok(Vec::new()),
        (Some(names), Some(values)) => {
            let names: Vec<&str> = names.split(',').collect();
            if names.len() != values.len() {
                return Err(ParameterError::Counts {
                    names: names.len(),
                    values: values.len(),
                });
            }
            Ok(names.into_iter().map(str::to_string).zip(values).collect())
        }
        _ => Err(ParameterError::HalfStored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_row_table_gives_named_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("geo_parameters_1.csv");
        std::fs::write(&path, "Length,SlantAngle\n1.044,25\n").unwrap();
        assert_eq!(
            from_csv(&path).unwrap(),
            vec![
                ("Length".to_string(), 1.044),
                ("SlantAngle".to_string(), 25.0)
            ]
        );
        std::fs::write(&path, "Length\n1\n2\n").unwrap();
        let e = from_csv(&path).unwrap_err().to_string();
        assert!(
            e.contains("geo_parameters_1.csv") && e.contains("has 2"),
            "{e}"
        );
    }

    #[test]
    fn json_params_keep_numbers_and_booleans() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"length_m": 1.0, "stilts": true, "name": "x"}"#).unwrap();
        assert_eq!(
            from_json(&v),
            vec![("length_m".to_string(), 1.0), ("stilts".to_string(), 1.0)]
        );
        assert!(check(&vec![("a,b".into(), 1.0)]).is_err());
        assert!(check(&vec![("a".into(), 1.0), ("a".into(), 2.0)]).is_err());
        assert!(check(&vec![("a".into(), f64::NAN)]).is_err());
        assert!(check(&from_json(&v)).is_ok());
    }
}
