//! The S² lifting kernel at arbitrary rotations (`S2RotationLiftOperator`, the kernel of
//! `s2_lift_conv` onto a finite rotation group): equal to the SO(3) engine's lifting kernel
//! (complex Fourier space, a different route) at every pair of SO(3) grid points, and to the
//! exact Jacobian NNGP of the finite layer sampled at the rotations of O.

use entk_groups::{FiniteRotationGroup, Rotation, So3Grid};
use entk_ntk::so3::{S2LiftFinite, S2LiftOperator, S2RotationLiftOperator, So3Affine};
use std::f64::consts::PI;

mod common;

#[test]
fn equals_the_so3_lifting_kernel_at_every_pair_of_grid_points() {
    let (li, lo, ci) = (4, 3, 2);
    let grid = So3Grid::new(lo).unwrap();
    let (a, b) = (grid.n_azimuth(), grid.n_beta());
    let index = |p: usize| [p / (a * b), (p / a) % b, p % a];
    let rotations: Vec<Rotation> = (0..grid.len())
        .map(|p| {
            let [g, j, k] = index(p);
            grid.rotation(g, j, k)
        })
        .collect();
    let (x, xp) = (
        common::sphere_signal(li, ci, 1),
        common::sphere_signal(li, ci, 2),
    );
    for max_beta in [PI, 1.1] {
        let reference = S2LiftOperator::new(li, lo, max_beta).unwrap();
        let k = reference.apply(
            &reference.coefficients(&x, ci).unwrap(),
            &reference.coefficients(&xp, ci).unwrap(),
        );
        let op = S2RotationLiftOperator::new(li, lo, max_beta, &rotations).unwrap();
        let khat = S2RotationLiftOperator::khat_from_coefficients(
            &op.coefficients(&x, ci).unwrap(),
            &op.coefficients(&xp, ci).unwrap(),
        );
        let pairs: Vec<(usize, usize)> = (0..rotations.len())
            .flat_map(|s| (0..rotations.len()).map(move |t| (s, t)))
            .collect();
        let values = op.apply(&khat, &pairs);
        let worst = pairs
            .iter()
            .zip(&values)
            .map(|(&(s, t), v)| (v - k.get(index(s), index(t))).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-12, "max_beta {max_beta}: {worst:e}");
        // The input-kernel route gives the same K̂.
        let p = 2 * li * (2 * li - 1);
        let k0: Vec<f64> = (0..p * p)
            .map(|i| {
                let (p1, p2) = (i / p, i % p);
                (0..ci)
                    .map(|c| x[p1 * ci + c] * xp[p2 * ci + c])
                    .sum::<f64>()
                    / ci as f64
            })
            .collect();
        let from_k0 = op.khat_from_input_kernel(&k0).unwrap();
        assert!((from_k0 - &khat).amax() < 1e-13);
    }
}

#[test]
fn equals_the_exact_jacobian_nngp_of_the_finite_layer_at_the_rotations_of_o() {
    let o = FiniteRotationGroup::octahedral();
    let (li, lo, ci) = (3, 3, 2);
    let (x, xp) = (
        common::sphere_signal(li, ci, 3),
        common::sphere_signal(li, ci, 4),
    );
    for (max_beta, b_std) in [(PI, 0.0), (PI, 0.4), (0.9, 0.2)] {
        let affine = So3Affine { w_std: 1.3, b_std };
        let layer = S2LiftFinite::new(li, lo, max_beta, ci, 1, affine)
            .unwrap()
            .with_output_rotations(o.rotations());
        let np = layer.parameter_count();
        let zero = vec![0.0; np];
        let jacobian = |input: &[f64]| -> Vec<Vec<f64>> {
            let base = layer.apply(&zero, input);
            (0..np)
                .map(|i| {
                    let mut e = zero.clone();
                    e[i] = 1.0;
                    let y = layer.apply(&e, input);
                    y.iter().zip(&base).map(|(a, b)| a - b).collect()
                })
                .collect()
        };
        let (j1, j2) = (jacobian(&x), jacobian(&xp));
        assert_eq!(j1[0].len(), 24);
        let op = S2RotationLiftOperator::new(li, lo, max_beta, o.rotations()).unwrap();
        let khat = S2RotationLiftOperator::khat_from_coefficients(
            &op.coefficients(&x, ci).unwrap(),
            &op.coefficients(&xp, ci).unwrap(),
        );
        let pairs: Vec<(usize, usize)> =
            (0..24).flat_map(|s| (0..24).map(move |t| (s, t))).collect();
        let analytic = op.apply(&khat, &pairs);
        let mut worst: f64 = 0.0;
        for (&(s, t), a) in pairs.iter().zip(&analytic) {
            let empirical: f64 = (0..np).map(|i| j1[i][s] * j2[i][t]).sum();
            let expected = affine.w_std.powi(2) * a + b_std * b_std;
            worst = worst.max((empirical - expected).abs());
        }
        assert!(
            worst < 1e-12,
            "max_beta {max_beta}, b_std {b_std}: {worst:e}"
        );
    }
}
