//! Preconditioned conjugate gradients against the direct (Cholesky) solve, to 1e-8, on real
//! NTK/NNGP Gram matrices and on an ill-conditioned RBF Gram matrix.

use ndarray::{Array2, Array4};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use entk_ntk::regression::{
    conjugate_gradient_solve, gradient_flow_mean, CgOptions, DiagReg, GradientFlowOptions,
    SolveMethod, TrainingTime,
};
use entk_ntk::{GramOptions, Network};

fn direct(gram: &Array2<f64>, y: &Array2<f64>, reg: DiagReg) -> Array2<f64> {
    let opts = GradientFlowOptions {
        diag_reg: reg,
        ..GradientFlowOptions::default()
    };
    let p = gradient_flow_mean(
        gram.view(),
        gram.view(),
        y.view(),
        TrainingTime::Infinite,
        &opts,
    )
    .unwrap();
    assert_eq!(p.info.method, SolveMethod::Cholesky);
    p.coefficients
}

fn max_rel(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (a - b).iter().fold(0.0f64, |m, v| m.max(v.abs())) / scale
}

fn targets(n: usize, k: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, k), |_| rng.random_range(-1.0..1.0))
}

#[test]
fn cg_matches_cholesky_on_cnn_ntk_and_nngp_grams() {
    let net = Network::from_json(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same", "b_std": 0.1},
        {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense", "b_std": 0.1}]}"#,
    )
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let x = Array4::from_shape_fn((60, 6, 6, 2), |_| rng.random_range(-1.0..1.0));
    let g = net.gram(x.view(), None, &GramOptions::default()).unwrap();
    let y = targets(60, 3, 1);
    for (name, gram) in [("ntk", &g.ntk), ("nngp", &g.nngp)] {
        for reg in [1e-4, 1e-2] {
            let reg = DiagReg::relative(reg);
            let want = direct(gram, &y, reg);
            for rank in [0, 10, 60] {
                let sol = conjugate_gradient_solve(
                    &mut gram.view(),
                    y.view(),
                    &CgOptions {
                        diag_reg: reg,
                        preconditioner_rank: rank,
                        ..CgOptions::default()
                    },
                )
                .unwrap();
                let err = max_rel(&sol.coefficients, &want);
                assert!(sol.converged, "{name} rank {rank}: {sol:?}");
                assert!(err < 1e-8, "{name} rank {rank}: {err:e}");
                assert!(sol.relative_residual <= 1e-10, "{}", sol.relative_residual);
                if rank == 60 {
                    // A full-rank pivoted Cholesky is the matrix: a few iterations.
                    assert!(sol.iterations <= 5, "{}", sol.iterations);
                }
            }
        }
    }
}

#[test]
fn the_preconditioner_cuts_iterations_on_an_ill_conditioned_rbf_gram() {
    let n = 300;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let pts: Vec<[f64; 2]> = (0..n)
        .map(|_| [rng.random_range(0.0..1.0), rng.random_range(0.0..1.0)])
        .collect();
    let gram = Array2::from_shape_fn((n, n), |(i, j)| {
        let d2 = (pts[i][0] - pts[j][0]).powi(2) + (pts[i][1] - pts[j][1]).powi(2);
        (-d2 / (2.0 * 0.3f64.powi(2))).exp()
    });
    let y = targets(n, 2, 5);
    // Condition number ≈ 1e4·n: CG's attainable accuracy is about κ·ε, so far below 1e-8.
    let reg = DiagReg::relative(1e-4);
    let want = direct(&gram, &y, reg);
    let solve = |rank| {
        conjugate_gradient_solve(
            &mut gram.view(),
            y.view(),
            &CgOptions {
                diag_reg: reg,
                preconditioner_rank: rank,
                max_iterations: 20 * n,
                ..CgOptions::default()
            },
        )
        .unwrap()
    };
    let jacobi = solve(0);
    let pivoted = solve(60);
    assert!(pivoted.converged, "{pivoted:?}");
    assert!(
        pivoted.relative_residual < 1e-9,
        "{}",
        pivoted.relative_residual
    );
    assert!(max_rel(&pivoted.coefficients, &want) < 1e-8);
    assert!(
        pivoted.iterations * 4 < jacobi.iterations,
        "pivoted {} vs jacobi {}",
        pivoted.iterations,
        jacobi.iterations
    );
}

#[test]
fn cg_refuses_bad_targets() {
    let gram = Array2::<f64>::eye(3);
    let y = Array2::<f64>::zeros((4, 1));
    let e = conjugate_gradient_solve(&mut gram.view(), y.view(), &CgOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("targets"), "{e}");
    let y = Array2::from_elem((3, 1), f64::NAN);
    assert!(conjugate_gradient_solve(&mut gram.view(), y.view(), &CgOptions::default()).is_err());
}
