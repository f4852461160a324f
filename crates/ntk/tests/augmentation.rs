//! docs/theory.md#data-augmentation-and-group-convolution (tested property 6): data augmentation ⇔ group convolution, as exact identities.
//!
//! (a) GCNN with `group_support: identity` = point-group-orbit-averaged CNN (C4 and D4; SAME,
//!     CIRCULAR and VALID padding).
//! (b) Full-support CIRCULAR lifting GCNN = `(H ⋉ Z_N²)`-orbit-averaged MLP (C4 and D4).
//!
//! Inputs are distinct random images (x1 against x2), so no entry pairs an input with its own
//! orbit (where ReLU's `θ ≈ 0` amplifies rounding to ≈1e-10, docs/theory.md#data-augmentation-and-group-convolution).

mod common;
use common::*;
use entk_groups::{CyclicGroup, DihedralGroup, RotoTranslation};
use entk_ntk::augment::{augmented_gram, ImageAction, PointGroupAction, RotoTranslationAction};
use entk_ntk::{GramOptions, Network};

use common::tol::NETWORK as TOL;

fn compare(
    name: &str,
    gcnn: &Network,
    base: &Network,
    action: &dyn ImageAction,
    s: usize,
    c: usize,
) {
    let x1 = random_images(3, s, c, SEED);
    let x2 = random_images(2, s, c, SEED + 1);
    let opts = GramOptions::default();
    let g = gcnn.gram(x1.view(), Some(x2.view()), &opts).unwrap();
    let a = augmented_gram(base, x1.view(), Some(x2.view()), action, &opts).unwrap();
    let (ek, et) = (rel_err(&g.nngp, &a.nngp), rel_err(&g.ntk, &a.ntk));
    println!("{name}: nngp rel err {ek:.2e}, ntk rel err {et:.2e}");
    assert!(ek <= TOL && et <= TOL, "{name}: nngp {ek:e} ntk {et:e}");
}

fn cnn(pad: &str, phi: &str) -> Network {
    Network::from_json(&spec(&[
        &format!(r#"{{"type": "conv", "filter": 3, "padding": "{pad}"}}"#),
        phi,
        &format!(r#"{{"type": "conv", "filter": 3, "padding": "{pad}", "b_std": 0.3}}"#),
        phi,
        r#"{"type": "global_avg_pool"}"#,
        r#"{"type": "dense", "w_std": 1.2, "b_std": 0.1}"#,
    ]))
    .unwrap()
}

fn gcnn_identity(group: &str, pad: &str, phi: &str) -> Network {
    Network::from_json(&spec(&[
        &format!(r#"{{"type": "lift_conv", "group": "{group}", "filter": 3, "padding": "{pad}"}}"#),
        phi,
        &format!(r#"{{"type": "group_conv", "group": "{group}", "filter": 3, "padding": "{pad}", "group_support": "identity", "b_std": 0.3}}"#),
        phi,
        r#"{"type": "group_pool"}"#,
        r#"{"type": "dense", "w_std": 1.2, "b_std": 0.1}"#,
    ]))
    .unwrap()
}

#[test]
fn identity_support_c4_gcnn_equals_c4_augmented_cnn() {
    let c4 = PointGroupAction {
        group: CyclicGroup::new(4).unwrap(),
    };
    for pad in ["same", "circular", "valid"] {
        for phi in [r#"{"type": "relu"}"#, r#"{"type": "erf"}"#] {
            compare(
                &format!("c4 {pad} {phi}"),
                &gcnn_identity("c4", pad, phi),
                &cnn(pad, phi),
                &c4,
                5,
                2,
            );
        }
    }
}

#[test]
fn identity_support_d4_gcnn_equals_d4_augmented_cnn() {
    let d4 = PointGroupAction {
        group: DihedralGroup::new(4).unwrap(),
    };
    for pad in ["same", "circular"] {
        let phi = r#"{"type": "relu"}"#;
        compare(
            &format!("d4 {pad}"),
            &gcnn_identity("d4", pad, phi),
            &cnn(pad, phi),
            &d4,
            5,
            2,
        );
    }
}

fn mlp(phi: &str) -> Network {
    Network::from_json(&spec(&[
        r#"{"type": "flatten"}"#,
        r#"{"type": "dense", "b_std": 0.2}"#,
        phi,
        r#"{"type": "dense", "w_std": 1.3}"#,
        phi,
        r#"{"type": "dense"}"#,
    ]))
    .unwrap()
}

fn gcnn_full(group: &str, n: usize, phi: &str) -> Network {
    Network::from_json(&spec(&[
        &format!(r#"{{"type": "lift_conv", "group": "{group}", "filter": {n}, "padding": "circular", "b_std": 0.2}}"#),
        phi,
        &format!(r#"{{"type": "group_conv", "group": "{group}", "filter": 1, "padding": "circular", "group_support": "identity", "w_std": 1.3}}"#),
        phi,
        r#"{"type": "group_pool"}"#,
        r#"{"type": "dense"}"#,
    ]))
    .unwrap()
}

#[test]
fn circular_full_lifting_gcnn_equals_roto_translation_augmented_mlp() {
    let n = 5;
    let c4 = RotoTranslationAction {
        group: RotoTranslation::new(CyclicGroup::new(4).unwrap(), n).unwrap(),
    };
    let d4 = RotoTranslationAction {
        group: RotoTranslation::new(DihedralGroup::new(4).unwrap(), n).unwrap(),
    };
    for phi in [r#"{"type": "relu"}"#, r#"{"type": "erf"}"#] {
        compare(
            &format!("c4⋉Z5² {phi}"),
            &gcnn_full("c4", n, phi),
            &mlp(phi),
            &c4,
            n,
            2,
        );
        compare(
            &format!("d4⋉Z5² {phi}"),
            &gcnn_full("d4", n, phi),
            &mlp(phi),
            &d4,
            n,
            2,
        );
    }
}

#[test]
fn augmented_gram_with_self_pairs_is_symmetric_and_close() {
    // x2 = None: includes each input against its own orbit; ReLU there is accurate to ≈1e-10.
    let c4 = PointGroupAction {
        group: CyclicGroup::new(4).unwrap(),
    };
    let phi = r#"{"type": "relu"}"#;
    let x = random_images(3, 5, 2, SEED);
    let opts = GramOptions::default();
    let a = augmented_gram(&cnn("same", phi), x.view(), None, &c4, &opts).unwrap();
    let g = gcnn_identity("c4", "same", phi)
        .gram(x.view(), None, &opts)
        .unwrap();
    assert_eq!(a.ntk, a.ntk.t(), "augmented gram must be bitwise symmetric");
    let abs = g
        .ntk
        .iter()
        .zip(&a.ntk)
        .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
    println!("self pairs: max abs NTK difference {abs:.2e}");
    assert!(abs < 1e-9);
}
