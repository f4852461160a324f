//! The qm9pack CSV format (one molecule per row).
//!
//! Columns used (by header name; others are ignored):
//! - `Elements`: a Python list literal of symbols, `['C','H','H','H','H']`;
//! - `XYZ_Ang`: a nested list of Cartesian coordinates in Å, `[[x,y,z],[x,y,z],…]`;
//! - `InternalEnergy_0K_au`: U0 in Hartree;
//! - `Index` (the QM9 number), or else `XYZ_file` (`dsgdb9nsd_000001.xyz`) for the id;
//! - `N_atoms`, when present, is checked against the number of elements.
//!
//! The embedded sample ([`crate::qm9::embedded_qm9_sample`]) uses the same format.

use std::io::Read;
use std::path::Path;

use nalgebra::Vector3;

use super::numbers::parse_real;
use super::{Element, Molecule};
use crate::compressed::open_maybe_gzip;
use crate::DatasetError;

/// Positions of the columns the reader needs.
struct Columns {
    index: Option<usize>,
    xyz_file: Option<usize>,
    n_atoms: Option<usize>,
    elements: usize,
    coordinates: usize,
    u0: usize,
}

impl Columns {
    fn find(headers: &csv::StringRecord, source_name: &str) -> Result<Self, DatasetError> {
        let position = |name: &str| headers.iter().position(|h| h.trim() == name);
        let required = |name: &'static str| {
            position(name).ok_or_else(|| DatasetError::MissingValue {
                source_name: source_name.to_string(),
                line: Some(1),
                what: format!(
                    "column `{name}` in the CSV header (a qm9pack CSV has Elements, XYZ_Ang, \
                     InternalEnergy_0K_au, Index)"
                ),
            })
        };
        Ok(Self {
            elements: required("Elements")?,
            coordinates: required("XYZ_Ang")?,
            u0: required("InternalEnergy_0K_au")?,
            index: position("Index"),
            xyz_file: position("XYZ_file"),
            n_atoms: position("N_atoms"),
        })
    }
}

/// Reads every molecule of a qm9pack-style CSV stream. `source_name` appears in error messages.
pub fn read_qm9_csv<R: Read>(reader: R, source_name: &str) -> Result<Vec<Molecule>, DatasetError> {
    let csv_error = |source| DatasetError::Csv {
        source_name: source_name.to_string(),
        source,
    };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let headers = csv.headers().map_err(csv_error)?.clone();
    let columns = Columns::find(&headers, source_name)?;
    let mut molecules = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut row_number: u64 = 0;
    while csv.read_record(&mut record).map_err(csv_error)? {
        row_number += 1;
        let line = record
            .position()
            .map(|p| p.line())
            .unwrap_or(row_number + 1);
        molecules.push(parse_row(&record, &columns, source_name, line, row_number)?);
    }
    Ok(molecules)
}

/// Reads a qm9pack-style CSV file, plain or gzip-compressed.
pub fn read_qm9_csv_file(path: &Path) -> Result<Vec<Molecule>, DatasetError> {
    read_qm9_csv(open_maybe_gzip(path)?, &path.display().to_string())
}

fn parse_row(
    record: &csv::StringRecord,
    columns: &Columns,
    source_name: &str,
    line: u64,
    row_number: u64,
) -> Result<Molecule, DatasetError> {
    let field = |column: usize, what: &str| -> Result<&str, DatasetError> {
        match record.get(column).map(str::trim) {
            Some(text) if !text.is_empty() => Ok(text),
            _ => Err(DatasetError::MissingValue {
                source_name: source_name.to_string(),
                line: Some(line),
                what: what.to_string(),
            }),
        }
    };
    let parse_error = |reason: String| DatasetError::parse(source_name, Some(line), reason);

    let id = molecule_id(record, columns, row_number);
    let symbols = parse_symbol_list(field(columns.elements, "Elements")?)
        .ok_or_else(|| parse_error("Elements is not a list like ['C','H']".into()))?;
    let elements = symbols
        .iter()
        .map(|s| {
            Element::from_symbol(s).ok_or_else(|| DatasetError::UnknownElement {
                source_name: source_name.to_string(),
                molecule: id,
                symbol: s.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let positions = parse_coordinates(field(columns.coordinates, "XYZ_Ang")?).ok_or_else(|| {
        parse_error("XYZ_Ang is not a list of [x,y,z] triples of finite numbers".into())
    })?;
    if positions.len() != elements.len() {
        return Err(parse_error(format!(
            "molecule {id}: {} elements but {} coordinate triples",
            elements.len(),
            positions.len()
        )));
    }
    if let Some(column) = columns.n_atoms {
        if let Some(text) = record.get(column).map(str::trim).filter(|t| !t.is_empty()) {
            let declared: usize = text
                .parse()
                .map_err(|_| parse_error(format!("N_atoms `{text}` is not an integer")))?;
            if declared != elements.len() {
                return Err(parse_error(format!(
                    "molecule {id}: N_atoms says {declared}, Elements lists {}",
                    elements.len()
                )));
            }
        }
    }
    let u0_text = field(columns.u0, "InternalEnergy_0K_au (U0)")?;
    let u0 = parse_real(u0_text).ok_or_else(|| {
        parse_error(format!(
            "InternalEnergy_0K_au `{u0_text}` is not a finite number"
        ))
    })?;
    Molecule::new(id, elements, positions, u0)
}

/// The QM9 index from `Index`, else from the digits of `XYZ_file`, else the row number.
fn molecule_id(record: &csv::StringRecord, columns: &Columns, row_number: u64) -> u64 {
    let from_index = columns
        .index
        .and_then(|c| record.get(c))
        .and_then(|t| t.trim().parse().ok());
    let from_file = || {
        columns
            .xyz_file
            .and_then(|c| record.get(c))
            .and_then(|name| {
                let digits: String = name.chars().filter(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
    };
    from_index.or_else(from_file).unwrap_or(row_number)
}

/// `['C','H']` (quotes optional, whitespace ignored) → `["C", "H"]`.
fn parse_symbol_list(text: &str) -> Option<Vec<&str>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let symbols: Vec<&str> = inner
        .split(',')
        .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"').trim())
        .collect();
    (!symbols.is_empty() && symbols.iter().all(|s| !s.is_empty())).then_some(symbols)
}

/// `[[x,y,z],[x,y,z]]` → positions; `None` unless every entry is a triple of finite numbers.
fn parse_coordinates(text: &str) -> Option<Vec<Vector3<f64>>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let inner = compact.strip_prefix("[[")?.strip_suffix("]]")?;
    inner
        .split("],[")
        .map(|triple| {
            let values: Vec<f64> = triple.split(',').map(parse_real).collect::<Option<_>>()?;
            (values.len() == 3).then(|| Vector3::new(values[0], values[1], values[2]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_lists_accept_quotes_and_spaces() {
        assert_eq!(parse_symbol_list("['C', 'H']"), Some(vec!["C", "H"]));
        assert_eq!(parse_symbol_list("[\"O\",H,H]"), Some(vec!["O", "H", "H"]));
        assert_eq!(parse_symbol_list("['C',]"), None);
        assert_eq!(parse_symbol_list("C,H"), None);
    }

    #[test]
    fn coordinate_lists_need_triples() {
        let parsed = parse_coordinates("[[0.5,0.,1.], [-1e-3, 2, 3]]").unwrap();
        assert_eq!(
            parsed,
            vec![Vector3::new(0.5, 0.0, 1.0), Vector3::new(-1e-3, 2.0, 3.0)]
        );
        assert_eq!(parse_coordinates("[[1,2],[3,4,5]]"), None);
        assert_eq!(parse_coordinates("[[1,2,x]]"), None);
        assert_eq!(parse_coordinates("[1,2,3]"), None);
    }
}
