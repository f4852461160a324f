//! Finite rotation groups on the sphere (issue #8 part 2): `s2_lift_conv` onto O and I, then
//! `group_conv` / `group_pool` with the planar groups' finite-group code.
//!
//! Inputs are polynomials in `(X, Y, Z)` of degree < L sampled on the Driscoll–Healy grid, so a
//! rotated input is the polynomial evaluated at rotated points: rotations are exact.
//!
//! - invariance `K(ρ(R)x, x′) = K(x, x′)` for every R in the group (≤ 1e-10), and a clear
//!   violation for 45° about z with O;
//! - the augmentation theorem: the GCNN's kernel equals the plain network's (the same spec over
//!   the trivial group) averaged over the orbit of the second argument (≤ 1e-12);
//! - the lifting kernel against a real-space quadrature oracle, and finite = infinite for a single
//!   linear lift (exact Jacobian kernel, ≤ 1e-12);
//! - Monte-Carlo agreement of the finite twin (4 standard errors + a 1/width bias allowance);
//! - spec errors, and layers that compare groups by structure, not name.

mod common;

use std::f64::consts::PI;

use entk_groups::{FiniteGroup, FiniteRotationGroup, Group, GroupRegistry, Rotation};
use entk_ntk::finite::{empirical_kernel_pair, monte_carlo_gram};
use entk_ntk::layers::{GroupConv, LiftConv};
use entk_ntk::{Affine, ArchSpec, Features, GramOptions, GroupSupport, Layer, Network, Padding};
use nalgebra::{Matrix2, Vector3};
use ndarray::{Array2, Array4};

const L: usize = 4;

/// The issue's spec, over `group`, with the given group support.
fn spec(group: &str, support: &str) -> String {
    format!(
        r#"{{"layers": [
        {{"type": "s2_lift_conv", "group": "{group}", "bandlimit_out": 3}},
        {{"type": "relu"}},
        {{"type": "group_conv", "group": "{group}", "group_support": "{support}"}},
        {{"type": "relu"}},
        {{"type": "group_pool"}},
        {{"type": "dense"}}]}}"#
    )
}

/// Unit vector of DH grid point `(j, k)` at bandlimit `l`.
fn point(l: usize, j: usize, k: usize) -> Vector3<f64> {
    let theta = PI * (2 * j + 1) as f64 / (4 * l) as f64;
    let phi = 2.0 * PI * k as f64 / (2 * l - 1) as f64;
    Vector3::new(
        theta.sin() * phi.cos(),
        theta.sin() * phi.sin(),
        theta.cos(),
    )
}

type Poly = fn(&Vector3<f64>, f64) -> f64;

/// Two-channel polynomial signals of degree ≤ 3, one family member per `s`.
const CHANNELS: [Poly; 2] = [
    |u, s| 1.0 + s * u.z + 0.5 * u.x * u.y - 0.3 * s * u.x * u.z * u.z,
    |u, s| u.x - 0.3 * u.z * u.z + s * u.y * u.y * u.x + 0.2 * s,
];

/// `n` inputs `x_i(u) = P_{offset + 0.7i}(R⁻¹u)` for the rotation `rotation` (identity: the
/// plain inputs), shape `(n, 2L, 2L−1, 2)`. The tests pair offsets −0.3 and 0.25, so no two
/// inputs coincide (ReLU's NTK is ill-conditioned at coincident inputs, docs/theory.md#data-augmentation-and-group-convolution).
fn inputs(n: usize, offset: f64, rotation: &Rotation) -> Array4<f64> {
    let inverse = rotation.inverse();
    Array4::from_shape_fn((n, 2 * L, 2 * L - 1, 2), |(i, j, k, c)| {
        let u = inverse.apply(&point(L, j, k));
        CHANNELS[c](&u, offset + 0.7 * i as f64)
    })
}

fn gram(net: &Network, x1: &Array4<f64>, x2: &Array4<f64>) -> (Array2<f64>, Array2<f64>) {
    let g = net
        .gram(x1.view(), Some(x2.view()), &GramOptions::default())
        .unwrap();
    (g.nngp, g.ntk)
}

#[test]
fn kernels_are_invariant_under_every_rotation_of_the_group_and_not_under_others() {
    let x2 = inputs(2, 0.25, &Rotation::identity());
    let x1 = inputs(2, -0.3, &Rotation::identity());
    for group in [
        FiniteRotationGroup::octahedral(),
        FiniteRotationGroup::icosahedral(),
    ] {
        let net = Network::from_json(&spec(&group.name(), "all")).unwrap();
        let (k, t) = gram(&net, &x1, &x2);
        let mut worst: f64 = 0.0;
        for r in group.rotations() {
            let (kr, tr) = gram(&net, &inputs(2, -0.3, r), &x2);
            worst = worst
                .max(common::max_abs_diff(&kr, &k))
                .max(common::max_abs_diff(&tr, &t));
        }
        println!(
            "{}: max |K(Rx, x′) − K(x, x′)| over {} rotations = {worst:e}",
            group.name(),
            group.order()
        );
        assert!(worst <= 1e-10, "{}: {worst:e}", group.name());
        assert!(
            k.iter().all(|v| v.abs() > 1e-3),
            "kernels of unit scale: {k:?}"
        );
    }
    // 45° about z is not in O: the kernel changes by much more than rounding.
    let o = Network::from_json(&spec("octahedral", "all")).unwrap();
    let (k, t) = gram(&o, &x1, &x2);
    let eighth = Rotation::about_z(PI / 4.0);
    let (kr, tr) = gram(&o, &inputs(2, -0.3, &eighth), &x2);
    let change = common::max_abs_diff(&kr, &k).max(common::max_abs_diff(&tr, &t));
    let scale = k.iter().chain(&t).fold(0.0f64, |m, v| m.max(v.abs()));
    println!("octahedral, 45° about z: max change {change:e} (kernel scale {scale:e})");
    assert!(change > 1e-4 * scale, "{change:e}");
}

/// The default registry plus the trivial rotation group `e`.
fn registry_with_trivial_group() -> GroupRegistry {
    let mut registry = entk_reps::default_registry();
    let trivial = FiniteRotationGroup::generated_by("e", &[]).unwrap();
    assert_eq!(trivial.order(), 1);
    registry
        .register(entk_reps::spherical_entry(trivial).unwrap())
        .unwrap();
    registry
}

#[test]
fn the_gcnn_kernel_is_the_plain_kernel_averaged_over_the_group_orbit() {
    let registry = registry_with_trivial_group();
    let plain = Network::from_json_in(&spec("e", "identity"), &registry).unwrap();
    let x1 = inputs(2, -0.3, &Rotation::identity());
    let x2 = inputs(2, 0.25, &Rotation::identity());
    for group in [
        FiniteRotationGroup::octahedral(),
        FiniteRotationGroup::icosahedral(),
    ] {
        let (mut kbar, mut tbar) = (Array2::zeros((2, 2)), Array2::zeros((2, 2)));
        for r in group.rotations() {
            let (k, t) = gram(&plain, &x1, &inputs(2, 0.25, r));
            kbar += &k;
            tbar += &t;
        }
        kbar /= group.order() as f64;
        tbar /= group.order() as f64;
        let (k_plain, _) = gram(&plain, &x1, &x2);
        for support in ["identity", "all"] {
            let gcnn = Network::from_json_in(&spec(&group.name(), support), &registry).unwrap();
            let (k, t) = gram(&gcnn, &x1, &x2);
            let err = common::max_abs_diff(&k, &kbar).max(common::max_abs_diff(&t, &tbar));
            println!(
                "{} ({support}): augmentation error {err:e}, GCNN vs plain {:e}",
                group.name(),
                common::max_abs_diff(&k, &k_plain)
            );
            assert!(err <= 1e-12, "{} {support}: {err:e}", group.name());
            assert!(common::max_abs_diff(&k, &k_plain) > 1e-6);
        }
    }
}

/// `(1/4π) ∫ f(u) du` by Gauss–Legendre in cos θ (8 nodes) × 17 uniform φ: exact for
/// polynomials of degree ≤ 15.
fn sphere_mean(f: impl Fn(&Vector3<f64>) -> f64) -> f64 {
    let (nodes, weights) = common::gauss_legendre(8, -1.0, 1.0);
    let mut total = 0.0;
    for (x, w) in nodes.into_iter().zip(weights) {
        let s = (1.0 - x * x).sqrt();
        for k in 0..17 {
            let phi = 2.0 * PI * k as f64 / 17.0;
            total += w * (2.0 * PI / 17.0) * f(&Vector3::new(s * phi.cos(), s * phi.sin(), x));
        }
    }
    total / (4.0 * PI)
}

#[test]
fn the_lifting_kernel_is_the_real_space_integral_and_the_finite_layers_exact_kernel() {
    let o = FiniteRotationGroup::octahedral();
    // Degree ≤ 2 < bandlimit_out = 3: the filter's band keeps the whole signal.
    let low: [Poly; 2] = [
        |u, s| 1.0 + s * u.z + 0.5 * u.x * u.y,
        |u, s| u.x - 0.3 * s * u.z * u.z,
    ];
    let signal = |s: f64| {
        Features::image(
            2 * L,
            2 * L - 1,
            2,
            (0..2 * L * (2 * L - 1) * 2)
                .map(|i| {
                    let (p, c) = (i / 2, i % 2);
                    low[c](&point(L, p / (2 * L - 1), p % (2 * L - 1)), s)
                })
                .collect(),
        )
        .unwrap()
    };
    let (x1, x2) = (signal(0.3), signal(-1.1));
    let lift = |extra: &str| {
        Network::from_json(&format!(
            r#"{{"layers": [{{"type": "s2_lift_conv", "group": "octahedral", "bandlimit_out": 3{extra}}}]}}"#
        ))
        .unwrap()
    };
    // Slice s holds a_s = g_s⁻¹: K[s, t] = (1/4π)(1/C) Σ_c ∫ x_c(R_s⁻¹u) x′_c(R_t⁻¹u) du.
    let analytic = lift(r#", "w_std": 1.3"#)
        .kernel_pair_features(&x1, &x2)
        .unwrap()
        .to_full();
    let mut worst: f64 = 0.0;
    for s in 0..24 {
        for t in 0..24 {
            let (rs, rt) = (o.rotation_of(s).inverse(), o.rotation_of(t).inverse());
            let oracle = 1.69
                * sphere_mean(|u| {
                    let (a, b) = (rs.apply(u), rt.apply(u));
                    (low[0](&a, 0.3) * low[0](&b, -1.1) + low[1](&a, 0.3) * low[1](&b, -1.1)) / 2.0
                });
            worst = worst.max((analytic.nngp[s * 24 + t] - oracle).abs());
        }
    }
    println!("lift vs real-space oracle: {worst:e}");
    assert!(worst < 1e-12, "{worst:e}");
    // Finite = infinite: the exact Jacobian kernel of one finite layer (global and cap support,
    // with and without bias); without bias the NTK is the NNGP (Θ¹ = K¹).
    for extra in [
        "",
        r#", "b_std": 0.4"#,
        r#", "max_beta": 1.0, "w_std": 0.8"#,
    ] {
        let net = lift(extra);
        let analytic = net.kernel_pair_features(&x1, &x2).unwrap().to_full();
        let params = net.init_seeded(&x1.sig, 3).unwrap();
        let empirical = empirical_kernel_pair(&net, &params, &x1, &x2).unwrap();
        assert_eq!(analytic.layout, empirical.layout);
        let err = common::rel_err(&empirical.ntk, &analytic.nngp)
            .max(common::rel_err(&empirical.ntk, &analytic.ntk));
        println!("finite = infinite ({extra}): {err:e}");
        assert!(err < 1e-12, "{extra}: {err:e}");
    }
}

#[test]
fn the_finite_twin_agrees_with_the_kernel_in_monte_carlo() {
    let spec = ArchSpec::from_json(&spec("octahedral", "all").replace(
        r#""bandlimit_out": 3"#,
        r#""bandlimit_out": 2, "b_std": 0.3"#,
    ))
    .unwrap();
    let x = inputs(2, 0.2, &Rotation::identity());
    let analytic = Network::from_spec(&spec)
        .unwrap()
        .gram(x.view(), None, &GramOptions::default())
        .unwrap();
    let width = 24;
    let mc = monte_carlo_gram(&spec, width, 96, 11, x.view(), None).unwrap();
    let worst_z =
        common::assert_monte_carlo_agrees(&mc, (&analytic.nngp, &analytic.ntk), width, 0.5);
    println!("worst |mean − analytic| / stderr = {worst_z:.2}");
}

#[test]
fn specs_that_misuse_a_group_are_refused_with_one_line() {
    for (spec, expected) in [
        (
            r#"{"layers": [{"type": "lift_conv", "group": "octahedral", "filter": 3}]}"#,
            "s2_lift_conv",
        ),
        (
            r#"{"layers": [{"type": "s2_lift_conv", "group": "c4", "bandlimit_out": 2}]}"#,
            "does not act on the sphere",
        ),
        (
            r#"{"layers": [{"type": "s2_lift_conv", "group": "nope", "bandlimit_out": 2}]}"#,
            "octahedral, icosahedral",
        ),
        (
            r#"{"layers": [{"type": "s2_lift_conv", "group": "octahedral", "bandlimit_out": 2},
                {"type": "group_conv", "filter": 3}]}"#,
            "no spatial part",
        ),
        (
            r#"{"layers": [{"type": "s2_lift_conv", "group": "octahedral", "bandlimit_out": 2},
                {"type": "group_conv", "group": "octahedral", "padding": "same"}]}"#,
            "no spatial part",
        ),
        (
            r#"{"layers": [{"type": "lift_conv", "group": "c4", "filter": 3},
                {"type": "group_conv"}]}"#,
            "missing field `filter`",
        ),
    ] {
        let e = ArchSpec::from_json(spec).unwrap_err().to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.contains(expected), "{spec}: {e}");
    }
    // Features on O fed to a group_conv over I: refused when planned.
    let net = Network::from_json(
        r#"{"layers": [{"type": "s2_lift_conv", "group": "octahedral", "bandlimit_out": 2},
            {"type": "group_conv", "group": "icosahedral"}, {"type": "group_pool"}]}"#,
    )
    .unwrap();
    let e = net
        .plan(&Network::image_signature(2 * L, 2 * L - 1, 1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("octahedral") && e.contains("icosahedral"), "{e}");
}

#[path = "../../groups/tests/support/test_group.rs"]
mod test_group;
use test_group::TestGroup;

/// The Klein four-group `{e, a, b, ab}` (flips of rows and of columns), named `c4`.
fn klein_named_c4() -> TestGroup {
    let flip = |g: usize, bit: usize| if g & bit != 0 { -1.0 } else { 1.0 };
    TestGroup {
        plane: (0..4)
            .map(|g| Matrix2::new(flip(g, 1), 0.0, 0.0, flip(g, 2)))
            .collect(),
        ..TestGroup::xor("c4", 2)
    }
}

#[test]
fn two_different_groups_with_one_name_are_refused() {
    let a = Affine::default();
    let refused = |lift: Box<dyn Layer>, conv: Box<dyn Layer>| {
        let net = Network::new(vec![lift, conv]);
        net.plan(&Network::image_signature(5, 5, 1))
            .unwrap_err()
            .to_string()
    };
    // Different Cayley tables, one name.
    let c4 = entk_groups::CyclicGroup::new(4).unwrap();
    let e = refused(
        Box::new(LiftConv::new(c4, 3, Padding::Same, a).unwrap()),
        Box::new(GroupConv::new(klein_named_c4(), 3, Padding::Same, GroupSupport::All, a).unwrap()),
    );
    assert!(e.contains("c4") && e.contains("different group"), "{e}");
    // One Cayley table, different actions, one name.
    let transpose = TestGroup::z2_on_plane("c2t", Matrix2::new(0.0, 1.0, 1.0, 0.0));
    let half_turn = TestGroup::z2_on_plane("c2t", -Matrix2::identity());
    let e = refused(
        Box::new(LiftConv::new(transpose.clone(), 3, Padding::Same, a).unwrap()),
        Box::new(GroupConv::new(half_turn, 3, Padding::Same, GroupSupport::All, a).unwrap()),
    );
    assert!(e.contains("different group"), "{e}");
    // The same group under two names is accepted.
    let renamed = TestGroup::z2_on_plane("other_name", Matrix2::new(0.0, 1.0, 1.0, 0.0));
    let net = Network::new(vec![
        Box::new(LiftConv::new(transpose, 3, Padding::Same, a).unwrap()),
        Box::new(GroupConv::new(renamed, 3, Padding::Same, GroupSupport::All, a).unwrap()),
    ]);
    assert!(net.plan(&Network::image_signature(5, 5, 1)).is_ok());
}
