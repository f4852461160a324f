//! Shared helpers of the ntk tests.
#![allow(dead_code)]

use entk_ntk::{GramOptions, Network};
use ndarray::{Array2, Array4};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

/// The tolerances of the exact checks, with their reasons (docs/theory.md#tested-properties).
/// Each test names the one whose reason fits its check; a check that needs another states its
/// own reason where it is used.
pub mod tol {
    /// One f64 formula evaluated two ways (vector lanes against scalar code, a branch-free form
    /// against libm) on values of order one: a few ulps, relative.
    pub const ULPS: f64 = 1e-15;
    /// An exact identity through a whole network's kernel or finite pass (augmentation
    /// theorem, finite = infinite width of linear layers): rounding of sums of O(100)-O(1000)
    /// terms, relative to the largest entry.
    pub const NETWORK: f64 = 1e-12;
    /// Two exact computations of one quantity through a linear solve or eigendecomposition of
    /// a Gram matrix (different factorisations, augmented against orbit-averaged predictions):
    /// the solve's rounding, amplified by the condition number of well-posed test problems.
    pub const SOLVE: f64 = 1e-10;
}

/// The named seed of the random test inputs.
pub const SEED: u64 = 0x5eed_2025;

/// docs/theory.md#golden-values input 1: `x[b,h,w,0] = sin(0.7h + 1.3w + b) + 0.1·h·w`, 2×5×5×1.
pub fn golden_input() -> Array4<f64> {
    Array4::from_shape_fn((2, 5, 5, 1), |(b, h, w, _)| {
        (0.7 * h as f64 + 1.3 * w as f64 + b as f64).sin() + 0.1 * (h * w) as f64
    })
}

/// `n` random `s×s×c` images with N(0,1)-ish entries.
pub fn random_images(n: usize, s: usize, c: usize, seed: u64) -> Array4<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array4::from_shape_fn((n, s, s, c), |_| rng.random_range(-1.0..1.0))
}

/// Gram with default options.
pub fn gram(net: &Network, x: &Array4<f64>) -> (Array2<f64>, Array2<f64>) {
    let g = net.gram(x.view(), None, &GramOptions::default()).unwrap();
    (g.nngp, g.ntk)
}

/// `max_i |a_i − b_i|` of two sequences of values (arrays, slices, `Vec`s) in one order.
pub fn max_abs_diff<'a>(
    a: impl IntoIterator<Item = &'a f64>,
    b: impl IntoIterator<Item = &'a f64>,
) -> f64 {
    a.into_iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
}

/// Max relative error `max |a−b| / max |b|` of two sequences of values in one order.
pub fn rel_err<'a, B: IntoIterator<Item = &'a f64> + Copy>(
    a: impl IntoIterator<Item = &'a f64>,
    b: B,
) -> f64 {
    let scale = b.into_iter().fold(0.0f64, |m, v| m.max(v.abs()));
    max_abs_diff(a, b) / scale
}

/// A spec string from layer JSON snippets.
pub fn spec(layers: &[&str]) -> String {
    format!(r#"{{"layers": [{}]}}"#, layers.join(","))
}

/// Image `i` of a batch as a batch of one.
pub fn pick(x: &Array4<f64>, i: usize) -> Array4<f64> {
    x.select(ndarray::Axis(0), &[i])
}

/// Gauss–Legendre on `[a, b]`, written independently of the crate's (Newton on `P_n`).
pub fn gauss_legendre(n: usize, a: f64, b: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut xs, mut ws) = (vec![], vec![]);
    for i in 0..n {
        let mut x = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        xs.push(0.5 * (b - a) * x + 0.5 * (b + a));
        ws.push(0.5 * (b - a) * 2.0 / ((1.0 - x * x) * dp * dp));
    }
    (xs, ws)
}

/// The smallest eigenvalue of a symmetric matrix (nalgebra).
pub fn min_eigenvalue(m: &Array2<f64>) -> f64 {
    let n = m.nrows();
    let dm = nalgebra::DMatrix::from_fn(n, n, |i, j| m[[i, j]]);
    dm.symmetric_eigen().eigenvalues.min()
}

/// Asserts that a Gram matrix is exactly symmetric and positive semi-definite
/// (`λ_min ≥ −1e-10·λ_max`, docs/theory.md#tested-properties, properties 1–2).
pub fn assert_symmetric_psd(m: &Array2<f64>) {
    let n = m.nrows();
    let dm = nalgebra::DMatrix::from_fn(n, n, |i, j| m[[i, j]]);
    assert_eq!(dm, dm.transpose());
    let eig = dm.symmetric_eigen().eigenvalues;
    let (min, max) = (eig.min(), eig.max());
    assert!(min >= -1e-10 * max, "λ_min {min}, λ_max {max}");
}

/// The Monte-Carlo agreement check (docs/theory.md#tested-properties): every entry of the
/// ensemble means of `mc` lies within 4 standard errors of the analytic `(nngp, ntk)`, plus
/// `bias / width · |analytic|` for the O(1/width) bias of a finite network's mean. Returns the
/// worst `|mean − analytic| / stderr`, for the test to print.
pub fn assert_monte_carlo_agrees(
    mc: &entk_ntk::finite::MonteCarlo,
    (nngp, ntk): (&Array2<f64>, &Array2<f64>),
    width: usize,
    bias: f64,
) -> f64 {
    let mut worst_z = 0.0f64;
    for (name, mean, se, exact) in [
        ("nngp", &mc.nngp, &mc.nngp_stderr, nngp),
        ("ntk", &mc.ntk, &mc.ntk_stderr, ntk),
    ] {
        for ((m, s), e) in mean.iter().zip(se).zip(exact) {
            worst_z = worst_z.max((m - e).abs() / s);
            assert!(
                (m - e).abs() <= 4.0 * s + bias / width as f64 * e.abs(),
                "{name} width {width}: mean {m} ± {s}, analytic {e}"
            );
        }
    }
    worst_z
}

/// The Gram matrices of inputs as a golden file stores them: a 2-D array is a batch of vectors,
/// a 4-D one a batch of `(h, w, c)` images; `x2: None` is the symmetric Gram.
pub fn gram_of_stored(
    net: &Network,
    x1: ndarray::ArrayD<f64>,
    x2: Option<ndarray::ArrayD<f64>>,
) -> entk_ntk::Result<entk_ntk::Gram> {
    use ndarray::{Ix2, Ix4};
    let opts = GramOptions::default();
    if x1.ndim() == 2 {
        let a = x1.into_dimensionality::<Ix2>().unwrap();
        let b = x2.map(|b| b.into_dimensionality::<Ix2>().unwrap());
        net.gram_vectors(a.view(), b.as_ref().map(|b| b.view()), &opts)
    } else {
        let a = x1.into_dimensionality::<Ix4>().unwrap();
        let b = x2.map(|b| b.into_dimensionality::<Ix4>().unwrap());
        net.gram(a.view(), b.as_ref().map(|b| b.view()), &opts)
    }
}

/// A golden comparison (docs/theory.md#golden-values): NNGP and NTK each within 1e-10 of the
/// stored matrices, relative to their largest entry. Prints both errors; returns the worse.
pub fn assert_matches_golden(
    name: &str,
    got: &entk_ntk::Gram,
    want_nngp: ndarray::ArrayD<f64>,
    want_ntk: ndarray::ArrayD<f64>,
) -> f64 {
    let want = |a: ndarray::ArrayD<f64>| a.into_dimensionality::<ndarray::Ix2>().unwrap();
    let (ek, et) = (
        rel_err(&got.nngp, &want(want_nngp)),
        rel_err(&got.ntk, &want(want_ntk)),
    );
    println!("{name:<44} nngp {ek:.2e}  ntk {et:.2e}");
    assert!(
        ek <= 1e-10 && et <= 1e-10,
        "{name}: nngp rel err {ek:e}, ntk rel err {et:e}"
    );
    ek.max(et)
}

/// The one-line error check (docs/theory.md#tested-properties: bad input gets a one-line error
/// naming the problem): `e`'s message is one line and contains `needle`; `case` names the input
/// in the failure message.
pub fn assert_one_line_error(e: &impl std::fmt::Display, needle: &str, case: &str) {
    let msg = e.to_string();
    assert!(
        msg.contains(needle),
        "{case}: {msg:?} does not name {needle:?}"
    );
    assert!(!msg.contains('\n'), "{case}: {msg:?} is not one line");
}

/// The Monte-Carlo agreement check of a spec's finite twins: `samples` networks of `width`
/// channels, initialised from [`SEED`], against the analytic kernel on `x`, by
/// [`assert_monte_carlo_agrees`] with its `bias` allowance. Prints the worst z.
pub fn assert_finite_twins_agree(
    spec_json: &str,
    x: &Array4<f64>,
    width: usize,
    samples: usize,
    bias: f64,
) {
    let spec = entk_ntk::ArchSpec::from_json(spec_json).unwrap();
    let (nngp, ntk) = gram(&Network::from_spec(&spec).unwrap(), x);
    let mc =
        entk_ntk::finite::monte_carlo_gram(&spec, width, samples, SEED, x.view(), None).unwrap();
    let worst_z = assert_monte_carlo_agrees(&mc, (&nngp, &ntk), width, bias);
    println!("width {width}, {samples} samples: worst |mean − analytic| / stderr = {worst_z:.2}");
}

/// A deterministic `c`-channel signal on the `2L × (2L−1)` Driscoll–Healy grid of bandlimit
/// `l`, in `(θ, φ, c)` order: value `i` is `sin((i + 1)·(7919·seed + 13)·0.6180339)`.
pub fn sphere_signal(l: usize, c: usize, seed: u64) -> Vec<f64> {
    let n = 2 * l * (2 * l - 1) * c;
    (0..n)
        .map(|i| (((i as u64 + 1) * (seed * 7919 + 13)) as f64 * 0.618_033_9).sin())
        .collect()
}

/// Asserts that both Gram matrices of `g` are symmetric and positive semi-definite
/// ([`assert_symmetric_psd`]).
pub fn assert_grams_symmetric_psd(g: &entk_ntk::Gram) {
    for m in [&g.nngp, &g.ntk] {
        assert_symmetric_psd(m);
    }
}

/// Gram options with `threads` worker threads, the rest default.
pub fn with_threads(threads: usize) -> GramOptions<'static> {
    GramOptions {
        threads,
        ..Default::default()
    }
}

/// Asserts that the error message `e` names every one of `needles`.
pub fn assert_error_names(e: &str, needles: &[&str]) {
    for needle in needles {
        assert!(e.contains(needle), "{e:?} does not name {needle:?}");
    }
}
