//! Raw SO(3)-signal inputs `(N, 2L−1, 2L, 2L−1, C)` (indexed `(γ, β, α)`) for networks that
//! start with `so3_conv` (or `so3_pool`), tested three ways (docs/theory.md "Raw SO(3) inputs"):
//!
//! - the real-space oracle of docs/theory.md#tested-properties, property 10: direct quadrature of
//!   `(1/|S|) ∫_S K⁰(RQ, R′Q) dQ` with inputs known everywhere (polynomials in the entries of
//!   `R`), global and local supports, `L_out ≤ L_in`;
//! - exact identities: finite = infinite for one linear `so3_conv` (every position pair of the
//!   exact Jacobian kernel), symmetry and PSD, invariance under grid z-rotations applied on the
//!   left (independently per input) and under common right translations, the S² lift by the
//!   north-pole delta (`x(R) = f(R e_z)`) against `s2_lift_conv`, and docs/theory.md#golden-values's golden
//!   values through that lift;
//! - Monte-Carlo agreement of the finite twin.

use entk_groups::{CompactGroup, DriscollHealyGrid, EulerZyz, Rotation, So3Grid, SO3};
use entk_ntk::finite::{jacobian, monte_carlo_gram_features};
use entk_ntk::so3::{So3Operand, So3PairKernel};
use entk_ntk::{
    so3_features, so3_signal_bandlimit, ArchSpec, Features, Gram, GramOptions, Kernel, Layout,
    Network,
};
use nalgebra::Matrix3;
use ndarray::{Array4, Array5, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

mod common;
use common::gauss_legendre;

/// Fixed so that failures reproduce; any value works.
const SEED: u64 = 0x5030_5163;

type Channel = fn(&Matrix3<f64>) -> f64;

/// Degree-2 polynomials in the entries of `R` (degrees `l ≤ 2`: bandlimited for `L ≥ 3`).
const QUADRATIC: [[Channel; 2]; 2] = [
    [
        |r| 1.0 + r[(0, 2)] + 0.5 * r[(1, 0)] * r[(2, 2)],
        |r| r[(2, 1)] - 0.3 * r[(0, 0)] + r[(1, 1)] * r[(1, 2)],
    ],
    [
        |r| 0.2 + r[(0, 1)] * r[(2, 0)] - r[(1, 2)],
        |r| r[(0, 0)] * r[(1, 1)] + 0.4 * r[(2, 2)] - r[(1, 0)],
    ],
];

/// Degree-1 polynomials (`l ≤ 1`: bandlimited for `L ≥ 2`).
const LINEAR: [[Channel; 2]; 2] = [
    [
        |r| 1.0 + r[(0, 2)] - 0.5 * r[(1, 0)],
        |r| r[(2, 1)] - 0.3 * r[(0, 0)],
    ],
    [
        |r| 0.2 + r[(2, 0)] - r[(1, 2)],
        |r| r[(1, 1)] + 0.4 * r[(2, 2)],
    ],
];

/// Samples channels at the SO(3) grid points of bandlimit `l`, each signal right-translated by
/// `right[b]` (`x ↦ x(·Q)`), as one `(γ, β, α, C)` array per signal.
fn sample(l: usize, signals: &[[Channel; 2]], right: &[Rotation]) -> Array5<f64> {
    let grid = So3Grid::new(l).unwrap();
    let (a, b) = (2 * l - 1, 2 * l);
    Array5::from_shape_fn((signals.len(), a, b, a, 2), |(n, g, j, k, c)| {
        let r = grid.rotation(g, j, k).compose(&right[n]);
        signals[n][c](r.matrix())
    })
}

fn features(x: &Array5<f64>) -> Vec<Features> {
    x.axis_iter(Axis(0))
        .map(|v| so3_features(v).unwrap())
        .collect()
}

fn identities(n: usize) -> Vec<Rotation> {
    vec![Rotation::identity(); n]
}

/// Random grid values in [−1, 1): not bandlimited, which the grid identities do not need.
fn random_signals(n: usize, l: usize, c: usize, seed: u64) -> Array5<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a = 2 * l - 1;
    Array5::from_shape_fn((n, a, 2 * l, a, c), |_| rng.random_range(-1.0..1.0))
}

fn conv(bandlimit_out: usize, max_beta: f64, extra: &str) -> String {
    format!(
        r#"{{"type": "so3_conv", "bandlimit_out": {bandlimit_out}, "max_beta": {max_beta}{extra}}}"#
    )
}

fn network(layers: &[String]) -> Network {
    Network::from_json(&format!(r#"{{"layers": [{}]}}"#, layers.join(","))).unwrap()
}

fn pair_kernel(k: &Kernel, values: &[f64]) -> So3PairKernel {
    let Layout::So3 { bandlimit } = k.layout else {
        panic!("not an SO(3) kernel: {}", k.layout)
    };
    So3PairKernel::from_values(bandlimit, values.to_vec()).unwrap()
}

/// `(1/|S|) ∫_S K⁰(RQ, R′Q) dQ` over `S = {β ≤ β_max}` with `K⁰ = (1/C) Σ_c x_c(R) x′_c(R′)`:
/// Gauss–Legendre in `cos β` × uniform `α, γ`, exact for these polynomial integrands.
fn oracle(x: &[Channel; 2], y: &[Channel; 2], r1: &Rotation, r2: &Rotation, max_beta: f64) -> f64 {
    let (xs, ws) = gauss_legendre(8, max_beta.cos(), 1.0);
    let n = 9;
    let step = 2.0 * PI / n as f64;
    let mut total = 0.0;
    for (c, w) in xs.iter().zip(&ws) {
        for ia in 0..n {
            for ig in 0..n {
                let q = Rotation::from_euler_zyz(EulerZyz {
                    alpha: step * ia as f64,
                    beta: c.acos(),
                    gamma: step * ig as f64,
                });
                let (a, b) = (r1.compose(&q), r2.compose(&q));
                let (a, b) = (a.matrix(), b.matrix());
                let k0 = (x[0](a) * y[0](b) + x[1](a) * y[1](b)) / 2.0;
                total += w * step * step * k0;
            }
        }
    }
    total / (4.0 * PI * PI * (1.0 - max_beta.cos()))
}

/// Grid pairs `([γ, β, α], [γ′, β′, α′])` valid for `L ≥ 2`, with unequal and equal γ.
const PAIRS: [([usize; 3], [usize; 3]); 5] = [
    ([0, 0, 0], [0, 0, 0]),
    ([1, 2, 2], [2, 3, 0]),
    ([2, 1, 1], [0, 0, 2]),
    ([0, 3, 1], [1, 1, 1]),
    ([2, 2, 0], [2, 2, 0]),
];

#[test]
fn first_so3_conv_equals_real_space_quadrature_for_global_and_local_supports() {
    // (L_in, L_out, inputs): the inputs' degrees stay below L_out, so truncation keeps them.
    let cases: [(usize, usize, &[[Channel; 2]; 2]); 3] =
        [(3, 3, &QUADRATIC), (4, 3, &QUADRATIC), (3, 2, &LINEAR)];
    for (l_in, l_out, inputs) in cases {
        let x = features(&sample(l_in, inputs, &identities(2)));
        let grid = So3Grid::new(l_out).unwrap();
        for max_beta in [PI, 1.2, 0.5] {
            let net = network(&[conv(l_out, max_beta, r#", "w_std": 1.3, "b_std": 0.4"#)]);
            let k = net.kernel_pair_features(&x[0], &x[1]).unwrap();
            assert_eq!(k.nngp, k.ntk, "first layer: Θ¹ = K¹");
            let kernel = pair_kernel(&k, &k.nngp);
            // The other route: the γ-shift-averaged input kernel through the layer's kernel map.
            let (via_k0, _) = net
                .self_kernel(Kernel::from_features(&x[0], &x[1]).unwrap())
                .unwrap();
            for (i1, i2) in PAIRS {
                let want =
                    1.69 * oracle(
                        &inputs[0],
                        &inputs[1],
                        &grid.rotation(i1[0], i1[1], i1[2]),
                        &grid.rotation(i2[0], i2[1], i2[2]),
                        max_beta,
                    ) + 0.16;
                let got = kernel.get(i1, i2);
                assert!(
                    (got - want).abs() < 1e-12,
                    "L {l_in}→{l_out}, β_max {max_beta}, {i1:?} {i2:?}: {got} vs {want}"
                );
                let other = pair_kernel(&via_k0, &via_k0.nngp).get(i1, i2);
                assert!((other - got).abs() < 1e-13, "{other} vs {got}");
            }
        }
    }
}

#[test]
fn single_so3_conv_layer_jacobian_kernel_equals_the_analytic_kernel_at_every_position_pair() {
    let l = 3;
    let x = features(&random_signals(2, l, 2, SEED));
    for (l_out, max_beta, b_std) in [(3, PI, 0.0), (2, PI, 0.6), (3, 0.9, 0.3)] {
        let net = network(&[conv(
            l_out,
            max_beta,
            &format!(r#", "w_std": 1.3, "b_std": {b_std}, "width": 2"#),
        )]);
        let analytic = net.kernel_pair_features(&x[0], &x[1]).unwrap();
        let analytic = pair_kernel(&analytic, &analytic.ntk);
        let params = net
            .init_seeded(&Network::so3_signature(l, 2), SEED)
            .unwrap();
        let (_, j1) = jacobian(&net, &params, &x[0]).unwrap();
        let (_, j2) = jacobian(&net, &params, &x[1]).unwrap();
        let (a, b) = (2 * l_out - 1, 2 * l_out);
        let positions: Vec<[usize; 3]> = (0..a)
            .flat_map(|g| (0..b).flat_map(move |j| (0..a).map(move |k| [g, j, k])))
            .collect();
        let mut worst: f64 = 0.0;
        for (p1, i1) in positions.iter().enumerate() {
            for (p2, i2) in positions.iter().enumerate() {
                // The exact empirical NTK (1/C_out) Σ_o ⟨∂f_o(x)(R), ∂f_o(x′)(R′)⟩, width 2.
                let empirical: f64 = (0..2)
                    .map(|o| {
                        j1[p1 * 2 + o]
                            .iter()
                            .zip(&j2[p2 * 2 + o])
                            .map(|(u, v)| u * v)
                            .sum::<f64>()
                    })
                    .sum::<f64>()
                    / 2.0;
                worst = worst.max((empirical - analytic.get(*i1, *i2)).abs());
            }
        }
        assert!(
            worst < 1e-12,
            "L_out {l_out}, β_max {max_beta}, b_std {b_std}: {worst:e}"
        );
    }
}

#[test]
fn monte_carlo_ntk_of_a_deep_network_on_so3_signals_approaches_the_analytic_kernel() {
    let spec = ArchSpec::from_json(
        r#"{"layers": [{"type": "so3_conv", "bandlimit_out": 2, "max_beta": 1.5}, {"type": "erf"},
            {"type": "so3_conv", "bandlimit_out": 2}, {"type": "erf"}, {"type": "so3_pool"}, {"type": "dense"}]}"#,
    )
    .unwrap();
    let x = features(&sample(3, &QUADRATIC, &identities(2)));
    let analytic = Network::from_spec(&spec)
        .unwrap()
        .gram_features(&x, None, &GramOptions::default())
        .unwrap();
    let mut errors = Vec::new();
    for width in [4, 32] {
        let mc = monte_carlo_gram_features(&spec, width, 24, SEED, &x, None).unwrap();
        let mut worst_rel: f64 = 0.0;
        for i in 0..2 {
            for j in 0..2 {
                for (mean, se, truth) in [
                    (mc.ntk[[i, j]], mc.ntk_stderr[[i, j]], analytic.ntk[[i, j]]),
                    (
                        mc.nngp[[i, j]],
                        mc.nngp_stderr[[i, j]],
                        analytic.nngp[[i, j]],
                    ),
                ] {
                    // Monte-Carlo noise (≈4 standard errors) plus a finite-width bias O(1/width).
                    assert!(
                        (mean - truth).abs() <= 4.0 * se + 2.0 * truth.abs() / width as f64,
                        "width {width}: {mean} ± {se} vs {truth}"
                    );
                }
                let (mean, truth) = (mc.ntk[[i, j]], analytic.ntk[[i, j]]);
                worst_rel = worst_rel.max((mean - truth).abs() / truth.abs());
            }
        }
        errors.push(worst_rel);
    }
    assert!(errors[1] < 0.1, "{errors:?}");
}

const NONLINEAR: &str = r#"{"type": "relu"}"#;

fn deep(max_beta: f64) -> Network {
    network(&[
        conv(3, max_beta, r#", "b_std": 0.2"#),
        NONLINEAR.into(),
        conv(3, 1.0, ""),
        r#"{"type": "erf"}"#.into(),
        r#"{"type": "so3_pool"}"#.into(),
        r#"{"type": "dense"}"#.into(),
    ])
}

#[test]
fn gram_matrices_are_symmetric_and_positive_semidefinite() {
    let x = features(&random_signals(4, 3, 2, SEED + 1));
    for net in [deep(PI), deep(0.8)] {
        let g = net
            .gram_features(&x, None, &common::with_threads(2))
            .unwrap();
        common::assert_grams_symmetric_psd(&g);
    }
    // The unpooled first-layer kernel of 3 inputs as a (3·|G|) × (3·|G|) matrix.
    let net = network(&[conv(2, 1.1, "")]);
    let x = features(&random_signals(3, 3, 2, SEED + 2));
    let (a, b) = (3, 4);
    let positions: Vec<[usize; 3]> = (0..a)
        .flat_map(|g| (0..b).flat_map(move |j| (0..a).map(move |k| [g, j, k])))
        .collect();
    let np = positions.len();
    let mut full = nalgebra::DMatrix::zeros(3 * np, 3 * np);
    for s in 0..3 {
        for t in 0..3 {
            let k = net.kernel_pair_features(&x[s], &x[t]).unwrap();
            let k = pair_kernel(&k, &k.nngp);
            for (p, i) in positions.iter().enumerate() {
                for (q, j) in positions.iter().enumerate() {
                    full[(s * np + p, t * np + q)] = k.get(*i, *j);
                }
            }
        }
    }
    let asym = (&full - full.transpose()).abs().max();
    assert!(asym < 1e-14, "{asym:e}");
    let eig = full.symmetric_eigen().eigenvalues;
    assert!(eig.min() >= -1e-10 * eig.max(), "{eig}");
}

/// Shifts the α index by `k` (a left z-rotation by 2πk/(2L−1): `x ↦ x(Z⁻¹·)`), or the γ index
/// (a right translation `x ↦ x(·Z)`).
fn shifted(x: &Array5<f64>, b: usize, axis: usize, k: usize) -> Array4<f64> {
    let v = x.index_axis(Axis(0), b);
    let a = v.dim().0;
    Array4::from_shape_fn(v.dim(), |(g, j, al, c)| match axis {
        0 => v[[(g + k) % a, j, al, c]],
        _ => v[[g, j, (al + a - k) % a, c]],
    })
}

#[test]
fn kernels_are_left_equivariant_under_independent_grid_z_rotations() {
    let l = 3;
    let a = 2 * l - 1;
    let x = random_signals(2, l, 2, SEED + 3);
    let base_f = features(&x);
    for max_beta in [PI, 1.0] {
        // Unpooled: K(Z₁x, Z₂x′)(R, R′) = K(x, x′)(Z₁⁻¹R, Z₂⁻¹R′), i.e. α ↦ α − k.
        let net = network(&[conv(3, max_beta, ""), NONLINEAR.into(), conv(3, 0.7, "")]);
        let base = net.kernel_pair_features(&base_f[0], &base_f[1]).unwrap();
        let base = pair_kernel(&base, &base.ntk);
        for (k1, k2) in [(1, 0), (2, 4), (3, 3)] {
            let moved = net
                .kernel_pair_features(
                    &so3_features(shifted(&x, 0, 2, k1).view()).unwrap(),
                    &so3_features(shifted(&x, 1, 2, k2).view()).unwrap(),
                )
                .unwrap();
            let moved = pair_kernel(&moved, &moved.ntk);
            let mut worst: f64 = 0.0;
            for (i1, i2) in PAIRS {
                let back1 = [i1[0], i1[1], (i1[2] + a - k1) % a];
                let back2 = [i2[0], i2[1], (i2[2] + a - k2) % a];
                worst = worst.max((moved.get(i1, i2) - base.get(back1, back2)).abs());
            }
            assert!(worst < 1e-12, "β_max {max_beta}, ({k1}, {k2}): {worst:e}");
        }
        // Pooled: invariant, in the cross Gram (rotated against unrotated signals) and in the
        // rotated signals' own Gram. The cross Gram uses erf, not ReLU: the same signal at
        // corresponding positions has correlation 1 there, reached along two rounding paths,
        // and ReLU's derivative dual (π − arccos ρ)/2π has an infinite slope at ρ = 1, so a
        // ρ one ulp below 1 moves it by √(2·1e-16)/2π ≈ 2e-9; through the ReLU network that
        // shows as 1e-11 relative in the NTK (measured 8e-12 and 1.6e-11), at rounding level
        // in the inputs. Erf's duals are smooth there (measured ≤ 7e-16), and the ReLU
        // network (`deep`) in its own Gram meets ρ = 1 along one path (measured ≤ 4e-16).
        let erf = network(&[
            conv(3, max_beta, r#", "b_std": 0.2"#),
            r#"{"type": "erf"}"#.into(),
            conv(3, 1.0, ""),
            r#"{"type": "erf"}"#.into(),
            r#"{"type": "so3_pool"}"#.into(),
            r#"{"type": "dense"}"#.into(),
        ]);
        let rotated: Vec<Features> = [(0, 2), (1, 3)]
            .iter()
            .map(|&(b, k)| so3_features(shifted(&x, b, 2, k).view()).unwrap())
            .collect();
        let opts = GramOptions::default();
        let relu = deep(max_beta);
        for (net, cross) in [(&erf, Some(&base_f)), (&relu, None)] {
            let g = net.gram_features(&base_f, None, &opts).unwrap();
            let gr = net
                .gram_features(&rotated, cross.map(|f| f.as_slice()), &opts)
                .unwrap();
            for (m, mr) in [(&g.nngp, &gr.nngp), (&g.ntk, &gr.ntk)] {
                let worst = (m - mr).iter().fold(0.0f64, |w, v| w.max(v.abs()));
                let scale = m.iter().fold(0.0f64, |w, v| w.max(v.abs()));
                assert!(worst < 1e-13 * scale, "{worst:e} of {scale}");
            }
        }
    }
}

#[test]
fn kernels_are_invariant_under_common_right_translations() {
    // Grid right translations (γ-shifts) leave every kernel of both supports unchanged, because
    // the region β ≤ β_max is invariant under z-rotations on either side.
    let l = 3;
    let x = random_signals(2, l, 2, SEED + 4);
    let base_f = features(&x);
    for max_beta in [PI, 0.9] {
        let net = deep(max_beta);
        let base = net
            .gram_features(&base_f, None, &GramOptions::default())
            .unwrap();
        let moved: Vec<Features> = (0..2)
            .map(|b| so3_features(shifted(&x, b, 0, 2).view()).unwrap())
            .collect();
        let g = net
            .gram_features(&moved, None, &GramOptions::default())
            .unwrap();
        for (a, b) in [(&g.nngp, &base.nngp), (&g.ntk, &base.ntk)] {
            let worst = (a - b).iter().fold(0.0f64, |w, v| w.max(v.abs()));
            let scale = b.iter().fold(0.0f64, |w, v| w.max(v.abs()));
            assert!(
                worst < 1e-11 * scale,
                "β_max {max_beta}: {worst:e} of {scale}"
            );
        }
    }
    // A common Haar-random right translation of bandlimited inputs: global support gives the
    // same first-layer kernel (so the same network kernel); a local support does not.
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let q = SO3.sample_haar(&mut rng);
    let x = features(&sample(l, &QUADRATIC, &identities(2)));
    let xq = features(&sample(l, &QUADRATIC, &[q, q]));
    let deviation = |max_beta: f64| {
        let net = network(&[conv(3, max_beta, "")]);
        let a = net.kernel_pair_features(&x[0], &x[1]).unwrap();
        let b = net.kernel_pair_features(&xq[0], &xq[1]).unwrap();
        common::rel_err(&b.nngp, &a.nngp)
    };
    let global = deviation(PI);
    assert!(global < 1e-12, "global support: {global:e}");
    let local = deviation(1.0);
    assert!(
        local > 1e-3,
        "local support should not be invariant: {local:e}"
    );
}

/// docs/theory.md#golden-values "input 2" on the S² grid of bandlimit 4, `(2, 8, 7, 2)`.
fn golden_sphere_input() -> Array4<f64> {
    let grid = DriscollHealyGrid::new(4).unwrap();
    Array4::from_shape_fn((2, 8, 7, 2), |(b, j, k, c)| {
        let u = grid.point(j, k);
        match (b, c) {
            (0, 0) => 1.0 + u.z + 0.5 * u.x * u.y,
            (0, _) => u.x - 0.3 * u.z * u.z,
            (_, 0) => 0.2 + u.y + u.x * u.z,
            _ => 0.5 * u.y * u.y - u.x,
        }
    })
}

/// The S² signals lifted by the north-pole delta, `x(R) = f(R e_z)`: constant in γ, and
/// `R(α, β, γ) e_z` is the sphere point `(θ, φ) = (β, α)`, so the SO(3) grid's `(β, α)` slice is
/// the S² grid.
fn delta_lift(f: &Array4<f64>) -> Array5<f64> {
    let (n, h, w, c) = f.dim();
    Array5::from_shape_fn((n, w, h, w, c), |(b, _, j, k, ch)| f[[b, j, k, ch]])
}

/// The Gram matrices of `net("s2_lift_conv")` on the S² signals `f` and of `net("so3_conv")`
/// on their [`delta_lift`].
fn grams_on_s2_and_delta_lifted(net: impl Fn(&str) -> Network, f: &Array4<f64>) -> (Gram, Gram) {
    let o = GramOptions::default();
    let s2 = net("s2_lift_conv").gram(f.view(), None, &o).unwrap();
    let so3 = net("so3_conv")
        .gram_so3(delta_lift(f).view(), None, &o)
        .unwrap();
    (s2, so3)
}

#[test]
fn so3_conv_on_delta_lifted_s2_signals_equals_s2_lift_conv_and_the_golden_values() {
    // (1/|S|) ∫_S K⁰(RQe_z, R′Qe_z) dQ = (1/|cap|) ∫_cap K⁰(Ru, R′u) du: Qe_z runs over the
    // cap θ ≤ β_max as Q runs over β ≤ β_max, and |S| = 2π·|cap|.
    let golden = |first: &str| {
        network(&[
            format!(r#"{{"type": "{first}", "bandlimit_out": 2}}"#),
            r#"{"type": "erf"}"#.into(),
            conv(2, PI, ""),
            r#"{"type": "erf"}"#.into(),
            r#"{"type": "so3_pool"}"#.into(),
            r#"{"type": "dense"}"#.into(),
        ])
    };
    let (s2, so3) = grams_on_s2_and_delta_lifted(golden, &golden_sphere_input());
    let nngp = [[0.1732614935, 0.0412707749], [0.0412707749, 0.0214151883]];
    let ntk = [[0.5442469202, 0.1254721109], [0.1254721109, 0.0673205485]];
    for i in 0..2 {
        for j in 0..2 {
            assert!((so3.nngp[[i, j]] - nngp[i][j]).abs() < 1e-9, "{}", so3.nngp);
            assert!((so3.ntk[[i, j]] - ntk[i][j]).abs() < 1e-9, "{}", so3.ntk);
            assert!((so3.ntk[[i, j]] - s2.ntk[[i, j]]).abs() < 1e-13 * s2.ntk[[0, 0]]);
            assert!((so3.nngp[[i, j]] - s2.nngp[[i, j]]).abs() < 1e-13 * s2.nngp[[0, 0]]);
        }
    }
    // Local supports and rough (not bandlimited) S² grid values.
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 5);
    let rough = Array4::from_shape_fn((3, 6, 5, 2), |_| rng.random_range(-1.0..1.0));
    for max_beta in [1.0, 2.2] {
        let net = |first: &str| {
            network(&[
                format!(
                    r#"{{"type": "{first}", "bandlimit_out": 3, "max_beta": {max_beta}, "b_std": 0.3}}"#
                ),
                NONLINEAR.into(),
                conv(2, 1.3, ""),
                r#"{"type": "erf"}"#.into(),
                r#"{"type": "so3_pool"}"#.into(),
                r#"{"type": "dense"}"#.into(),
            ])
        };
        let (a, b) = grams_on_s2_and_delta_lifted(net, &rough);
        for (p, q) in [(&a.nngp, &b.nngp), (&a.ntk, &b.ntk)] {
            let worst = (p - q).iter().fold(0.0f64, |w, v| w.max(v.abs()));
            assert!(worst < 1e-13 * p[[0, 0]], "β_max {max_beta}: {worst:e}");
        }
    }
}

#[test]
fn so3_pool_as_first_layer_pools_the_raw_signals() {
    // [so3_pool, dense]: K = σ_w² (1/C) Σ_c P(x_c) P(x′_c) + σ_b², Θ = K.
    let l = 3;
    let x = random_signals(2, l, 3, SEED + 6);
    let net = network(&[
        r#"{"type": "so3_pool"}"#.into(),
        r#"{"type": "dense", "w_std": 1.5, "b_std": 0.5}"#.into(),
    ]);
    let g = net
        .gram_so3(x.view(), None, &GramOptions::default())
        .unwrap();
    let grid = So3Grid::new(l).unwrap();
    let pooled = |b: usize, c: usize| {
        let v = x.index_axis(Axis(0), b);
        let mut s = 0.0;
        for ((_, j, _, ch), val) in v.indexed_iter() {
            if ch == c {
                s += grid.weight(j) * val;
            }
        }
        s / (8.0 * PI * PI)
    };
    for i in 0..2 {
        for j in 0..2 {
            let k0 = (0..3).map(|c| pooled(i, c) * pooled(j, c)).sum::<f64>() / 3.0;
            let want = 2.25 * k0 + 0.25;
            assert!(
                (g.nngp[[i, j]] - want).abs() < 1e-14,
                "{} vs {want}",
                g.nngp
            );
            assert!((g.ntk[[i, j]] - want).abs() < 1e-14);
        }
    }
}

#[test]
fn bad_so3_signal_inputs_get_one_line_errors_naming_the_problem() {
    for ((g, b, a), needle) in [
        ((5, 6, 4), "γ and α axes differ"),
        ((4, 5, 4), "odd number"),
        ((5, 5, 5), "need 2L = 6"),
    ] {
        let e = so3_signal_bandlimit(g, b, a).unwrap_err().to_string();
        assert!(
            e.contains(needle) && e.contains("(N, 2L−1, 2L, 2L−1, C)"),
            "{e}"
        );
        let x = Array5::<f64>::zeros((2, g, b, a, 1));
        let e = network(&[conv(2, PI, ""), r#"{"type": "so3_pool"}"#.into()])
            .gram_so3(x.view(), None, &GramOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle), "{e}");
    }
    assert_eq!(so3_signal_bandlimit(11, 12, 11).unwrap(), 6);
    let x = random_signals(2, 3, 2, SEED);
    let err = |layers: &[&str], x: &Array5<f64>, x2: Option<&Array5<f64>>| {
        let layers: Vec<String> = layers.iter().map(|s| s.to_string()).collect();
        network(&layers)
            .gram_so3(x.view(), x2.map(|v| v.view()), &GramOptions::default())
            .unwrap_err()
            .to_string()
    };
    let pool = r#"{"type": "so3_pool"}"#;
    let c3 = conv(3, PI, "");
    // Networks that do not start with so3_conv / so3_pool.
    for first in [
        r#"{"type": "dense"}"#,
        r#"{"type": "s2_lift_conv", "bandlimit_out": 2}"#,
        r#"{"type": "flatten"}"#,
        r#"{"type": "identity"}"#,
    ] {
        let e = err(&[first, &c3, pool, r#"{"type": "dense"}"#], &x, None);
        assert!(e.contains("must go straight into so3_conv"), "{first}: {e}");
    }
    let e = err(&[r#"{"type": "relu"}"#, &c3, pool], &x, None);
    assert!(e.contains("not Gaussian"), "{e}");
    // bandlimit_out above the input's.
    let e = err(&[&conv(4, PI, ""), pool], &x, None);
    assert!(e.contains("exceeds"), "{e}");
    // Mismatched x1 and x2, and non-finite values.
    let e = err(&[&c3, pool], &x, Some(&random_signals(2, 3, 3, SEED)));
    assert!(e.contains("channels"), "{e}");
    let e = err(&[&c3, pool], &x, Some(&random_signals(2, 2, 2, SEED)));
    assert!(e.contains("5×6×5") && e.contains("3×4×3"), "{e}");
    let mut nan = x.clone();
    nan[[1, 2, 3, 4, 0]] = f64::NAN;
    assert!(err(&[&c3, pool], &nan, None).contains("x1[1,2,3,4,0] is NaN"));
    // Images into a network that starts with so3_conv.
    let images = Array4::<f64>::zeros((2, 6, 5, 2));
    let e = network(&[c3.clone(), pool.into()])
        .gram(images.view(), None, &GramOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("s2_lift_conv first"), "{e}");
    for e in [
        err(&[r#"{"type": "dense"}"#, pool], &x, None),
        err(&[&c3, pool], &nan, None),
    ] {
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

/// The input kernel of two raw signals is `K̄[Δ](p₁, p₂) = (1/(dC)) Σ_{γ,c} x(γ+Δ, p₁, c)
/// x′(γ, p₂, c)` (d = 2L−1), summed here term by term; operands of another bandlimit or channel
/// count, or of the wrong length, are refused.
#[test]
fn operand_kernels_are_the_shift_averaged_sums() {
    let (l, c) = (2, 3);
    let (d, p) = So3PairKernel::dims(l);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut signal = || {
        (0..d * p * c)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect::<Vec<f64>>()
    };
    let (x, y) = (signal(), signal());
    let (a, b) = (
        So3Operand::new(l, &x, c).unwrap(),
        So3Operand::new(l, &y, c).unwrap(),
    );
    let k = So3PairKernel::from_operands(&a, &b).unwrap();
    for delta in 0..d {
        for p1 in 0..p {
            for p2 in 0..p {
                let mut sum = 0.0;
                for g in 0..d {
                    for ch in 0..c {
                        sum += x[(((g + delta) % d) * p + p1) * c + ch] * y[(g * p + p2) * c + ch];
                    }
                }
                let got = k.values()[(delta * p + p1) * p + p2];
                assert!(
                    (got - sum / (d * c) as f64).abs() <= 1e-14,
                    "{got} vs {sum}"
                );
            }
        }
    }
    assert_eq!(So3PairKernel::from_signals(l, &x, &y, c), Some(k));
    let (d3, p3) = So3PairKernel::dims(3);
    let other = So3Operand::new(3, &vec![0.0; d3 * p3 * c], c).unwrap();
    let fewer = So3Operand::new(l, &x[..d * p * 2], 2).unwrap();
    assert!(So3PairKernel::from_operands(&a, &other).is_none());
    assert!(So3PairKernel::from_operands(&a, &fewer).is_none());
    assert!(So3Operand::new(l, &x[1..], c).is_none());
    assert!(So3Operand::new(l, &x, 0).is_none());
    assert!(So3Operand::new(0, &[], c).is_none());
}
