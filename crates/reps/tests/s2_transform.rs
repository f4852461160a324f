//! The S² transform on the Driscoll–Healy grid (docs/conventions.md#so3): the naive reference against
//! closed-form coefficients, the fast transform against the reference, exact round trips and
//! Parseval for bandlimited signals up to L = 32, real-signal symmetry, bandlimit reduction,
//! off-grid evaluation, and errors for bad input.

mod common;

use std::f64::consts::PI;

use common::{
    assert_all_pass, assert_close_complex, assert_parseval, assert_real_inverse, complex_noise,
    real_noise, rng,
};
use entk_groups::laws::tolerance::{EXACT, EXACT_LONG_SUM};
use entk_groups::DriscollHealyGrid;
use entk_reps::so3_laws::{check_against_reference, check_roundtrip};
use entk_reps::{FourierTransform, RepsError, S2Coefficients, S2Transform, S2TransformNaive};
use num_complex::Complex64;
use proptest::prelude::*;

const ZERO: Complex64 = Complex64::new(0.0, 0.0);

/// A real signal sampled on the grid from a function of the unit vector.
fn sample(grid: &DriscollHealyGrid, f: impl Fn(f64, f64, f64) -> f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(grid.len());
    for j in 0..grid.n_theta() {
        for k in 0..grid.n_phi() {
            let u = grid.point(j, k);
            out.push(f(u.x, u.y, u.z));
        }
    }
    out
}

/// Panics unless `coeffs` is `expected` at the listed `(l, m)` and zero elsewhere.
#[track_caller]
fn assert_coefficients(coeffs: &S2Coefficients, expected: &[(usize, i32, Complex64)]) {
    for l in 0..coeffs.bandlimit() {
        for m in -(l as i32)..=l as i32 {
            let want = expected
                .iter()
                .find(|(el, em, _)| *el == l && *em == m)
                .map_or(ZERO, |(_, _, v)| *v);
            assert_close_complex(coeffs.get(l, m), want, EXACT, &format!("f̂_({l},{m})"));
        }
    }
}

/// A signal given as a function of the point `(x, y, z)`.
type SignalOfPoint = fn(f64, f64, f64) -> f64;
/// Nonzero coefficients `(l, m, value)`.
type Expected = Vec<(usize, i32, Complex64)>;

#[test]
fn naive_reference_gives_the_closed_form_coefficients_of_low_degree_polynomials() {
    // 1 = √(4π) Y_00, z = √(4π/3) Y_10, x = √(2π/3) (Y_{1,−1} − Y_11), y = i√(2π/3) (Y_{1,−1} + Y_11).
    let bandlimit = 4;
    let naive = S2TransformNaive::new(bandlimit).unwrap();
    let grid = naive.grid();
    let c1 = (4.0 * PI).sqrt();
    let cz = (4.0 * PI / 3.0).sqrt();
    let cx = (2.0 * PI / 3.0).sqrt();
    let cases: [(SignalOfPoint, Expected); 4] = [
        (|_, _, _| 1.0, vec![(0, 0, Complex64::new(c1, 0.0))]),
        (|_, _, z| z, vec![(1, 0, Complex64::new(cz, 0.0))]),
        (
            |x, _, _| x,
            vec![
                (1, -1, Complex64::new(cx, 0.0)),
                (1, 1, Complex64::new(-cx, 0.0)),
            ],
        ),
        (
            |_, y, _| y,
            vec![
                (1, -1, Complex64::new(0.0, cx)),
                (1, 1, Complex64::new(0.0, cx)),
            ],
        ),
    ];
    for (f, expected) in cases {
        let signal = sample(&grid, f);
        assert_coefficients(&naive.forward(&signal).unwrap(), &expected);
        assert_coefficients(
            &S2Transform::new(bandlimit)
                .unwrap()
                .forward(&signal)
                .unwrap(),
            &expected,
        );
    }
}

#[test]
fn fast_transform_equals_naive_reference_on_arbitrary_signals() {
    for bandlimit in [1usize, 2, 3, 5, 8, 13] {
        let mut rng = rng(20 + bandlimit as u64);
        let fast = S2Transform::new(bandlimit).unwrap();
        let naive = S2TransformNaive::new(bandlimit).unwrap();
        let signal = complex_noise(fast.grid().len(), &mut rng);
        let coeffs = S2Coefficients::from_vec(
            bandlimit,
            complex_noise(bandlimit * (2 * bandlimit - 1), &mut rng),
        )
        .unwrap();
        let checks =
            check_against_reference(&fast, &naive, &signal, &coeffs, EXACT_LONG_SUM).unwrap();
        assert_all_pass(&checks, &format!("L = {bandlimit}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn roundtrip_is_exact_for_bandlimited_signals(bandlimit in 1usize..=32, seed in any::<u64>()) {
        let transform = S2Transform::new(bandlimit).unwrap();
        let coeffs = S2Coefficients::random_real(bandlimit, &mut rng(seed)).unwrap();
        let checks = check_roundtrip(&transform, &coeffs, EXACT_LONG_SUM).unwrap();
        assert_all_pass(&checks, &format!("L = {bandlimit}"));
    }
}

#[test]
fn roundtrip_is_exact_at_bandlimit_32_and_for_complex_coefficients() {
    let mut rng = rng(21);
    for bandlimit in [32usize, 7] {
        let transform = S2Transform::new(bandlimit).unwrap();
        let coeffs =
            S2Coefficients::from_fn(bandlimit, |_, _| complex_noise(1, &mut rng)[0]).unwrap();
        let checks = check_roundtrip(&transform, &coeffs, EXACT_LONG_SUM).unwrap();
        assert_all_pass(&checks, &format!("L = {bandlimit}"));
    }
    let naive = S2TransformNaive::new(6).unwrap();
    let coeffs = S2Coefficients::random_real(6, &mut rng).unwrap();
    assert_all_pass(
        &check_roundtrip(&naive, &coeffs, EXACT_LONG_SUM).unwrap(),
        "naive L = 6",
    );
}

#[test]
fn quadrature_integrates_products_of_bandlimited_signals_exactly() {
    // Parseval: Σ_p w_p f(u_p) conj g(u_p) = ∫ f conj g = Σ f̂_lm conj ĝ_lm.
    for bandlimit in [1usize, 4, 16, 32] {
        let mut rng = rng(22 + bandlimit as u64);
        let transform = S2Transform::new(bandlimit).unwrap();
        let grid = transform.grid();
        let f_hat = S2Coefficients::random_real(bandlimit, &mut rng).unwrap();
        let g_hat =
            S2Coefficients::from_fn(bandlimit, |_, _| complex_noise(1, &mut rng)[0]).unwrap();
        let (f, g) = (
            transform.inverse(&f_hat).unwrap(),
            transform.inverse(&g_hat).unwrap(),
        );
        let spectral: Complex64 = f_hat
            .as_slice()
            .iter()
            .zip(g_hat.as_slice())
            .map(|(a, b)| a * b.conj())
            .sum();
        let weight = |p| grid.weight(p / grid.n_phi());
        assert_parseval((&f, &g), weight, spectral, EXACT_LONG_SUM, bandlimit);
    }
}

#[test]
fn real_signals_have_conjugate_symmetric_coefficients_and_real_inverses() {
    let bandlimit = 10;
    let mut rng = rng(23);
    let transform = S2Transform::new(bandlimit).unwrap();
    let signal = real_noise(transform.grid().len(), &mut rng);
    let coeffs = transform.forward(&signal).unwrap();
    for l in 0..bandlimit {
        for m in 0..=l as i32 {
            let sign = if m % 2 == 0 { 1.0 } else { -1.0 };
            assert_close_complex(
                coeffs.get(l, -m),
                coeffs.get(l, m).conj() * sign,
                EXACT,
                "f̂_{l,−m}",
            );
        }
    }
    let bandlimited = S2Coefficients::random_real(bandlimit, &mut rng).unwrap();
    let complex = transform.inverse(&bandlimited).unwrap();
    let real = transform.inverse_real(&bandlimited).unwrap();
    assert_real_inverse(&complex, &real, EXACT);
}

#[test]
fn truncation_keeps_the_low_degrees_and_zero_padding_reverses_it() {
    let mut rng = rng(24);
    let coeffs = S2Coefficients::random_real(9, &mut rng).unwrap();
    let low = coeffs.truncate(4).unwrap();
    assert_eq!(low.bandlimit(), 4);
    for l in 0..4 {
        for m in -(l as i32)..=l as i32 {
            assert_eq!(low.get(l, m), coeffs.get(l, m));
        }
    }
    let padded = low.zero_pad(9).unwrap();
    assert_eq!(padded.truncate(4).unwrap(), low);
    assert_eq!(padded.get(6, 2), ZERO);
    // The padded expansion is the same function: equal values, and its fine-grid samples
    // transform back to the padded coefficients.
    for u in common::unit_vectors(4, &mut rng) {
        assert_close_complex(
            low.evaluate(&u),
            padded.evaluate(&u),
            EXACT_LONG_SUM,
            "evaluation",
        );
    }
    let fine = S2Transform::new(9).unwrap();
    let back = fine
        .forward_complex(&fine.inverse(&padded).unwrap())
        .unwrap();
    for (a, b) in back.as_slice().iter().zip(padded.as_slice()) {
        assert_close_complex(*a, *b, EXACT_LONG_SUM, "fine-grid round trip");
    }
}

#[test]
fn evaluation_at_grid_points_equals_the_inverse_transform() {
    let bandlimit = 12;
    let transform = S2Transform::new(bandlimit).unwrap();
    let grid = transform.grid();
    let coeffs =
        S2Coefficients::from_fn(bandlimit, |_, _| complex_noise(1, &mut rng(25))[0]).unwrap();
    let signal = transform.inverse(&coeffs).unwrap();
    for (j, k) in [(0, 0), (5, 7), (23, 22), (11, 3)] {
        let value = coeffs.evaluate_angles(grid.theta(j), grid.phi(k));
        assert_close_complex(
            value,
            signal[j * grid.n_phi() + k],
            EXACT_LONG_SUM,
            "grid point",
        );
        assert_close_complex(
            coeffs.evaluate(&grid.point(j, k)),
            value,
            EXACT_LONG_SUM,
            "vector",
        );
    }
    assert!(coeffs.evaluate_angles(f64::NAN, 0.0).re.is_nan());
}

#[test]
fn bad_input_gives_errors_not_panics() {
    let transform = S2Transform::new(4).unwrap();
    let naive = S2TransformNaive::new(4).unwrap();
    let len = transform.grid().len();
    let good = vec![0.5; len];
    let transforms: [&dyn FourierTransform<Coefficients = S2Coefficients>; 2] =
        [&transform, &naive];
    for t in transforms {
        assert!(matches!(
            t.forward(&good[1..]),
            Err(RepsError::ShapeMismatch { .. })
        ));
        let mut bad = good.clone();
        bad[17] = f64::NAN;
        assert_eq!(
            t.forward(&bad),
            Err(RepsError::NonFinite {
                what: "S² signal",
                index: 17
            })
        );
        bad[17] = f64::INFINITY;
        assert!(matches!(
            t.forward(&bad),
            Err(RepsError::NonFinite { index: 17, .. })
        ));
        let mut complex = vec![Complex64::new(0.0, 0.0); len];
        complex[3] = Complex64::new(0.0, f64::NAN);
        assert!(matches!(
            t.forward_complex(&complex),
            Err(RepsError::NonFinite { index: 3, .. })
        ));
        let other = S2Coefficients::zeros(5).unwrap();
        assert!(matches!(
            t.inverse(&other),
            Err(RepsError::ShapeMismatch { .. })
        ));
        let mut wrong_out = S2Coefficients::zeros(3).unwrap();
        assert!(t.forward_into(&good, &mut wrong_out).is_err());
        let mut short = vec![ZERO; len - 1];
        assert!(t
            .inverse_into(&S2Coefficients::zeros(4).unwrap(), &mut short)
            .is_err());
        let mut nan_coeffs = S2Coefficients::zeros(4).unwrap();
        nan_coeffs.as_mut_slice()[0] = Complex64::new(f64::NAN, 0.0);
        assert!(matches!(
            t.inverse(&nan_coeffs),
            Err(RepsError::NonFinite { .. })
        ));
    }
    assert!(S2Transform::new(0).is_err());
    assert!(S2TransformNaive::new(0).is_err());
    assert!(S2Coefficients::zeros(0).is_err());
    assert!(S2Coefficients::from_vec(2, vec![ZERO; 5]).is_err());
    assert!(S2Coefficients::from_vec(2, vec![Complex64::new(f64::NAN, 0.0); 6]).is_err());
    let coeffs = S2Coefficients::zeros(3).unwrap();
    assert!(coeffs.truncate(4).is_err());
    assert!(coeffs.zero_pad(2).is_err());
}

/// A deliberately broken transform: the forward transform is off by 0.1 %.
struct Miscalibrated(S2Transform);

impl FourierTransform for Miscalibrated {
    type Coefficients = S2Coefficients;
    fn grid(&self) -> DriscollHealyGrid {
        self.0.grid()
    }
    fn analyse(&self, signal: &[Complex64], coeffs: &mut S2Coefficients) {
        self.0.analyse(signal, coeffs);
        coeffs.as_mut_slice().iter_mut().for_each(|c| *c *= 1.001);
    }
    fn synthesise(&self, coeffs: &S2Coefficients, signal: &mut [Complex64]) {
        self.0.synthesise(coeffs, signal)
    }
}

#[test]
fn roundtrip_checker_rejects_a_miscalibrated_transform() {
    let broken = Miscalibrated(S2Transform::new(5).unwrap());
    let coeffs = S2Coefficients::random_real(5, &mut rng(26)).unwrap();
    let checks = check_roundtrip(&broken, &coeffs, EXACT_LONG_SUM).unwrap();
    assert!(checks.iter().all(|c| !c.passed()), "{checks:?}");
    let reference = S2TransformNaive::new(5).unwrap();
    let signal = complex_noise(broken.grid().len(), &mut rng(27));
    let agreement =
        check_against_reference(&broken, &reference, &signal, &coeffs, EXACT_LONG_SUM).unwrap();
    assert!(
        !agreement[0].passed() && agreement[1].passed(),
        "{agreement:?}"
    );
}
