//! docs/theory.md#tested-properties, property 7: for a single linear lifting or group-conv layer, the finite layer's exact
//! empirical NNGP `(1/C_out)·JJᵀ` (J = Jacobian w.r.t. the N(0,1) parameters) equals the
//! analytic NNGP, and its
//! exact empirical NTK (Jacobian with respect to the stored parameters) equals the analytic
//! first-layer NTK `Θ¹ = K¹` — not `2σ_w²A[K⁰] + σ_b²` (the first layer counted twice, docs/theory.md#linear-layers-the-a-operator: ratio 2 without bias).
//! Every support, every padding, C4, D4 and C8 (bilinear resampling), both parameterisations.

mod common;
use std::sync::Arc;

use common::*;
use entk_groups::{CyclicGroup, DihedralGroup, PlanarPointGroup};
use entk_ntk::finite::empirical_kernel_pair;
use entk_ntk::layers::{GroupConv, LiftConv};
use entk_ntk::{
    Affine, Features, GroupInfo, GroupSupport, Layer, Network, Padding, Parameterization,
};
use rand::{Rng, SeedableRng};

use common::tol::NETWORK as TOL;

fn images(s: usize, c: usize) -> (Features, Features) {
    let x = random_images(2, s, c, SEED);
    let f = |i: usize| {
        Features::image(
            s,
            s,
            c,
            x.index_axis(ndarray::Axis(0), i).iter().copied().collect(),
        )
        .unwrap()
    };
    (f(0), f(1))
}

fn group_signals(info: Arc<GroupInfo>, s: usize, c: usize) -> (Features, Features) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED);
    let n = info.order * s * s * c;
    let mut f = || {
        Features::group_signal(
            info.clone(),
            s,
            s,
            c,
            (0..n).map(|_| rng.random_range(-1.0..1.0)).collect(),
        )
        .unwrap()
    };
    (f(), f())
}

/// Returns (nngp error, ntk error, ntk/nngp analytic vs empirical ratio at the largest entry).
fn check(name: &str, layer: Box<dyn Layer>, x1: &Features, x2: &Features) -> (f64, f64) {
    let net = Network::new(vec![layer]);
    let analytic = net.kernel_pair_features(x1, x2).unwrap().to_full();
    let params = net.init_seeded(&x1.sig, SEED).unwrap();
    let emp = empirical_kernel_pair(&net, &params, x1, x2).unwrap();
    assert_eq!(analytic.layout, emp.layout, "{name}: layouts differ");
    // For a linear layer `f = Jθ` with N(0,1) parameters, E[f f′] = J J′ᵀ: the Jacobian NNGP
    // (1/C_out)·JJᵀ is the empirical NTK in NTK parameterisation. In standard
    // parameterisation the stored weights are not N(0,1), so only the NTK is compared there.
    let standard = name.contains("Standard");
    let ek = if standard {
        0.0
    } else {
        rel_err(&emp.ntk, &analytic.nngp)
    };
    let et = rel_err(&emp.ntk, &analytic.ntk);
    assert!(
        ek <= TOL && et <= TOL,
        "{name}: nngp err {ek:e}, ntk err {et:e}"
    );
    (ek, et)
}

fn run_group<G: PlanarPointGroup + Clone + std::fmt::Debug + 'static>(group: G) {
    let (x1, x2) = images(5, 2);
    let (mut wk, mut wt) = (0.0f64, 0.0f64);
    for pad in [Padding::Same, Padding::Valid, Padding::Circular] {
        for (b_std, param) in [
            (0.0, Parameterization::Ntk),
            (0.7, Parameterization::Ntk),
            (0.7, Parameterization::Standard),
        ] {
            let a = Affine {
                w_std: 1.3,
                b_std,
                width: 2,
                param,
            };
            let name = format!("{} lift {pad:?} b={b_std} {param:?}", group.name());
            let (k, t) = check(
                &name,
                Box::new(LiftConv::new(group.clone(), 3, pad, a).unwrap()),
                &x1,
                &x2,
            );
            wk = wk.max(k);
            wt = wt.max(t);
            let info = Arc::new(GroupInfo::new(&group).unwrap());
            let (g1, g2) = group_signals(info, 5, 2);
            for support in [GroupSupport::All, GroupSupport::Identity] {
                let name = format!(
                    "{} group_conv {support:?} {pad:?} b={b_std} {param:?}",
                    group.name()
                );
                let (k, t) = check(
                    &name,
                    Box::new(GroupConv::new(group.clone(), 3, pad, support, a).unwrap()),
                    &g1,
                    &g2,
                );
                wk = wk.max(k);
                wt = wt.max(t);
            }
        }
    }
    println!(
        "{}: worst nngp rel err {wk:.2e}, worst ntk rel err {wt:.2e}",
        group.name()
    );
}

#[test]
fn single_c4_layers_finite_equals_infinite() {
    run_group(CyclicGroup::new(4).unwrap());
}

#[test]
fn single_d4_layers_finite_equals_infinite() {
    run_group(DihedralGroup::new(4).unwrap());
}

#[test]
fn single_c8_layers_finite_equals_infinite() {
    run_group(CyclicGroup::new(8).unwrap());
}

#[test]
fn first_layer_ntk_is_not_counted_twice() {
    // Bias-free lifting layer: analytic NTK / empirical NTK must be 1, not 2 (docs/theory.md#linear-layers-the-a-operator).
    let (x1, x2) = images(5, 1);
    let layer = LiftConv::new(
        CyclicGroup::new(4).unwrap(),
        3,
        Padding::Same,
        Affine::default(),
    )
    .unwrap();
    let net = Network::new(vec![Box::new(layer)]);
    let analytic = net.kernel_pair_features(&x1, &x2).unwrap().to_full();
    let params = net.init_seeded(&x1.sig, SEED).unwrap();
    let emp = empirical_kernel_pair(&net, &params, &x1, &x2).unwrap();
    let (i, _) = analytic
        .ntk
        .iter()
        .enumerate()
        .fold((0, 0.0f64), |(bi, bv), (i, v)| {
            if v.abs() > bv {
                (i, v.abs())
            } else {
                (bi, bv)
            }
        });
    let ratio = analytic.ntk[i] / emp.ntk[i];
    println!("analytic/empirical NTK ratio at the largest entry: {ratio}");
    assert!((ratio - 1.0).abs() < 1e-12);
    assert_eq!(analytic.ntk, analytic.nngp, "Θ¹ = K¹ exactly");
}

#[test]
fn single_conv_and_dense_layers_finite_equals_infinite() {
    use entk_ntk::layers::{Conv, Dense};
    let (x1, x2) = images(5, 3);
    for pad in [Padding::Same, Padding::Valid, Padding::Circular] {
        for param in [Parameterization::Ntk, Parameterization::Standard] {
            let a = Affine {
                w_std: 0.9,
                b_std: 0.4,
                width: 3,
                param,
            };
            check(
                &format!("conv {pad:?} {param:?}"),
                Box::new(Conv::new(3, 5, pad, a).unwrap()),
                &x1,
                &x2,
            );
            check(
                &format!("dense {param:?}"),
                Box::new(Dense::new(a)),
                &x1,
                &x2,
            );
        }
    }
}
