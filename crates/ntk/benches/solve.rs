#![allow(missing_docs)]
//! `solve/{cholesky,cg}/N`: the `t = ∞` kernel-regression solve `Θ_reg α = Y` (K = 10 outputs,
//! relative diag_reg 1e-4) on an RBF Gram matrix of N random points in the unit square, by
//! faer's Cholesky (gradient_flow_mean) and by pivoted-Cholesky-preconditioned CG (rank 100),
//! for N = 250 … 2000. In-memory matrices, so this times the arithmetic; `entk predict
//! --solver cg` adds one sequential read of the Gram matrix per iteration.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use entk_ntk::regression::{
    conjugate_gradient_solve, gradient_flow_mean, CgOptions, DiagReg, GradientFlowOptions,
    TrainingTime,
};
use ndarray::Array2;

fn rbf(n: usize) -> Array2<f64> {
    let p: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let t = i as f64 * 0.618_033_988_75;
            [t.fract(), (t * 1.324_717_957).fract()]
        })
        .collect();
    Array2::from_shape_fn((n, n), |(i, j)| {
        let d2 = (p[i][0] - p[j][0]).powi(2) + (p[i][1] - p[j][1]).powi(2);
        (-d2 / 0.18).exp()
    })
}

fn solve(c: &mut Criterion) {
    let mut group = c.benchmark_group("solve");
    group.sample_size(10);
    let reg = DiagReg::relative(1e-4);
    for n in [250, 500, 1000, 2000] {
        let gram = rbf(n);
        let y = Array2::from_shape_fn((n, 10), |(i, k)| ((i * 7 + k * 3) % 5) as f64 - 2.0);
        let flow = GradientFlowOptions {
            diag_reg: reg,
            ..GradientFlowOptions::default()
        };
        group.bench_with_input(BenchmarkId::new("cholesky", n), &n, |b, _| {
            b.iter(|| {
                gradient_flow_mean(
                    gram.view(),
                    gram.view(),
                    y.view(),
                    TrainingTime::Infinite,
                    &flow,
                )
                .unwrap()
            })
        });
        let cg = CgOptions {
            diag_reg: reg,
            ..CgOptions::default()
        };
        group.bench_with_input(BenchmarkId::new("cg", n), &n, |b, _| {
            b.iter(|| conjugate_gradient_solve(&mut gram.view(), y.view(), &cg).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, solve);
criterion_main!(benches);
