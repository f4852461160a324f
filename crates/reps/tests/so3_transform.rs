//! The Wigner transform on the Driscoll–Healy grid of SO(3) (docs/conventions.md#so3): Schur
//! orthogonality under the quadrature, the naive reference against closed-form coefficients,
//! the fast transform against the reference (with and without precomputed tables), exact round
//! trips and Parseval for bandlimited signals up to L = 32, real-signal symmetry, bandlimit
//! reduction, off-grid evaluation, and errors for bad input.

mod common;

use std::f64::consts::{PI, SQRT_2};

use common::{
    assert_all_pass, assert_close_complex, assert_parseval, assert_real_inverse, complex_noise,
    real_noise, rng,
};
use entk_groups::laws::tolerance::{EXACT, EXACT_LONG_SUM};
use entk_groups::So3Grid;
use entk_reps::so3_laws::{check_against_reference, check_roundtrip};
use entk_reps::{
    wigner_d_from_euler, FourierTransform, RepsError, So3Coefficients, So3Transform,
    So3TransformNaive,
};
use nalgebra::Matrix3;
use num_complex::Complex64;
use proptest::prelude::*;

const ZERO: Complex64 = Complex64::new(0.0, 0.0);

/// `(l, m, n)` for all `l < L`, `|m|, |n| ≤ l`.
fn degrees_and_orders(bandlimit: usize) -> Vec<(usize, i32, i32)> {
    (0..bandlimit)
        .flat_map(|l| {
            let li = l as i32;
            (-li..=li).flat_map(move |m| (-li..=li).map(move |n| (l, m, n)))
        })
        .collect()
}

#[test]
fn wigner_d_is_orthogonal_under_the_so3_quadrature() {
    // ∫ D^l_{mn} conj D^{l′}_{m′n′} dR = 8π²/(2l+1) δ_{ll′}δ_{mm′}δ_{nn′}, by direct quadrature.
    let bandlimit = 5;
    let grid = So3Grid::new(bandlimit).unwrap();
    let labels = degrees_and_orders(bandlimit);
    let mut gram = vec![ZERO; labels.len() * labels.len()];
    for c in 0..grid.n_azimuth() {
        for j in 0..grid.n_beta() {
            for a in 0..grid.n_azimuth() {
                let angles = grid.euler(c, j, a);
                let blocks: Vec<_> = (0..bandlimit)
                    .map(|l| wigner_d_from_euler(l, angles))
                    .collect();
                let values: Vec<Complex64> = labels
                    .iter()
                    .map(|&(l, m, n)| blocks[l][((m + l as i32) as usize, (n + l as i32) as usize)])
                    .collect();
                for (p, vp) in values.iter().enumerate() {
                    for (q, vq) in values.iter().enumerate() {
                        gram[p * labels.len() + q] += vp * vq.conj() * grid.weight(j);
                    }
                }
            }
        }
    }
    for (p, &(l, m, n)) in labels.iter().enumerate() {
        for (q, label) in labels.iter().enumerate() {
            let expected = if (l, m, n) == *label {
                8.0 * PI * PI / (2 * l + 1) as f64
            } else {
                0.0
            };
            let context = format!("⟨D^{l}_({m},{n}), D{label:?}⟩");
            assert_close_complex(
                gram[p * labels.len() + q],
                Complex64::new(expected, 0.0),
                EXACT_LONG_SUM,
                &context,
            );
        }
    }
}

/// A real signal sampled on the grid from a function of the rotation matrix.
fn sample(grid: &So3Grid, f: impl Fn(&Matrix3<f64>) -> f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(grid.len());
    for c in 0..grid.n_azimuth() {
        for j in 0..grid.n_beta() {
            for a in 0..grid.n_azimuth() {
                out.push(f(grid.rotation(c, j, a).matrix()));
            }
        }
    }
    out
}

/// Panics unless `coeffs` is `expected` at the listed `(l, m, n)` and zero elsewhere.
#[track_caller]
fn assert_coefficients(coeffs: &So3Coefficients, expected: &[(usize, i32, i32, f64)]) {
    for (l, m, n) in degrees_and_orders(coeffs.bandlimit()) {
        let want = expected
            .iter()
            .find(|(el, em, en, _)| (*el, *em, *en) == (l, m, n))
            .map_or(0.0, |(_, _, _, v)| *v);
        let context = format!("f̂^{l}_({m},{n})");
        assert_close_complex(
            coeffs.get(l, m, n),
            Complex64::new(want, 0.0),
            EXACT_LONG_SUM,
            &context,
        );
    }
}

/// A signal given as a function of the rotation matrix.
type SignalOfMatrix = fn(&Matrix3<f64>) -> f64;
/// Nonzero coefficients `(l, m, n, value)`.
type Expected = Vec<(usize, i32, i32, f64)>;

#[test]
fn naive_reference_gives_the_closed_form_coefficients_of_matrix_entries() {
    // With c = 8π²/3: 1 ↦ f̂⁰₀₀ = 8π²; R₂₂ = cos β = conj D¹₀₀ ↦ f̂¹₀₀ = c;
    // R₀₂ = sin β cos α = −(conj D¹₁₀ − conj D¹₋₁,₀)/√2 ↦ f̂¹₁₀ = −c/√2, f̂¹₋₁,₀ = c/√2;
    // R₂₀ = −sin β cos γ = −(conj D¹₀₁ − conj D¹₀,₋₁)/√2 ↦ f̂¹₀₁ = −c/√2, f̂¹₀,₋₁ = c/√2.
    let bandlimit = 3;
    let naive = So3TransformNaive::new(bandlimit).unwrap();
    let fast = So3Transform::new(bandlimit).unwrap();
    let grid = naive.grid();
    let c = 8.0 * PI * PI / 3.0;
    let cases: [(SignalOfMatrix, Expected); 4] = [
        (|_| 1.0, vec![(0, 0, 0, 8.0 * PI * PI)]),
        (|r| r[(2, 2)], vec![(1, 0, 0, c)]),
        (
            |r| r[(0, 2)],
            vec![(1, 1, 0, -c / SQRT_2), (1, -1, 0, c / SQRT_2)],
        ),
        (
            |r| r[(2, 0)],
            vec![(1, 0, 1, -c / SQRT_2), (1, 0, -1, c / SQRT_2)],
        ),
    ];
    for (f, expected) in cases {
        let signal = sample(&grid, f);
        assert_coefficients(&naive.forward(&signal).unwrap(), &expected);
        assert_coefficients(&fast.forward(&signal).unwrap(), &expected);
    }
}

#[test]
fn fast_transform_equals_naive_reference_on_arbitrary_signals() {
    for bandlimit in [1usize, 2, 3, 4, 6, 8] {
        let mut rng = rng(40 + bandlimit as u64);
        let naive = So3TransformNaive::new(bandlimit).unwrap();
        let width = 2 * bandlimit - 1;
        let signal = complex_noise(naive.grid().len(), &mut rng);
        let coeffs = So3Coefficients::from_vec(
            bandlimit,
            complex_noise(width * bandlimit * width, &mut rng),
        )
        .unwrap();
        for budget in [0, usize::MAX] {
            let fast = So3Transform::with_table_budget(bandlimit, budget).unwrap();
            assert_eq!(fast.has_precomputed_tables(), budget > 0);
            let checks =
                check_against_reference(&fast, &naive, &signal, &coeffs, EXACT_LONG_SUM).unwrap();
            assert_all_pass(&checks, &format!("L = {bandlimit}, table budget {budget}"));
        }
    }
}

#[test]
fn precomputed_and_recomputed_tables_give_the_same_transform() {
    let bandlimit = 14;
    let mut rng = rng(41);
    let with_tables = So3Transform::new(bandlimit).unwrap();
    let without = So3Transform::with_table_budget(bandlimit, 0).unwrap();
    assert!(with_tables.has_precomputed_tables() && !without.has_precomputed_tables());
    let signal = complex_noise(with_tables.grid().len(), &mut rng);
    let coeffs = So3Coefficients::random_real(bandlimit, &mut rng).unwrap();
    let checks = check_against_reference(&with_tables, &without, &signal, &coeffs, EXACT).unwrap();
    assert_all_pass(&checks, "tables vs recursion");
    assert!(
        !So3Transform::new(39).unwrap().has_precomputed_tables(),
        "L = 39 exceeds 64 MiB"
    );
    assert!(So3Transform::table_bytes(38) <= entk_reps::DEFAULT_TABLE_BUDGET_BYTES);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn roundtrip_is_exact_for_bandlimited_signals(bandlimit in 1usize..=24, seed in any::<u64>()) {
        let transform = So3Transform::new(bandlimit).unwrap();
        let coeffs = So3Coefficients::random_real(bandlimit, &mut rng(seed)).unwrap();
        let checks = check_roundtrip(&transform, &coeffs, EXACT_LONG_SUM).unwrap();
        assert_all_pass(&checks, &format!("L = {bandlimit}"));
    }
}

#[test]
fn roundtrip_is_exact_at_bandlimit_32_with_and_without_tables() {
    let mut rng = rng(42);
    let coeffs = So3Coefficients::random_real(32, &mut rng).unwrap();
    for budget in [usize::MAX, 0] {
        let transform = So3Transform::with_table_budget(32, budget).unwrap();
        let checks = check_roundtrip(&transform, &coeffs, EXACT_LONG_SUM).unwrap();
        assert_all_pass(&checks, &format!("L = 32, budget {budget}"));
    }
    let complex = So3Coefficients::from_fn(9, |_, _, _| complex_noise(1, &mut rng)[0]).unwrap();
    let checks = check_roundtrip(&So3Transform::new(9).unwrap(), &complex, EXACT_LONG_SUM).unwrap();
    assert_all_pass(&checks, "complex coefficients, L = 9");
    let naive = So3TransformNaive::new(4).unwrap();
    let coeffs = So3Coefficients::random_real(4, &mut rng).unwrap();
    assert_all_pass(
        &check_roundtrip(&naive, &coeffs, EXACT_LONG_SUM).unwrap(),
        "naive L = 4",
    );
}

#[test]
fn quadrature_integrates_products_of_bandlimited_signals_exactly() {
    // Σ_p w_p f(R_p) conj g(R_p) = ∫ f conj g = Σ (2l+1)/(8π²) f̂^l_{mn} conj ĝ^l_{mn}.
    for bandlimit in [1usize, 5, 16] {
        let mut rng = rng(43 + bandlimit as u64);
        let transform = So3Transform::new(bandlimit).unwrap();
        let grid = transform.grid();
        let f_hat = So3Coefficients::random_real(bandlimit, &mut rng).unwrap();
        let g_hat =
            So3Coefficients::from_fn(bandlimit, |_, _, _| complex_noise(1, &mut rng)[0]).unwrap();
        let (f, g) = (
            transform.inverse(&f_hat).unwrap(),
            transform.inverse(&g_hat).unwrap(),
        );
        let width = grid.n_azimuth();
        let spectral: Complex64 = degrees_and_orders(bandlimit)
            .into_iter()
            .map(|(l, m, n)| {
                f_hat.get(l, m, n)
                    * g_hat.get(l, m, n).conj()
                    * ((2 * l + 1) as f64 / (8.0 * PI * PI))
            })
            .sum();
        let weight = |p| grid.weight((p / width) % grid.n_beta());
        assert_parseval((&f, &g), weight, spectral, EXACT_LONG_SUM, bandlimit);
    }
}

#[test]
fn real_signals_have_conjugate_symmetric_coefficients_and_real_inverses() {
    let bandlimit = 7;
    let mut rng = rng(44);
    let transform = So3Transform::new(bandlimit).unwrap();
    let signal = real_noise(transform.grid().len(), &mut rng);
    let coeffs = transform.forward(&signal).unwrap();
    for (l, m, n) in degrees_and_orders(bandlimit) {
        let sign = if (m - n).rem_euclid(2) == 0 {
            1.0
        } else {
            -1.0
        };
        let context = format!("f̂^{l}_({m},{n})");
        assert_close_complex(
            coeffs.get(l, -m, -n),
            coeffs.get(l, m, n).conj() * sign,
            EXACT,
            &context,
        );
    }
    let bandlimited = So3Coefficients::random_real(bandlimit, &mut rng).unwrap();
    let complex = transform.inverse(&bandlimited).unwrap();
    let real = transform.inverse_real(&bandlimited).unwrap();
    assert_real_inverse(&complex, &real, EXACT_LONG_SUM);
}

#[test]
fn truncation_keeps_the_low_degrees_and_zero_padding_reverses_it() {
    let mut rng = rng(45);
    let coeffs = So3Coefficients::random_real(6, &mut rng).unwrap();
    let low = coeffs.truncate(3).unwrap();
    assert_eq!(low.shape(), (5, 3, 5));
    for (l, m, n) in degrees_and_orders(3) {
        assert_eq!(low.get(l, m, n), coeffs.get(l, m, n));
    }
    let padded = low.zero_pad(6).unwrap();
    assert_eq!(padded.truncate(3).unwrap(), low);
    assert_eq!(padded.get(4, 1, -2), ZERO);
    for r in common::haar_rotations(3, &mut rng) {
        assert_close_complex(
            low.evaluate(&r),
            padded.evaluate(&r),
            EXACT_LONG_SUM,
            "evaluation",
        );
    }
}

#[test]
fn blocks_are_matrices_in_m_and_n() {
    let mut coeffs = So3Coefficients::zeros(4).unwrap();
    coeffs.set(2, 1, -2, Complex64::new(3.0, 1.0));
    let block = coeffs.block(2);
    assert_eq!(block[(3, 0)], Complex64::new(3.0, 1.0));
    assert_eq!(
        coeffs.as_slice()[coeffs.index(2, 1, -2)],
        Complex64::new(3.0, 1.0)
    );
    // (n + L − 1, l, m + L − 1) = (1, 2, 4) in shape (7, 4, 7).
    assert_eq!(coeffs.index(2, 1, -2), (4 + 2) * 7 + 4);
    let mut other = So3Coefficients::zeros(4).unwrap();
    other.set_block(2, &block).unwrap();
    assert_eq!(other, coeffs);
    assert!(other.set_block(2, &coeffs.block(1)).is_err());
    assert!(other.set_block(4, &coeffs.block(1)).is_err());
}

#[test]
fn evaluation_at_grid_points_equals_the_inverse_transform() {
    let bandlimit = 6;
    let transform = So3Transform::new(bandlimit).unwrap();
    let grid = transform.grid();
    let mut rng = rng(46);
    let coeffs =
        So3Coefficients::from_fn(bandlimit, |_, _, _| complex_noise(1, &mut rng)[0]).unwrap();
    let signal = transform.inverse(&coeffs).unwrap();
    let (n_beta, width) = (grid.n_beta(), grid.n_azimuth());
    for (c, j, a) in [(0, 0, 0), (3, 5, 7), (10, 11, 10), (4, 0, 9)] {
        let expected = signal[(c * n_beta + j) * width + a];
        assert_close_complex(
            coeffs.evaluate_euler(grid.euler(c, j, a)),
            expected,
            EXACT_LONG_SUM,
            "angles",
        );
        assert_close_complex(
            coeffs.evaluate(&grid.rotation(c, j, a)),
            expected,
            EXACT_LONG_SUM,
            "rotation",
        );
    }
}

#[test]
fn bad_input_gives_errors_not_panics() {
    let transform = So3Transform::new(3).unwrap();
    let recomputing = So3Transform::with_table_budget(3, 0).unwrap();
    let naive = So3TransformNaive::new(3).unwrap();
    let len = transform.grid().len();
    let good = vec![0.25; len];
    let transforms: [&dyn FourierTransform<Coefficients = So3Coefficients>; 3] =
        [&transform, &recomputing, &naive];
    for t in transforms {
        assert!(matches!(
            t.forward(&good[..len - 1]),
            Err(RepsError::ShapeMismatch { .. })
        ));
        let mut bad = good.clone();
        bad[40] = f64::NAN;
        assert_eq!(
            t.forward(&bad),
            Err(RepsError::NonFinite {
                what: "SO(3) signal",
                index: 40
            })
        );
        bad[40] = f64::NEG_INFINITY;
        assert!(matches!(
            t.forward(&bad),
            Err(RepsError::NonFinite { index: 40, .. })
        ));
        let mut complex = vec![ZERO; len];
        complex[7] = Complex64::new(f64::INFINITY, 0.0);
        assert!(matches!(
            t.forward_complex(&complex),
            Err(RepsError::NonFinite { index: 7, .. })
        ));
        assert!(matches!(
            t.inverse(&So3Coefficients::zeros(2).unwrap()),
            Err(RepsError::ShapeMismatch { .. })
        ));
        let mut wrong_out = So3Coefficients::zeros(4).unwrap();
        assert!(t.forward_into(&good, &mut wrong_out).is_err());
        let mut long = vec![ZERO; len + 1];
        assert!(t
            .inverse_into(&So3Coefficients::zeros(3).unwrap(), &mut long)
            .is_err());
        let mut nan_coeffs = So3Coefficients::zeros(3).unwrap();
        nan_coeffs.as_mut_slice()[5] = Complex64::new(0.0, f64::NAN);
        assert!(matches!(
            t.inverse(&nan_coeffs),
            Err(RepsError::NonFinite { index: 5, .. })
        ));
    }
    assert!(So3Transform::new(0).is_err());
    assert!(So3Transform::with_table_budget(0, 0).is_err());
    assert!(So3TransformNaive::new(0).is_err());
    assert!(So3Coefficients::zeros(0).is_err());
    assert!(So3Coefficients::from_vec(2, vec![ZERO; 17]).is_err());
    let coeffs = So3Coefficients::zeros(3).unwrap();
    assert!(coeffs.truncate(4).is_err());
    assert!(coeffs.zero_pad(2).is_err());
}
