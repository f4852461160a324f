//! Kernel laws of docs/theory.md#tested-properties, properties 1–5: symmetry, PSD, thread-count independence, pooled
//! invariance under independent rotations, layer equivariance, and the relative/full forms.

mod common;
use common::*;
use entk_groups::{CyclicGroup, DihedralGroup, FiniteGroup, PlanarPointGroup};
use entk_ntk::augment::{act_on_group_signal, act_on_image, ImageAction, PointGroupAction};
use entk_ntk::layers::{GroupConv, LiftConv};
use entk_ntk::{Affine, Features, GramOptions, GroupSupport, Layer, Network, Padding};
use nalgebra::DMatrix;
use proptest::prelude::*;

fn gcnn(group: &str, pad: &str, support: &str) -> Network {
    Network::from_json(&spec(&[
        &format!(r#"{{"type": "lift_conv", "group": "{group}", "filter": 3, "padding": "{pad}", "b_std": 0.1}}"#),
        r#"{"type": "relu"}"#,
        &format!(r#"{{"type": "group_conv", "group": "{group}", "filter": 3, "padding": "{pad}", "group_support": "{support}"}}"#),
        r#"{"type": "erf"}"#,
        r#"{"type": "group_pool"}"#,
        r#"{"type": "dense", "b_std": 0.2}"#,
    ]))
    .unwrap()
}

#[test]
fn gram_with_x2_none_is_bitwise_symmetric_and_psd() {
    let x = random_images(6, 5, 2, SEED);
    for (group, pad) in [("c4", "same"), ("d4", "circular"), ("c8", "same")] {
        let (k, t) = gram(&gcnn(group, pad, "all"), &x);
        assert_eq!(k, k.t(), "{group}: NNGP not bitwise symmetric");
        assert_eq!(t, t.t(), "{group}: NTK not bitwise symmetric");
        for (name, m) in [("nngp", &k), ("ntk", &t)] {
            let d = DMatrix::from_fn(6, 6, |i, j| m[[i, j]]);
            let eig = d.clone().symmetric_eigen().eigenvalues;
            let (lmin, trace) = (eig.min(), d.trace());
            println!("{group} {name}: λ_min = {lmin:.3e}, trace = {trace:.3e}");
            assert!(lmin >= -1e-10 * trace);
        }
    }
}

#[test]
fn swapped_inputs_give_the_transposed_kernel() {
    let x = random_images(2, 5, 2, SEED);
    let net = gcnn("c4", "same", "all");
    let (a, b) = (pick(&x, 0), pick(&x, 1));
    let g12 = net
        .gram(a.view(), Some(b.view()), &GramOptions::default())
        .unwrap();
    let g21 = net
        .gram(b.view(), Some(a.view()), &GramOptions::default())
        .unwrap();
    let e = (g12.ntk[[0, 0]] - g21.ntk[[0, 0]]).abs() / g12.ntk[[0, 0]].abs();
    println!("K(x,x′) vs K(x′,x): {e:.2e}");
    assert!(e < 1e-13);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let x = random_images(5, 5, 2, SEED);
    let net = gcnn("c4", "same", "all");
    let runs: Vec<_> = [1, 2, 3]
        .iter()
        .map(|&t| {
            net.gram(
                x.view(),
                None,
                &GramOptions {
                    threads: t,
                    ..Default::default()
                },
            )
            .unwrap()
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], runs[2]);
}

#[test]
fn progress_reports_every_pair() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let x = random_images(4, 5, 1, SEED);
    let calls = AtomicUsize::new(0);
    let last_total = AtomicUsize::new(0);
    let cb = |_d: usize, t: usize| {
        calls.fetch_add(1, Ordering::Relaxed);
        last_total.store(t, Ordering::Relaxed);
    };
    gcnn("c4", "same", "all")
        .gram(
            x.view(),
            None,
            &GramOptions {
                progress: Some(&cb),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), 4 + 6);
    assert_eq!(last_total.load(Ordering::Relaxed), 10);
}

#[test]
fn exact_group_kernels_do_not_depend_on_a_conjugation_invariant_support() {
    // Why the relative form is exact: the lifted kernel is right-invariant under the point
    // group, so summing the group conv over all slots equals using the identity slot alone.
    let x = random_images(2, 5, 1, SEED);
    let a = Affine::default();
    for pad in [Padding::Same, Padding::Valid] {
        let make = |support| {
            let c4 = CyclicGroup::new(4).unwrap();
            Network::new(vec![
                Box::new(LiftConv::new(c4, 3, pad, a).unwrap().with_full_kernel())
                    as Box<dyn Layer>,
                Box::new(entk_ntk::layers::Elementwise::new(
                    entk_ntk::Nonlinearity::Relu,
                )),
                Box::new(GroupConv::new(c4, 3, pad, support, a).unwrap()),
            ])
        };
        let ka = make(GroupSupport::All)
            .kernel_pair(
                x.index_axis(ndarray::Axis(0), 0),
                x.index_axis(ndarray::Axis(0), 1),
            )
            .unwrap();
        let ki = make(GroupSupport::Identity)
            .kernel_pair(
                x.index_axis(ndarray::Axis(0), 0),
                x.index_axis(ndarray::Axis(0), 1),
            )
            .unwrap();
        let e = rel_err(&ka.ntk, &ki.ntk);
        println!("{pad:?}: full-form all vs identity support: {e:.2e}");
        assert!(e < 1e-13);
    }
}

/// Relative-form kernel expanded to full equals the full form, unpooled.
#[test]
fn relative_form_equals_full_form_unpooled() {
    let x = random_images(2, 5, 2, SEED);
    let a = Affine {
        b_std: 0.3,
        ..Affine::default()
    };
    let d4 = DihedralGroup::new(4).unwrap();
    let build = |full: bool| {
        let lift = LiftConv::new(d4, 3, Padding::Circular, a).unwrap();
        let lift = if full { lift.with_full_kernel() } else { lift };
        Network::new(vec![
            Box::new(lift) as Box<dyn Layer>,
            Box::new(entk_ntk::layers::Elementwise::new(
                entk_ntk::Nonlinearity::Erf {
                    a: 1.0,
                    b: 1.0,
                    c: 0.1,
                },
            )),
            Box::new(GroupConv::new(d4, 3, Padding::Circular, GroupSupport::All, a).unwrap()),
        ])
    };
    let (x1, x2) = (
        x.index_axis(ndarray::Axis(0), 0),
        x.index_axis(ndarray::Axis(0), 1),
    );
    let r = build(false).kernel_pair(x1, x2).unwrap();
    let f = build(true).kernel_pair(x1, x2).unwrap();
    assert_eq!(r.layout.kind(), "group_relative");
    assert_eq!(f.layout.kind(), "group");
    let e = rel_err(&r.to_full().ntk, &f.ntk);
    println!("relative vs full (d4, circular, unpooled NTK): {e:.2e}");
    assert!(e < 1e-13);
}

fn pooled_invariance<G: PlanarPointGroup + Clone>(
    group: G,
    pad: &str,
    h1: usize,
    h2: usize,
) -> f64 {
    let x = random_images(2, 5, 2, SEED + (h1 * 8 + h2) as u64);
    let act = PointGroupAction {
        group: group.clone(),
    };
    let net = gcnn(&group.name(), pad, "all");
    let (x1, x2) = (pick(&x, 0), pick(&x, 1));
    let (x1, x2) = (x1.view(), x2.view());
    let r1 = act
        .act(h1, x1.index_axis(ndarray::Axis(0), 0))
        .unwrap()
        .insert_axis(ndarray::Axis(0));
    let r2 = act
        .act(h2, x2.index_axis(ndarray::Axis(0), 0))
        .unwrap()
        .insert_axis(ndarray::Axis(0));
    let o = GramOptions::default();
    let a = net.gram(x1, Some(x2), &o).unwrap();
    let b = net.gram(r1.view(), Some(r2.view()), &o).unwrap();
    ((a.ntk[[0, 0]] - b.ntk[[0, 0]]).abs() / a.ntk[[0, 0]])
        .max((a.nngp[[0, 0]] - b.nngp[[0, 0]]).abs() / a.nngp[[0, 0]])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn pooled_c4_kernel_is_invariant_under_independent_rotations(h1 in 0usize..4, h2 in 0usize..4, circ in any::<bool>()) {
        let e = pooled_invariance(CyclicGroup::new(4).unwrap(), if circ { "circular" } else { "same" }, h1, h2);
        prop_assert!(e < 1e-13, "error {e:e}");
    }

    #[test]
    fn pooled_d4_kernel_is_invariant_under_independent_elements(h1 in 0usize..8, h2 in 0usize..8) {
        let e = pooled_invariance(DihedralGroup::new(4).unwrap(), "circular", h1, h2);
        prop_assert!(e < 1e-13, "error {e:e}");
    }

    #[test]
    fn c4_and_d4_finite_layers_are_exactly_equivariant(h in 0usize..8, seed in 0u64..1000, pad in 0usize..3) {
        let pad = [Padding::Same, Padding::Valid, Padding::Circular][pad];
        let c4 = CyclicGroup::new(4).unwrap();
        let d4 = DihedralGroup::new(4).unwrap();
        let e1 = layer_equivariance_error(c4, h % 4, seed, pad);
        let e2 = layer_equivariance_error(d4, h, seed, pad);
        prop_assert!(e1 < 1e-13 && e2 < 1e-13, "c4 {e1:e}, d4 {e2:e}");
    }
}

/// Max relative error of `layer(ρ(h)x) = ρ(h) layer(x)` over a lift + group conv (all support)
/// stack, checked after each layer.
fn layer_equivariance_error<G: PlanarPointGroup + Clone + std::fmt::Debug + 'static>(
    group: G,
    h: usize,
    seed: u64,
    pad: Padding,
) -> f64 {
    let a = Affine {
        w_std: 1.0,
        b_std: 0.5,
        width: 3,
        param: Default::default(),
    };
    let lift = Network::new(vec![Box::new(
        LiftConv::new(group.clone(), 3, pad, a).unwrap(),
    )]);
    let gconv = Network::new(vec![Box::new(
        GroupConv::new(group.clone(), 3, pad, GroupSupport::All, a).unwrap(),
    )]);
    let x = random_images(1, 7, 2, seed);
    let x = Features::image(7, 7, 2, x.iter().copied().collect()).unwrap();
    let on_signal = |f: &Features| act_on_group_signal(&group, h, f).unwrap();
    // The error of `net(h·x) = h·net(x)` for a freshly initialised `net` whose output is a
    // group signal, given how `h` acts on its input; and `net(x)`.
    let error = |net: &Network, x: &Features, act: &dyn Fn(&Features) -> Features, seed| {
        let p = net.init_seeded(&x.sig, seed).unwrap();
        let y = net.apply(&p, x).unwrap();
        let moved = net.apply(&p, &act(x)).unwrap();
        (rel_err(&moved.data, &on_signal(&y).data), y)
    };
    let (e1, y) = error(&lift, &x, &|x| act_on_image(&group, h, x).unwrap(), seed);
    let (e2, _) = error(&gconv, &y, &on_signal, seed + 1);
    e1.max(e2)
}

#[test]
fn c8_finite_layers_are_approximately_equivariant() {
    // 45° rotations interpolate bilinearly: not exact on the pixel grid (docs/theory.md#other-point-groups-resampled-filters).
    let c8 = CyclicGroup::new(8).unwrap();
    for h in 0..c8.order() {
        let e = layer_equivariance_error(c8, h, SEED, Padding::Same);
        println!("c8 element {h}: relative equivariance error {e:.3e}");
        if h % 2 == 0 {
            assert!(e < 1e-13, "multiples of 90° must be exact");
        } else {
            assert!(e.is_finite() && e < 2.0);
        }
    }
}
