//! QM9 featurisation (docs/theory.md#qm9-energies): values, layout, rotation equivariance, translation
//! invariance, padding, and target standardisation.

mod common;

use common::{assert_not_enough_data, mean_and_variance};
use entk_datasets::qm9::{
    atomization_targets, bump_width, embedded_qm9_sample, train_test_molecules, AtomCombination,
    Element, FeatureConfig, Molecule, Qm9Featurizer, Standardizer,
};
use entk_datasets::{seeded_rng, DatasetError};
use entk_groups::{CompactGroup, DriscollHealyGrid, SO3};
use nalgebra::Vector3;
use ndarray::Axis;

/// Named seed for the random rotations and molecules of these tests.
const TEST_SEED: u64 = 20_240_801;

fn config(bandlimit: usize) -> FeatureConfig {
    FeatureConfig {
        bandlimit,
        ..FeatureConfig::default()
    }
}

fn some_molecules(count: usize) -> Vec<Molecule> {
    let sample = embedded_qm9_sample().unwrap();
    // a spread of sizes, including the largest molecules of the sample
    let mut chosen: Vec<Molecule> = sample
        .iter()
        .step_by(sample.len() / count)
        .take(count - 1)
        .cloned()
        .collect();
    chosen.push(sample.iter().max_by_key(|m| m.num_atoms()).unwrap().clone());
    chosen
}

fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    let scale = a
        .iter()
        .chain(b)
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(1e-300);
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

#[test]
fn bump_falls_to_five_percent_at_45_degrees() {
    let beta = bump_width();
    let at = |angle: f64| (-(angle.cos() - 1.0).powi(2) / beta).exp();
    assert!((at(std::f64::consts::FRAC_PI_4) - 0.05).abs() < 1e-14);
    assert_eq!(at(0.0), 1.0);
}

#[test]
fn two_atoms_give_the_closed_form_signal() {
    // H at the origin, C at distance 1.5 Å along +z
    let r = 1.5;
    let molecule = Molecule::new(
        0,
        vec![Element::H, Element::C],
        vec![Vector3::zeros(), Vector3::new(0.0, 0.0, r)],
        -38.0,
    )
    .unwrap();
    let featurizer = Qm9Featurizer::new(config(3)).unwrap();
    assert_eq!(featurizer.num_channels(), 10);
    let (c2, c6) = (
        featurizer.channel(Element::C, 0),
        featurizer.channel(Element::C, 1),
    );
    assert_eq!((c2, c6), (2, 3));

    let north = featurizer.signal_at(&molecule, 0, &Vector3::z()).unwrap();
    assert!((north[c2] - 6.0 / r.powi(2)).abs() < 1e-14);
    assert!((north[c6] - 6.0 / r.powi(6)).abs() < 1e-14);
    assert!(north
        .iter()
        .enumerate()
        .all(|(c, v)| c == c2 || c == c6 || *v == 0.0));

    let tilted = Vector3::new(
        std::f64::consts::FRAC_1_SQRT_2,
        0.0,
        std::f64::consts::FRAC_1_SQRT_2,
    );
    let at_45 = featurizer.signal_at(&molecule, 0, &tilted).unwrap();
    assert!((at_45[c2] - 0.05 * 6.0 / r.powi(2)).abs() < 1e-14);

    // the carbon sees the hydrogen towards −z in the H channels
    let south = featurizer.signal_at(&molecule, 1, &-Vector3::z()).unwrap();
    assert!((south[featurizer.channel(Element::H, 0)] - 6.0 / r.powi(2)).abs() < 1e-14);
}

#[test]
fn grid_samples_equal_the_continuous_signal_at_grid_points() {
    let featurizer = Qm9Featurizer::new(config(4)).unwrap();
    let grid = DriscollHealyGrid::new(4).unwrap();
    let molecule = &some_molecules(3)[1];
    let signal = featurizer.atom_signal(molecule, 2).unwrap();
    assert_eq!(signal.shape(), &[8, 7, 10]);
    for j in 0..grid.n_theta() {
        for k in 0..grid.n_phi() {
            let expected = featurizer
                .signal_at(molecule, 2, &grid.point(j, k))
                .unwrap();
            let got: Vec<f64> = signal
                .index_axis(Axis(0), j)
                .index_axis_move(Axis(0), k)
                .to_vec();
            assert!(relative_error(&got, &expected) < 1e-14);
        }
    }
}

#[test]
fn rotating_the_molecule_rotates_the_signals() {
    let featurizer = Qm9Featurizer::new(config(6)).unwrap();
    let grid = featurizer.grid();
    let mut rng = seeded_rng(TEST_SEED);
    let mut worst: f64 = 0.0;
    for molecule in some_molecules(4) {
        let rotation = SO3.sample_haar(&mut rng);
        let rotated = featurizer
            .molecule_signals(&molecule.rotated(&rotation))
            .unwrap();
        for atom in 0..molecule.num_atoms() {
            for j in 0..grid.n_theta() {
                for k in 0..grid.n_phi() {
                    // f_R(u) = f(R⁻¹u)
                    let u = grid.point(j, k);
                    let expected = featurizer
                        .signal_at(&molecule, atom, &rotation.inverse().apply(&u))
                        .unwrap();
                    let got: Vec<f64> = rotated
                        .index_axis(Axis(0), atom)
                        .index_axis_move(Axis(0), j)
                        .index_axis_move(Axis(0), k)
                        .to_vec();
                    worst = worst.max(relative_error(&got, &expected));
                }
            }
        }
    }
    assert!(worst < 1e-12, "worst relative error {worst:e}");
}

#[test]
fn translating_the_molecule_changes_nothing() {
    let featurizer = Qm9Featurizer::new(config(3)).unwrap();
    for molecule in some_molecules(3) {
        let shifted = molecule.translated(&Vector3::new(12.5, -3.25, 0.75));
        let a = featurizer.molecule_signals(&molecule).unwrap();
        let b = featurizer.molecule_signals(&shifted).unwrap();
        let (a, b) = (a.as_slice().unwrap(), b.as_slice().unwrap());
        assert!(relative_error(a, b) < 1e-12);
    }
}

#[test]
fn padding_slots_are_zero_and_the_layouts_agree() {
    let featurizer = Qm9Featurizer::new(config(2)).unwrap();
    let molecules = some_molecules(5);
    let features = featurizer.featurize(&molecules).unwrap();
    assert_eq!(features.signals.shape(), &[5, 29, 4, 3, 10]);
    assert_eq!(
        features.atom_counts,
        molecules
            .iter()
            .map(Molecule::num_atoms)
            .collect::<Vec<_>>()
    );
    assert_eq!(features.config.combination, AtomCombination::MatchingSlots);
    for (m, molecule) in molecules.iter().enumerate() {
        let per_molecule = featurizer.molecule_signals(molecule).unwrap();
        assert_eq!(features.signals.index_axis(Axis(0), m), per_molecule);
        for slot in 0..29 {
            let slot_sum: f64 = per_molecule
                .index_axis(Axis(0), slot)
                .iter()
                .map(|v| v.abs())
                .sum();
            assert_eq!(
                slot_sum == 0.0,
                slot >= molecule.num_atoms(),
                "molecule {m} slot {slot}"
            );
        }
    }
    for slot in [0, 7, 28] {
        assert_eq!(
            featurizer.slot_signals(&molecules, slot).unwrap(),
            features.slot(slot)
        );
    }
    let (stacked, counts) = featurizer.real_atom_signals(&molecules).unwrap();
    assert_eq!(counts, features.atom_counts);
    assert_eq!(stacked.len_of(Axis(0)), counts.iter().sum::<usize>());
    assert_eq!(
        stacked.index_axis(Axis(0), counts[0]),
        features
            .signals
            .index_axis(Axis(0), 1)
            .index_axis_move(Axis(0), 0)
    );
}

#[test]
fn all_pairs_option_is_recorded_and_custom_powers_set_the_channels() {
    let featurizer = Qm9Featurizer::new(FeatureConfig {
        bandlimit: 2,
        powers: vec![1, 2, 3],
        combination: AtomCombination::AllPairs,
        ..FeatureConfig::default()
    })
    .unwrap();
    let features = featurizer.featurize(&some_molecules(2)).unwrap();
    assert_eq!(features.config.combination, AtomCombination::AllPairs);
    assert_eq!(features.num_channels(), 15);
    assert_eq!(featurizer.channel(Element::F, 2), 14);
}

#[test]
fn bad_configurations_and_molecules_are_errors() {
    assert!(matches!(
        Qm9Featurizer::new(config(0)),
        Err(DatasetError::Group(_))
    ));
    assert!(Qm9Featurizer::new(FeatureConfig {
        powers: vec![],
        ..FeatureConfig::default()
    })
    .is_err());
    assert!(Qm9Featurizer::new(FeatureConfig {
        max_atoms: 0,
        ..FeatureConfig::default()
    })
    .is_err());

    let small = Qm9Featurizer::new(FeatureConfig {
        bandlimit: 2,
        max_atoms: 3,
        ..FeatureConfig::default()
    })
    .unwrap();
    let big = some_molecules(2).pop().unwrap();
    let error = small.featurize(std::slice::from_ref(&big)).unwrap_err();
    assert!(error.to_string().contains("max_atoms = 3"), "{error}");
    assert!(small.slot_signals(&[], 3).is_err());
    assert!(small.atom_signal(&big, big.num_atoms()).is_err());

    let clash = Molecule::new(
        1,
        vec![Element::H, Element::H],
        vec![Vector3::zeros(), Vector3::zeros()],
        -1.0,
    )
    .unwrap();
    assert!(small
        .atom_signal(&clash, 0)
        .unwrap_err()
        .to_string()
        .contains("coincide"));
}

#[test]
fn standardisation_uses_training_statistics() {
    let molecules = embedded_qm9_sample().unwrap();
    let (train, test) = train_test_molecules(&molecules, 500, 100, TEST_SEED).unwrap();
    let train_ids: std::collections::HashSet<u64> = train.iter().map(Molecule::id).collect();
    assert!(
        test.iter().all(|m| !train_ids.contains(&m.id())),
        "train and test are disjoint"
    );

    let targets = atomization_targets(&train);
    assert_eq!(targets.shape(), &[500, 1]);
    let values: Vec<f64> = targets.iter().copied().collect();
    let standardizer = Standardizer::fit(&values).unwrap();
    let z = standardizer.standardize_all(&values);
    let (mean, var) = mean_and_variance(&z);
    assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
    let back = standardizer.unstandardize_all(&z);
    assert!(relative_error(&back, &values) < 1e-14);

    assert!(Standardizer::fit(&[1.0]).is_err());
    assert!(Standardizer::fit(&[2.0, 2.0]).is_err());
    assert!(Standardizer::fit(&[2.0, f64::NAN]).is_err());
    let error = train_test_molecules(&molecules, 1900, 101, 0).unwrap_err();
    assert_not_enough_data(&error, 2001, 2000);
}
