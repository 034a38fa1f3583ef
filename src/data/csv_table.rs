//! The small numeric CSV tables that datasets ship next to each run: forces and coefficients
//! (`force_mom_i.csv`), reference values (`geo_ref_i.csv`), shape parameters
//! (`geo_parameters_i.csv`). One header row of names, then rows of numbers. A dataset-wide table
//! keyed by a text column (DrivAerNet++'s `Design`, `Average Cd`) is a [`KeyedTable`].
//!
//! Wrong numbers here become wrong drag coefficients in training labels, so the reader is strict: every
//! row has as many fields as the header, every field is a finite number, and errors name the line and
//! the column.

use std::path::Path;

/// Why a CSV table could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CsvError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{path}: line {line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Table { path: String, message: String },
}

/// A parsed table: column names and rows of finite numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

/// Largest table we read (the dataset CSVs have one to a few hundred rows).
const MAX_BYTES: usize = 64 << 20;

impl CsvTable {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self, CsvError> {
        Ok(Self::read_with_key(path, None)?.0)
    }

    /// Reads `path`; the `key` column, when given, holds text and comes back apart.
    fn read_with_key(path: &Path, key: Option<&str>) -> Result<(Self, Vec<String>), CsvError> {
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| CsvError::Io {
            path: name.clone(),
            message: e.to_string(),
        })?;
        if meta.len() > MAX_BYTES as u64 {
            return Err(CsvError::Table {
                path: name,
                message: format!("{} bytes: too large for a run's CSV table", meta.len()),
            });
        }
        let bytes = std::fs::read(path).map_err(|e| CsvError::Io {
            path: name.clone(),
            message: e.to_string(),
        })?;
        Self::parse_with_key(&bytes, &name, key)
    }

    /// Parses a table held in memory; `name` is used in error messages.
    pub fn parse(bytes: &[u8], name: &str) -> Result<Self, CsvError> {
        Ok(Self::parse_with_key(bytes, name, None)?.0)
    }

    /// [`parse`](Self::parse), with the `key` column (case-insensitive) kept as text: the table
    /// of the other columns, and the keys row by row.
    fn parse_with_key(
        bytes: &[u8],
        name: &str,
        key: Option<&str>,
    ) -> Result<(Self, Vec<String>), CsvError> {
        let invalid = |line: usize, message: String| CsvError::Invalid {
            path: name.to_string(),
            line,
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| CsvError::Table {
            path: name.to_string(),
            message: format!("not UTF-8 text ({e})"),
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut columns: Option<Vec<String>> = None;
        let mut key_index = None;
        let mut keys = Vec::new();
        let mut rows = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(|f| f.trim()).collect();
            match &columns {
                None => {
                    let names: Vec<String> =
                        fields.iter().map(|f| unquote(f).to_string()).collect();
                    if let Some(pos) = names.iter().position(|n| n.is_empty()) {
                        return Err(invalid(
                            line_no,
                            format!("column {} of the header has no name", pos + 1),
                        ));
                    }
                    for (k, n) in names.iter().enumerate() {
                        if names.get(..k).is_some_and(|before| before.contains(n)) {
                            return Err(invalid(
                                line_no,
                                format!("column name '{n}' appears twice"),
                            ));
                        }
                    }
                    let mut names = names;
                    if let Some(key) = key {
                        let k = names
                            .iter()
                            .position(|n| n.eq_ignore_ascii_case(key))
                            .ok_or_else(|| {
                                invalid(line_no, format!("no column '{key}' in the header"))
                            })?;
                        names.remove(k);
                        key_index = Some(k);
                    }
                    columns = Some(names);
                }
                Some(cols) => {
                    let width = cols.len() + usize::from(key_index.is_some());
                    if fields.len() != width {
                        return Err(invalid(
                            line_no,
                            format!(
                                "{} fields, but the header names {width} columns",
                                fields.len()
                            ),
                        ));
                    }
                    let mut fields = fields;
                    if let Some(k) = key_index {
                        let id = unquote(fields.remove(k)).to_string();
                        if id.is_empty() {
                            return Err(invalid(line_no, "the key field is empty".into()));
                        }
                        keys.push(id);
                    }
                    let mut row = Vec::with_capacity(fields.len());
                    for (f, col) in fields.iter().zip(cols) {
                        let v: f64 = unquote(f).parse().map_err(|_| {
                            invalid(line_no, format!("column '{col}': '{f}' is not a number"))
                        })?;
                        if !v.is_finite() {
                            return Err(invalid(
                                line_no,
                                format!("column '{col}': {f} is not a finite number"),
                            ));
                        }
                        row.push(v);
                    }
                    rows.push(row);
                }
            }
        }
        let columns = columns.ok_or_else(|| CsvError::Table {
            path: name.to_string(),
            message: "no header row: the file is empty".into(),
        })?;
        Ok((CsvTable { columns, rows }, keys))
    }

    /// The values of a column, by name (case-insensitive).
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let k = self.column_index(name)?;
        self.rows.iter().map(|r| r.get(k).copied()).collect()
    }

    /// Where the column `name` (case-insensitive) is.
    fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }

    /// The single value of a one-row table's column.
    pub fn value(&self, name: &str) -> Option<f64> {
        match self.column(name)?.as_slice() {
            [v] => Some(*v),
            _ => None,
        }
    }
}

/// A dataset-wide table with one row per run, found by a text key (a design id).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedTable {
    pub table: CsvTable,
    rows_by_key: std::collections::HashMap<String, usize>,
}

impl KeyedTable {
    /// Reads `path`, keyed by the text column `key`; a key found twice is an error naming it.
    pub fn read(path: &Path, key: &str) -> Result<Self, CsvError> {
        let (table, keys) = CsvTable::read_with_key(path, Some(key))?;
        Self::new(table, keys, &path.display().to_string())
    }

    /// [`read`](Self::read) for a table held in memory.
    pub fn parse(bytes: &[u8], name: &str, key: &str) -> Result<Self, CsvError> {
        let (table, keys) = CsvTable::parse_with_key(bytes, name, Some(key))?;
        Self::new(table, keys, name)
    }

    fn new(table: CsvTable, keys: Vec<String>, name: &str) -> Result<Self, CsvError> {
        let mut rows_by_key = std::collections::HashMap::with_capacity(keys.len());
        for (row, k) in keys.into_iter().enumerate() {
            if rows_by_key.insert(k.clone(), row).is_some() {
                return Err(CsvError::Table {
                    path: name.to_string(),
                    message: format!("key '{k}' appears in two rows"),
                });
            }
        }
        Ok(KeyedTable { table, rows_by_key })
    }

    /// The value of `column` (case-insensitive) in the row of `key`.
    pub fn value(&self, key: &str, column: &str) -> Option<f64> {
        let row = *self.rows_by_key.get(key)?;
        let k = self.table.column_index(column)?;
        self.table.rows.get(row)?.get(k).copied()
    }

    pub fn len(&self) -> usize {
        self.rows_by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows_by_key.is_empty()
    }
}

fn unquote(f: &str) -> &str {
    f.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_header_and_rows() {
        let t = CsvTable::parse(
            b"\xef\xbb\xbf\"cd\", cl ,cs\r\n0.281, -0.02, 1e-3\r\n\r\n",
            "f.csv",
        )
        .unwrap();
        assert_eq!(t.columns, vec!["cd", "cl", "cs"]);
        assert_eq!(t.rows, vec![vec![0.281, -0.02, 1e-3]]);
        assert_eq!(t.value("CD"), Some(0.281));
        assert_eq!(t.column("nope"), None);
    }

    #[test]
    fn rejects_with_line_and_column() {
        let cases: [(&[u8], &str); 6] = [
            (b"cd,cl\n0.3\n", "line 2: 1 fields"),
            (b"cd,cl\n0.3,abc\n", "column 'cl': 'abc'"),
            (b"cd,cl\n0.3,nan\n", "not a finite number"),
            (b"cd,,cl\n", "column 2 of the header has no name"),
            (b"cd,cd\n1,2\n", "appears twice"),
            (b"\n# only a comment\n", "empty"),
        ];
        for (bytes, want) in cases {
            let e = CsvTable::parse(bytes, "run_1/force_mom_1.csv")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want) && e.contains("force_mom_1.csv"), "{e}");
        }
        assert!(CsvTable::parse(&[0xff, 0xfe, 0x00], "x.csv").is_err());
    }

    #[test]
    fn a_dataset_wide_table_is_found_by_design_id() {
        // DrivAerNet++'s tables: `Design`, `Average Cd`; `Car Design`, `Frontal Area (m²)`.
        let cd = KeyedTable::parse(
            b"Design,Average Cd\nF_D_WM_WW_0001,0.2911\n\"N_S_WW_WM_012\",0.3105\n",
            "DrivAerNetPlusPlus_Cd_8k_Updated.csv",
            "design",
        )
        .unwrap();
        assert_eq!(cd.len(), 2);
        assert_eq!(cd.value("N_S_WW_WM_012", "average cd"), Some(0.3105));
        assert_eq!(cd.value("F_D_WM_WW_0002", "Average Cd"), None);
        let area = KeyedTable::parse(
            "Frontal Area (m²),Car Design\n2.171,E_S_WW_WM_001\n".as_bytes(),
            "areas.csv",
            "Car Design",
        )
        .unwrap();
        assert_eq!(
            area.value("E_S_WW_WM_001", "Frontal Area (m²)"),
            Some(2.171)
        );
        for (bytes, key, want) in [
            (
                &b"Design,Cd\nA,0.3\nA,0.31\n"[..],
                "Design",
                "key 'A' appears in two rows",
            ),
            (&b"Name,Cd\nA,0.3\n"[..], "Design", "no column 'Design'"),
            (&b"Design,Cd\nA,x\n"[..], "Design", "column 'Cd': 'x'"),
            (&b"Design,Cd\n,0.3\n"[..], "Design", "key field is empty"),
        ] {
            let e = KeyedTable::parse(bytes, "t.csv", key)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want) && e.contains("t.csv"), "{e}");
        }
    }
}
