//! SO(3) kernel operators against independent oracles (docs/theory.md#tested-properties, properties 9–10; #golden-values):
//! real-space quadrature of `(1/|S|)∫_S K⁰(Ru, R′u) du` and `(1/|S|)∫_S K(RQ, R′Q) dQ` with
//! Gauss–Legendre × uniform rules (global and local support), and the lifting golden values.

use entk_groups::{DriscollHealyGrid, EulerZyz, Rotation, So3Grid};
use entk_ntk::so3::{S2LiftOperator, So3ConvOperator, So3PairKernel};
use nalgebra::Vector3;
use std::f64::consts::PI;

mod common;
use common::gauss_legendre;

type Signal = Box<dyn Fn(&Vector3<f64>) -> f64>;

/// docs/theory.md#golden-values "input 2": x0 = [1 + Z + 0.5XY, X − 0.3Z²], x1 = [0.2 + Y + XZ, 0.5Y² − X].
fn golden_inputs() -> [Vec<Signal>; 2] {
    [
        vec![
            Box::new(|u| 1.0 + u.z + 0.5 * u.x * u.y),
            Box::new(|u| u.x - 0.3 * u.z * u.z),
        ],
        vec![
            Box::new(|u| 0.2 + u.y + u.x * u.z),
            Box::new(|u| 0.5 * u.y * u.y - u.x),
        ],
    ]
}

/// Samples channels on the DH grid, layout `(θ, φ, C)`.
fn sample(l: usize, f: &[Signal]) -> Vec<f64> {
    let grid = DriscollHealyGrid::new(l).unwrap();
    let mut out = Vec::new();
    for j in 0..grid.n_theta() {
        for k in 0..grid.n_phi() {
            let u = grid.point(j, k);
            out.extend(f.iter().map(|c| c(&u)));
        }
    }
    out
}

const GRID_PAIRS: [([usize; 3], [usize; 3]); 4] = [
    ([0, 0, 0], [0, 0, 0]),
    ([1, 2, 3], [4, 5, 0]),
    ([2, 5, 4], [0, 1, 2]),
    ([3, 3, 1], [3, 3, 1]),
];

/// Asserts that the kernel `got` equals `want(R, R′)` to 1e-12 at the rotations of `grid` at
/// every pair of [`GRID_PAIRS`].
fn assert_matches_at_grid_pairs(
    grid: &So3Grid,
    max_beta: f64,
    got: &So3PairKernel,
    want: impl Fn(&Rotation, &Rotation) -> f64,
) {
    for (i1, i2) in GRID_PAIRS {
        let want = want(
            &grid.rotation(i1[0], i1[1], i1[2]),
            &grid.rotation(i2[0], i2[1], i2[2]),
        );
        let got = got.get(i1, i2);
        assert!(
            (got - want).abs() < 1e-12,
            "β_max {max_beta}: {got} vs {want}"
        );
    }
}

#[test]
fn lifting_golden_values_pin_euler_grid_and_truncation_conventions() {
    let op = S2LiftOperator::new(4, 2, PI).unwrap();
    let [f0, f1] = golden_inputs();
    let a = op.coefficients(&sample(4, &f0), 2).unwrap();
    let b = op.coefficients(&sample(4, &f1), 2).unwrap();
    // K¹[0,1,0,0,0,0,0,0] = −0.075 and K¹[0,0,1,2,0,3,2,1] = 0.4369215218 in (B1,B2,γ1,γ2,β1,β2,α1,α2).
    assert!((op.apply(&a, &b).get([0, 0, 0], [0, 0, 0]) + 0.075).abs() < 1e-12);
    assert!((op.apply(&a, &a).get([1, 0, 2], [2, 3, 1]) - 0.4369215218).abs() < 1e-10);
}

fn lift_oracle(f0: &[Signal], f1: &[Signal], r1: &Rotation, r2: &Rotation, max_beta: f64) -> f64 {
    let (xs, ws) = gauss_legendre(12, max_beta.cos(), 1.0);
    let n_phi = 24;
    let area = 2.0 * PI * (1.0 - max_beta.cos());
    let mut total = 0.0;
    for (x, w) in xs.iter().zip(&ws) {
        let s = (1.0 - x * x).sqrt();
        for k in 0..n_phi {
            let phi = 2.0 * PI * k as f64 / n_phi as f64;
            let u = Vector3::new(s * phi.cos(), s * phi.sin(), *x);
            let (a, b) = (r1.apply(&u), r2.apply(&u));
            let k0: f64 =
                f0.iter().zip(f1).map(|(g, h)| g(&a) * h(&b)).sum::<f64>() / f0.len() as f64;
            total += w * 2.0 * PI / n_phi as f64 * k0;
        }
    }
    total / area
}

#[test]
fn lifting_equals_real_space_quadrature_for_global_and_cap_supports() {
    let l = 3;
    let grid = So3Grid::new(l).unwrap();
    let [f0, f1] = golden_inputs();
    for max_beta in [PI, 1.0, 0.4] {
        let op = S2LiftOperator::new(l, l, max_beta).unwrap();
        let (a, b) = (
            op.coefficients(&sample(l, &f0), 2).unwrap(),
            op.coefficients(&sample(l, &f1), 2).unwrap(),
        );
        let k = op.apply(&a, &b);
        assert_matches_at_grid_pairs(&grid, max_beta, &k, |r1, r2| {
            lift_oracle(&f0, &f1, r1, r2, max_beta)
        });
    }
}

#[test]
fn lifting_from_the_input_kernel_equals_lifting_from_coefficients() {
    let op = S2LiftOperator::new(4, 3, 1.2).unwrap();
    let [f0, f1] = golden_inputs();
    let (s0, s1) = (sample(4, &f0), sample(4, &f1));
    let (a, b) = (
        op.coefficients(&s0, 2).unwrap(),
        op.coefficients(&s1, 2).unwrap(),
    );
    let p = 8 * 7;
    let k0: Vec<f64> = (0..p * p)
        .map(|i| {
            let (p1, p2) = (i / p, i % p);
            (s0[p1 * 2] * s1[p2 * 2] + s0[p1 * 2 + 1] * s1[p2 * 2 + 1]) / 2.0
        })
        .collect();
    let via_kernel = op.apply_input_kernel(&k0).unwrap();
    let via_coefficients = op.apply(&a, &b);
    let worst = common::max_abs_diff(via_kernel.values(), via_coefficients.values());
    assert!(worst < 1e-13, "{worst}");
}

/// `K_in(R,R′) = (2L−1)⁻¹ Σ_k f(R Z_k) g(R′ Z_k)` with `Z_k = R_z(2πk/(2L−1))`: known at every
/// pair and invariant under the grid's γ-shift, like every kernel the network produces.
fn input_kernel(l: usize, r1: &Rotation, r2: &Rotation) -> f64 {
    let a = 2 * l - 1;
    let f = |r: &Rotation| {
        let m = r.matrix();
        1.0 + m[(0, 2)] + 0.5 * m[(1, 0)] * m[(2, 2)]
    };
    let g = |r: &Rotation| {
        let m = r.matrix();
        m[(2, 1)] - 0.3 * m[(0, 0)] + m[(1, 1)] * m[(1, 2)]
    };
    (0..a)
        .map(|k| {
            let z = Rotation::about_z(2.0 * PI * k as f64 / a as f64);
            f(&r1.compose(&z)) * g(&r2.compose(&z))
        })
        .sum::<f64>()
        / a as f64
}

#[test]
fn group_convolution_equals_real_space_quadrature_for_global_and_local_supports() {
    let l = 3;
    let grid = So3Grid::new(l).unwrap();
    let (d, p) = So3PairKernel::dims(l);
    let a = 2 * l - 1;
    let mut values = vec![0.0; d * p * p];
    for delta in 0..d {
        for p1 in 0..p {
            for p2 in 0..p {
                values[(delta * p + p1) * p + p2] = input_kernel(
                    l,
                    &grid.rotation(delta, p1 / a, p1 % a),
                    &grid.rotation(0, p2 / a, p2 % a),
                );
            }
        }
    }
    let kernel = So3PairKernel::from_values(l, values).unwrap();
    for max_beta in [PI, 1.2, 0.5] {
        let out = So3ConvOperator::new(l, l, max_beta)
            .unwrap()
            .apply(&kernel)
            .unwrap();
        let volume = 4.0 * PI * PI * (1.0 - max_beta.cos());
        let (xs, ws) = gauss_legendre(10, max_beta.cos(), 1.0);
        let n = 11;
        assert_matches_at_grid_pairs(&grid, max_beta, &out, |r1, r2| {
            let mut total = 0.0;
            for (x, w) in xs.iter().zip(&ws) {
                for ia in 0..n {
                    for ig in 0..n {
                        let q = Rotation::from_euler_zyz(EulerZyz {
                            alpha: 2.0 * PI * ia as f64 / n as f64,
                            beta: x.acos(),
                            gamma: 2.0 * PI * ig as f64 / n as f64,
                        });
                        total += w
                            * (2.0 * PI / n as f64).powi(2)
                            * input_kernel(l, &r1.compose(&q), &r2.compose(&q));
                    }
                }
            }
            total / volume
        });
    }
}

#[test]
fn local_support_tends_to_global_support_as_max_beta_tends_to_pi() {
    let [f0, f1] = golden_inputs();
    let global = S2LiftOperator::new(3, 3, PI).unwrap();
    let (a, b) = (
        global.coefficients(&sample(3, &f0), 2).unwrap(),
        global.coefficients(&sample(3, &f1), 2).unwrap(),
    );
    let k_global = global.apply(&a, &b);
    let mut previous = f64::INFINITY;
    for gap in [1e-1, 1e-2, 1e-3, 1e-5] {
        let k = S2LiftOperator::new(3, 3, PI - gap).unwrap().apply(&a, &b);
        let diff = common::max_abs_diff(k.values(), k_global.values());
        assert!(
            diff < previous,
            "gap {gap}: {diff} did not shrink from {previous}"
        );
        previous = diff;
    }
    assert!(previous < 1e-8, "{previous}");
    let conv_global = So3ConvOperator::new(3, 3, PI)
        .unwrap()
        .apply(&k_global)
        .unwrap();
    let conv_near = So3ConvOperator::new(3, 3, PI - 1e-5)
        .unwrap()
        .apply(&k_global)
        .unwrap();
    let diff = common::max_abs_diff(conv_near.values(), conv_global.values());
    assert!(diff < 1e-8, "{diff}");
}

#[test]
fn constant_kernels_pass_through_global_layers_and_pool_to_themselves() {
    // A constant input kernel c: A[c] = c for global supports; the pool of a constant is itself.
    for l in [1, 2, 4] {
        let (d, p) = So3PairKernel::dims(l);
        let constant = So3PairKernel::from_values(l, vec![0.7; d * p * p]).unwrap();
        assert!((constant.pool() - 0.7).abs() < 1e-14);
        let out = So3ConvOperator::new(l, l, PI)
            .unwrap()
            .apply(&constant)
            .unwrap();
        assert!(
            out.values().iter().all(|v| (v - 0.7).abs() < 1e-13),
            "L={l}"
        );
    }
}

#[test]
fn operators_reject_impossible_bandlimits_and_supports() {
    assert!(S2LiftOperator::new(3, 4, PI)
        .unwrap_err()
        .to_string()
        .contains("exceeds"));
    assert!(S2LiftOperator::new(3, 0, PI).is_err());
    assert!(So3ConvOperator::new(3, 3, 0.0)
        .unwrap_err()
        .to_string()
        .contains("max_beta"));
    assert!(So3ConvOperator::new(3, 3, 4.0).is_err());
    let op = So3ConvOperator::new(3, 2, PI).unwrap();
    assert!(op
        .apply(&So3PairKernel::zeros(2))
        .unwrap_err()
        .to_string()
        .contains("bandlimit 3"));
    let lift = S2LiftOperator::new(3, 2, PI).unwrap();
    assert!(lift.coefficients(&[0.0; 29], 1).is_err());
    assert!(lift.apply_input_kernel(&[0.0; 10]).is_err());
}
