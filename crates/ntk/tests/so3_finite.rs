//! Finite-width SO(3) layers: the exact Jacobian NNGP of a single lifting or group-convolution
//! layer equals the analytic kernel at every grid pair (global and local supports, with and
//! without bias, with bandlimit reduction), and the reverse-mode maps pass the dot-product test.

use entk_ntk::so3::{S2LiftFinite, S2LiftOperator, So3Affine};
use std::f64::consts::PI;

mod common;

#[test]
fn lifting_single_layer_empirical_nngp_equals_analytic() {
    for (max_beta, b_std) in [(PI, 0.0), (PI, 0.7), (1.1, 0.3), (0.5, 0.0)] {
        let (li, lo, ci) = (4, 3, 2);
        let affine = So3Affine { w_std: 1.3, b_std };
        let layer = S2LiftFinite::new(li, lo, max_beta, ci, 1, affine).unwrap();
        let x = common::sphere_signal(li, ci, 1);
        let xp = common::sphere_signal(li, ci, 2);
        let np = layer.parameter_count();
        let zero = vec![0.0; np];
        let base_x = layer.apply(&zero, &x);
        let base_xp = layer.apply(&zero, &xp);
        let jac = |input: &[f64], base: &[f64]| -> Vec<Vec<f64>> {
            (0..np)
                .map(|i| {
                    let mut e = zero.clone();
                    e[i] = 1.0;
                    let y = layer.apply(&e, input);
                    y.iter().zip(base).map(|(a, b)| a - b).collect::<Vec<_>>()
                })
                .collect()
        };
        // bias: apply is affine in params, so column for bias is exactly the difference too.
        let (jx, jxp) = (jac(&x, &base_x), jac(&xp, &base_xp));
        let op = S2LiftOperator::new(li, lo, max_beta).unwrap();
        let a = op.coefficients(&x, ci).unwrap();
        let b = op.coefficients(&xp, ci).unwrap();
        let mut k = op.apply(&a, &b);
        k.scale_shift(affine.w_std * affine.w_std, b_std * b_std);
        let p = jx[0].len();
        let (gamma, beta) = (2 * lo - 1, 2 * lo);
        let mut worst: f64 = 0.0;
        for r1 in 0..p {
            for r2 in 0..p {
                let emp: f64 = (0..np).map(|i| jx[i][r1] * jxp[i][r2]).sum();
                let idx = |r: usize| [r / (beta * gamma), (r / gamma) % beta, r % gamma];
                worst = worst.max((emp - k.get(idx(r1), idx(r2))).abs());
            }
        }
        println!("β {max_beta} bias {b_std}: {worst:e}");
        assert!(worst < 1e-12, "{worst}");
    }
}

#[test]
fn conv_single_layer_empirical_nngp_equals_analytic() {
    use entk_ntk::so3::{So3ConvFinite, So3ConvOperator, So3PairKernel};
    for (li, lo, max_beta, b_std) in [
        (3, 3, PI, 0.0),
        (3, 2, PI, 0.5),
        (3, 3, 1.0, 0.2),
        (2, 2, 0.6, 0.0),
    ] {
        let affine = So3Affine { w_std: 0.9, b_std };
        let a = 2 * li - 1;
        let b = 2 * li;
        let p_in = a * b * a;
        // γ-augmented channels: channel (c, s) = f_c rolled by s in γ, so K⁰ is Δγ-invariant.
        let base_c = 2;
        let raw = |seed: u64| -> Vec<f64> {
            (0..p_in * base_c)
                .map(|i| (((i as u64 + 3) * (seed * 104729 + 7)) as f64 * 0.4142).sin())
                .collect()
        };
        let augment = |f: &[f64]| -> Vec<f64> {
            let ci = base_c * a;
            let mut out = vec![0.0; p_in * ci];
            for g in 0..a {
                for rest in 0..b * a {
                    for c in 0..base_c {
                        for s in 0..a {
                            let src = (((g + s) % a) * b * a + rest) * base_c + c;
                            out[(g * b * a + rest) * ci + c * a + s] = f[src];
                        }
                    }
                }
            }
            out
        };
        let (x, xp) = (augment(&raw(1)), augment(&raw(2)));
        let ci = base_c * a;
        let layer = So3ConvFinite::new(li, lo, max_beta, ci, 1, affine).unwrap();
        let np = layer.parameter_count();
        let zero = vec![0.0; np];
        let (bx, bxp) = (layer.apply(&zero, &x), layer.apply(&zero, &xp));
        let jac = |input: &[f64], base: &[f64]| -> Vec<Vec<f64>> {
            (0..np)
                .map(|i| {
                    let mut e = zero.clone();
                    e[i] = 1.0;
                    layer
                        .apply(&e, input)
                        .iter()
                        .zip(base)
                        .map(|(u, v)| u - v)
                        .collect()
                })
                .collect()
        };
        let (jx, jxp) = (jac(&x, &bx), jac(&xp, &bxp));
        // analytic input kernel on the L_in grid in reduced form
        let (d, p) = So3PairKernel::dims(li);
        let mut values = vec![0.0; d * p * p];
        for delta in 0..d {
            for p1 in 0..p {
                for p2 in 0..p {
                    let r1 = (delta * b * a) + p1;
                    let r2 = p2; // (γ=Δ, p1) and (γ=0, p2)
                    values[(delta * p + p1) * p + p2] = (0..ci)
                        .map(|c| x[r1 * ci + c] * xp[r2 * ci + c])
                        .sum::<f64>()
                        / ci as f64;
                }
            }
        }
        let kin = So3PairKernel::from_values(li, values).unwrap();
        let op = So3ConvOperator::new(li, lo, max_beta).unwrap();
        let mut k = op.apply(&kin).unwrap();
        k.scale_shift(affine.w_std.powi(2), b_std * b_std);
        let (ao, bo) = (2 * lo - 1, 2 * lo);
        let pout = jx[0].len();
        let idx = |r: usize| [r / (bo * ao), (r / ao) % bo, r % ao];
        let mut worst: f64 = 0.0;
        for r1 in 0..pout {
            for r2 in 0..pout {
                let emp: f64 = (0..np).map(|i| jx[i][r1] * jxp[i][r2]).sum();
                worst = worst.max((emp - k.get(idx(r1), idx(r2))).abs());
            }
        }
        println!("conv L {li}->{lo} β {max_beta} bias {b_std}: {worst:e}");
        assert!(worst < 1e-12, "{worst}");
    }
}

#[test]
fn vjps_pass_the_dot_product_test() {
    use entk_ntk::so3::{So3ConvFinite, So3PoolFinite};
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let wave =
        |n: usize, s: f64| -> Vec<f64> { (0..n).map(|i| ((i as f64 + 1.0) * s).sin()).collect() };
    let lift = S2LiftFinite::new(
        3,
        2,
        1.0,
        2,
        3,
        So3Affine {
            w_std: 1.1,
            b_std: 0.4,
        },
    )
    .unwrap();
    let conv = So3ConvFinite::new(
        3,
        2,
        0.9,
        2,
        3,
        So3Affine {
            w_std: 0.7,
            b_std: 0.2,
        },
    )
    .unwrap();
    for (np, nin, nout, apply, vjp) in [
        (
            lift.parameter_count(),
            30 * 2,
            3 * 4 * 3 * 3,
            Box::new(|p: &[f64], x: &[f64]| lift.apply(p, x))
                as Box<dyn Fn(&[f64], &[f64]) -> Vec<f64>>,
            Box::new(|p: &[f64], x: &[f64], d: &[f64]| lift.vjp(p, x, d))
                as Box<dyn Fn(&[f64], &[f64], &[f64]) -> (Vec<f64>, Vec<f64>)>,
        ),
        (
            conv.parameter_count(),
            150 * 2,
            3 * 4 * 3 * 3,
            Box::new(|p: &[f64], x: &[f64]| conv.apply(p, x)),
            Box::new(|p: &[f64], x: &[f64], d: &[f64]| conv.vjp(p, x, d)),
        ),
    ] {
        let (p, x, dy) = (wave(np, 0.37), wave(nin, 0.91), wave(nout, 1.7));
        let (dp, dx) = vjp(&p, &x, &dy);
        let (vp, vx) = (wave(np, 2.3), wave(nin, 0.13));
        // y is bilinear in (params, input) plus bias: directional derivatives are exact differences.
        let y0 = apply(&p, &x);
        let pp: Vec<f64> = p.iter().zip(&vp).map(|(a, b)| a + b).collect();
        let xx: Vec<f64> = x.iter().zip(&vx).map(|(a, b)| a + b).collect();
        let dyp: Vec<f64> = apply(&pp, &x).iter().zip(&y0).map(|(a, b)| a - b).collect();
        // input direction: y(p, x + v) − y(p, x) = J_x v exactly (linear in x)
        let dyx: Vec<f64> = apply(&p, &xx).iter().zip(&y0).map(|(a, b)| a - b).collect();
        // params direction is affine (bias linear too), so also exact
        assert!(
            (dot(&dy, &dyp) - dot(&dp, &vp)).abs() < 1e-10 * dot(&dp, &vp).abs().max(1.0),
            "{} {}",
            dot(&dy, &dyp),
            dot(&dp, &vp)
        );
        assert!(
            (dot(&dy, &dyx) - dot(&dx, &vx)).abs() < 1e-10 * dot(&dx, &vx).abs().max(1.0),
            "{} {}",
            dot(&dy, &dyx),
            dot(&dx, &vx)
        );
    }
    let pool = So3PoolFinite::new(2).unwrap();
    let x = wave(5 * 4 * 5 * 2, 0.3);
    let dy = wave(2, 0.8);
    let lhs = dot(&dy, &pool.apply(&x, 2));
    let rhs = dot(&pool.vjp(&dy), &x);
    assert!((lhs - rhs).abs() < 1e-14);
    let ones = vec![1.0; 5 * 4 * 5];
    assert!((pool.apply(&ones, 1)[0] - 1.0).abs() < 1e-14);
}
