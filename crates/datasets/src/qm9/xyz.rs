//! The extended XYZ format of the original QM9 release (`dsgdb9nsd_NNNNNN.xyz`).
//!
//! ```text
//! line 1        n_atoms
//! line 2        gdb ID A B C mu alpha homo lumo gap r2 zpve U0 U H G Cv   (tab separated)
//! lines 3..n+2  element x y z mulliken_charge                            (Å, e)
//! line n+3      harmonic frequencies
//! line n+4      SMILES (GDB-17, relaxed)
//! line n+5      InChI (GDB-17, relaxed)
//! ```
//!
//! U0 is the 13th token of line 2 (Hartree). Numbers may use the exponent `*^`
//! (`2.1*^-6`). The trailing frequency, SMILES and InChI lines are not needed and not checked.

use std::path::Path;

use nalgebra::Vector3;

use super::numbers::parse_real;
use super::{Element, Molecule};
use crate::compressed::read_file_maybe_gzip;
use crate::DatasetError;

/// Token index of U0 on the property line (`gdb` is token 0).
const U0_TOKEN: usize = 12;

/// Parses one molecule from the text of a QM9 `.xyz` file.
pub fn parse_qm9_xyz(text: &str, source_name: &str) -> Result<Molecule, DatasetError> {
    let error = |line: u64, reason: String| DatasetError::parse(source_name, Some(line), reason);
    let mut lines = text.lines();

    let count_line = lines.next().unwrap_or("");
    let n_atoms: usize = count_line.trim().parse().map_err(|_| {
        error(
            1,
            format!(
                "expected the number of atoms, found `{}`",
                count_line.trim()
            ),
        )
    })?;
    if n_atoms == 0 {
        return Err(error(1, "the atom count is 0".into()));
    }

    let property_line = lines
        .next()
        .ok_or_else(|| error(2, "missing the property line".into()))?;
    let properties: Vec<&str> = property_line.split_whitespace().collect();
    if properties.first() != Some(&"gdb") {
        return Err(error(
            2,
            "expected the QM9 property line `gdb ID A B C mu alpha homo lumo gap r2 zpve U0 U H \
             G Cv`"
                .into(),
        ));
    }
    let id: u64 = properties
        .get(1)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| error(2, "the property line lacks an integer molecule id".into()))?;
    let u0_text = properties
        .get(U0_TOKEN)
        .ok_or_else(|| DatasetError::MissingValue {
            source_name: source_name.to_string(),
            line: Some(2),
            what: format!(
                "U0 (token {} of the property line, which has {})",
                U0_TOKEN + 1,
                properties.len()
            ),
        })?;
    let u0 = parse_real(u0_text)
        .ok_or_else(|| error(2, format!("U0 `{u0_text}` is not a finite number")))?;

    // The count is untrusted: reserve no more than the lines present can hold (one atom per
    // line); a count beyond them fails at the first line that is not an atom.
    let capacity = n_atoms.min(lines.clone().count());
    let mut elements = Vec::with_capacity(capacity);
    let mut positions = Vec::with_capacity(capacity);
    for atom in 0..n_atoms {
        let line_number = atom as u64 + 3;
        let line = lines.next().ok_or_else(|| {
            error(
                line_number,
                format!("file ends after {atom} of {n_atoms} atom lines"),
            )
        })?;
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.len() < 4 {
            return Err(error(
                line_number,
                format!("expected `element x y z`, found `{}`", line.trim()),
            ));
        }
        let element =
            Element::from_symbol(tokens[0]).ok_or_else(|| DatasetError::UnknownElement {
                source_name: source_name.to_string(),
                molecule: id,
                symbol: tokens[0].to_string(),
            })?;
        let mut xyz = [0.0; 3];
        for (value, token) in xyz.iter_mut().zip(&tokens[1..4]) {
            *value = parse_real(token).ok_or_else(|| {
                error(
                    line_number,
                    format!("coordinate `{token}` is not a finite number"),
                )
            })?;
        }
        elements.push(element);
        positions.push(Vector3::from(xyz));
    }
    Molecule::new(id, elements, positions, u0)
}

/// The most bytes a (decompressed) `.xyz` file may hold: 64 MiB. A QM9 file is under 2 KB.
pub const XYZ_MAX_BYTES: u64 = 64 << 20;

/// Reads one QM9 `.xyz` file (plain or gzip-compressed, at most [`XYZ_MAX_BYTES`]).
pub fn read_qm9_xyz_file(path: &Path) -> Result<Molecule, DatasetError> {
    let source_name = path.display().to_string();
    let bytes = read_file_maybe_gzip(path, XYZ_MAX_BYTES)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| DatasetError::parse(&source_name, None, "not UTF-8 text"))?;
    parse_qm9_xyz(&text, &source_name)
}

/// Reads every `*.xyz` file of a folder (the unpacked `dsgdb9nsd.xyz.tar.bz2` of the QM9
/// release), in file-name order.
pub fn read_qm9_xyz_dir(dir: &Path) -> Result<Vec<Molecule>, DatasetError> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DatasetError::io(dir, e))? {
        let path = entry.map_err(|e| DatasetError::io(dir, e))?.path();
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xyz"))
        {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(DatasetError::MissingData {
            dataset: "QM9",
            path: dir.to_path_buf(),
            hint: "the folder holds no .xyz files".into(),
        });
    }
    paths.sort();
    paths.iter().map(|p| read_qm9_xyz_file(p)).collect()
}
