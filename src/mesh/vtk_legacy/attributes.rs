//! Attribute sections of `POINT_DATA` and `CELL_DATA` (`SCALARS`, `VECTORS`, `NORMALS`,
//! `TENSORS`, `TEXTURE_COORDINATES`, `COLOR_SCALARS`, `FIELD` arrays) and field data outside them.

use super::grammar::{decode_name, parse_int, show, DataType};
use super::reader::{Attributes, Reader};
use crate::mesh::error::{invalid, ParseResult};
use crate::mesh::field::{Field, ScalarType, Values};

impl<'a> Reader<'a> {
    /// Reads one attribute section of `POINT_DATA` / `CELL_DATA` (its keyword already consumed).
    pub(super) fn read_attribute(
        &mut self,
        keyword: &str,
        location: Attributes,
        n: usize,
        out: &mut Vec<Field>,
    ) -> ParseResult<()> {
        let section = match location {
            Attributes::Point => "POINT_DATA",
            Attributes::Cell => "CELL_DATA",
        };
        match keyword {
            "FIELD" => return self.read_field_block(Some((n, section)), out),
            "LOOKUP_TABLE" => {
                let what = format!("{section} LOOKUP_TABLE");
                self.token(&what)?;
                let size = self.count(&what)?;
                let values = size
                    .checked_mul(4)
                    .ok_or_else(|| invalid!("{what} {size} is too large"))?;
                // Binary tables are RGBA bytes, ASCII ones RGBA floats in [0, 1].
                let dt = if self.binary {
                    DataType::Num(ScalarType::U8)
                } else {
                    DataType::Num(ScalarType::F32)
                };
                return self.for_each_real::<f32>(dt, values, &what, |_| {});
            }
            _ => {}
        }
        let name_token = self.token(&format!("{section} {keyword}"))?;
        let name = decode_name(name_token);
        let what = format!("{section} {keyword} '{name}'");
        let (dt, components) = match keyword {
            "SCALARS" => {
                let dt = DataType::parse(self.token(&what)?, &what)?;
                let mut next = self.token(&what)?;
                let mut components = 1;
                if !next.eq_ignore_ascii_case(b"LOOKUP_TABLE") {
                    components = parse_int(next)
                        .and_then(|c| usize::try_from(c).ok())
                        .filter(|&c| c >= 1)
                        .ok_or_else(|| {
                            invalid!("{what}: bad number of components '{}'", show(next))
                        })?;
                    next = self.token(&what)?;
                }
                if !next.eq_ignore_ascii_case(b"LOOKUP_TABLE") {
                    return Err(invalid!(
                        "{what}: expected LOOKUP_TABLE, found '{}'",
                        show(next)
                    ));
                }
                self.token(&what)?; // the table's name
                (dt, components)
            }
            "COLOR_SCALARS" => {
                let components = self.count(&what)?;
                if components == 0 {
                    return Err(invalid!("{what}: zero components"));
                }
                // Binary files store bytes, ASCII files floats in [0, 1] that VTK scales to bytes.
                if self.binary {
                    (DataType::Num(ScalarType::U8), components)
                } else {
                    let total = n
                        .checked_mul(components)
                        .ok_or_else(|| invalid!("{what}: too many values"))?;
                    let dt = DataType::Num(ScalarType::F32);
                    let mut values: Vec<f32> = self.read_reals(dt, total, &what)?;
                    for v in &mut values {
                        *v = (255.0 * *v + 0.5).clamp(0.0, 255.0).floor();
                    }
                    self.skip_metadata(components)?;
                    out.push(Field {
                        name,
                        components,
                        values: Values::F32(values),
                        source_type: ScalarType::U8,
                    });
                    return Ok(());
                }
            }
            "VECTORS" | "NORMALS" => (DataType::parse(self.token(&what)?, &what)?, 3),
            "TENSORS" => (DataType::parse(self.token(&what)?, &what)?, 9),
            "TENSORS6" => (DataType::parse(self.token(&what)?, &what)?, 6),
            "TEXTURE_COORDINATES" => {
                let dim = self.count(&what)?;
                if !(1..=3).contains(&dim) {
                    return Err(invalid!("{what}: texture coordinate dimension {dim}"));
                }
                (DataType::parse(self.token(&what)?, &what)?, dim)
            }
            "GLOBAL_IDS" | "PEDIGREE_IDS" | "EDGE_FLAGS" => {
                (DataType::parse(self.token(&what)?, &what)?, 1)
            }
            _ => {
                return Err(invalid!(
                    "unknown attribute '{}' in {section}",
                    show(keyword.as_bytes())
                ))
            }
        };
        let total = n
            .checked_mul(components)
            .ok_or_else(|| invalid!("{what}: too many values"))?;
        if dt == DataType::Str {
            self.skip_strings(total, &what)?;
            return self.skip_metadata(components);
        }
        let values: Vec<f32> = self.read_reals(dt, total, &what)?;
        self.skip_metadata(components)?;
        out.push(Field {
            name,
            components,
            values: Values::F32(values),
            source_type: dt.source_type(),
        });
        Ok(())
    }

    /// Reads `FIELD name nArrays` and its arrays (keyword already consumed). `tuples` is the point or
    /// cell count for `POINT_DATA` / `CELL_DATA` fields (stored as `f32`); `None` for field data (`f64`).
    pub(super) fn read_field_block(
        &mut self,
        tuples: Option<(usize, &str)>,
        out: &mut Vec<Field>,
    ) -> ParseResult<()> {
        let section = tuples.map_or("FIELD", |(_, s)| s);
        self.token(&format!("{section} FIELD"))?; // the field's name (FieldData)
        let n_arrays = self.count(&format!("{section} FIELD"))?;
        for _ in 0..n_arrays {
            let name_token = self.token(&format!("{section} FIELD array"))?;
            if name_token == b"NULL_ARRAY" {
                continue;
            }
            let name = decode_name(name_token);
            let what = format!("{section} FIELD array '{name}'");
            let components = self.count(&what)?;
            let n_tuples = self.count(&what)?;
            let dt = DataType::parse(self.token(&what)?, &what)?;
            if let Some((expected, _)) = tuples {
                if n_tuples != expected {
                    return Err(invalid!(
                        "{what} has {n_tuples} tuples, expected {expected}"
                    ));
                }
            }
            if components == 0 && n_tuples > 0 {
                return Err(invalid!("{what} has zero components"));
            }
            let total = n_tuples
                .checked_mul(components)
                .ok_or_else(|| invalid!("{what}: too many values"))?;
            if dt == DataType::Str {
                self.skip_strings(total, &what)?;
                self.skip_metadata(components)?;
                continue;
            }
            let values = if tuples.is_some() {
                Values::F32(self.read_reals::<f32>(dt, total, &what)?)
            } else {
                Values::F64(self.read_reals::<f64>(dt, total, &what)?)
            };
            self.skip_metadata(components)?;
            out.push(Field {
                name,
                components: components.max(1),
                values,
                source_type: dt.source_type(),
            });
        }
        Ok(())
    }
}
