//! docs/theory.md#golden-values golden values (C4 GCNN and CNN on input 1), to all printed digits.

mod common;
use common::*;
use entk_ntk::Network;

fn check(name: &str, got: &ndarray::Array2<f64>, want: [[f64; 2]; 2], digits: [[f64; 2]; 2]) {
    for i in 0..2 {
        for j in 0..2 {
            let tol = 0.5 * 10f64.powf(-digits[i][j]);
            assert!(
                (got[[i, j]] - want[i][j]).abs() <= tol,
                "{name}[{i},{j}] = {:.12} want {} (tol {tol:e})",
                got[[i, j]],
                want[i][j]
            );
        }
    }
    println!("{name}: {got:?}");
}

const GCNN: &[&str] = &[
    r#"{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}"#,
    r#"{"type": "relu"}"#,
    r#"{"type": "group_conv", "group": "c4", "filter": 3, "padding": "same", "group_support": "all"}"#,
    r#"{"type": "relu"}"#,
    r#"{"type": "group_pool"}"#,
    r#"{"type": "dense"}"#,
];

/// The C4 GCNN's golden NNGP and NTK on input 1; `form` tags the printed names.
fn check_c4_gcnn_golden(net: &Network, form: &str) {
    let (k, t) = gram(net, &golden_input());
    // 0.04817395 is printed with 8 decimals, the others with 10.
    check(
        &format!("nngp{form}"),
        &k,
        [[0.04817395, 0.0542393893], [0.0542393893, 0.0612665373]],
        [[8.0, 10.0], [10.0, 10.0]],
    );
    check(
        &format!("ntk{form}"),
        &t,
        [[0.0761127772, 0.0845435569], [0.0845435569, 0.0953544407]],
        [[10.0; 2]; 2],
    );
}

#[test]
fn c4_gcnn_golden_matches_theory_section_10() {
    check_c4_gcnn_golden(&Network::from_json(&spec(GCNN)).unwrap(), "");
}

#[test]
fn c4_gcnn_golden_holds_with_the_full_group_kernel_form() {
    // The relative (right-invariant) form and the full (G1,G2,...) form must agree.
    use entk_groups::CyclicGroup;
    use entk_ntk::layers::{Affine, Dense, Elementwise, GroupConv, GroupPool, LiftConv};
    use entk_ntk::{GroupSupport, Nonlinearity, Padding};
    let c4 = CyclicGroup::new(4).unwrap();
    let a = Affine::default();
    let net = Network::new(vec![
        Box::new(
            LiftConv::new(c4, 3, Padding::Same, a)
                .unwrap()
                .with_full_kernel(),
        ),
        Box::new(Elementwise::new(Nonlinearity::Relu)),
        Box::new(GroupConv::new(c4, 3, Padding::Same, GroupSupport::All, a).unwrap()),
        Box::new(Elementwise::new(Nonlinearity::Relu)),
        Box::new(GroupPool),
        Box::new(Dense::new(a)),
    ]);
    check_c4_gcnn_golden(&net, "(full)");
}

#[test]
fn cnn_golden_matches_theory_section_10() {
    let net = Network::from_json(&spec(&[
        r#"{"type": "conv", "filter": 3, "padding": "same"}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "conv", "filter": 3, "padding": "same"}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "global_avg_pool"}"#,
        r#"{"type": "dense"}"#,
    ]))
    .unwrap();
    let (k, t) = gram(&net, &golden_input());
    check(
        "nngp",
        &k,
        [[0.0496483127, 0.0560029807], [0.0560029807, 0.0642979651]],
        [[10.0; 2]; 2],
    );
    check(
        "ntk",
        &t,
        [[0.0835055112, 0.0921219094], [0.0921219094, 0.1089959559]],
        [[10.0; 2]; 2],
    );
}
