//! Bad input is refused with one-line errors that name the problem.

mod common;
use common::*;
use entk_ntk::{GramOptions, Network, NtkError};
use ndarray::Array4;

fn spec_err(text: &str) -> String {
    let e = Network::from_json(text).unwrap_err().to_string();
    assert!(!e.contains('\n'), "multi-line error: {e}");
    e
}

fn gram_err(net: &str, x1: &Array4<f64>, x2: Option<&Array4<f64>>, opts: &GramOptions) -> String {
    let net = Network::from_json(net).unwrap();
    let e = net
        .gram(x1.view(), x2.map(|x| x.view()), opts)
        .unwrap_err()
        .to_string();
    assert!(!e.contains('\n'), "multi-line error: {e}");
    e
}

const OK_GCNN: &str = r#"{"layers": [{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"}, {"type": "group_pool"}, {"type": "dense"}]}"#;

#[test]
fn unknown_field_is_named_with_its_layer() {
    let e = spec_err(
        r#"{"layers": [{"type": "lift_conv", "group": "c4", "filter": 3}, {"type": "relu"}, {"type": "relu"}, {"type": "group_conv", "filtr": 3}]}"#,
    );
    assert!(
        e.starts_with("layer 3: unknown field `filtr` in `group_conv`"),
        "{e}"
    );
}

#[test]
fn unknown_layer_type_is_named() {
    let e = spec_err(r#"{"layers": [{"type": "dense"}, {"type": "softmax"}]}"#);
    assert!(e.contains("layer 1: unknown layer type `softmax`"), "{e}");
    let e = spec_err(r#"{"layers": [{"type": "dense"}], "optimizer": "sgd"}"#);
    assert!(e.contains("unknown field `optimizer`"), "{e}");
}

#[test]
fn even_filter_sizes_are_refused() {
    let e = spec_err(r#"{"layers": [{"type": "conv", "filter": 4}]}"#);
    assert!(
        e.contains("layer 0") && e.contains("4×4") && e.contains("odd"),
        "{e}"
    );
    let e = spec_err(r#"{"layers": [{"type": "lift_conv", "group": "c4", "filter": [3, 2]}]}"#);
    assert!(e.contains("odd"), "{e}");
}

#[test]
fn group_conv_before_any_lift_conv_is_refused() {
    let e = spec_err(
        r#"{"layers": [{"type": "conv", "filter": 3}, {"type": "group_conv", "group": "c4", "filter": 3}]}"#,
    );
    assert_error_names(&e, &["layer 1", "group_conv before any lift_conv"]);
    // Built by hand (no spec check), the plan refuses it too.
    use entk_ntk::layers::GroupConv;
    let net = Network::new(vec![Box::new(
        GroupConv::new(
            entk_groups::CyclicGroup::new(4).unwrap(),
            3,
            entk_ntk::Padding::Same,
            entk_ntk::GroupSupport::All,
            Default::default(),
        )
        .unwrap(),
    )]);
    let e = net
        .plan(&Network::image_signature(5, 5, 1))
        .unwrap_err()
        .to_string();
    assert_error_names(&e, &["layer 0 (`group_conv`)", "lift_conv"]);
}

#[test]
fn group_pool_on_unlifted_features_is_refused() {
    let x = random_images(2, 5, 1, SEED);
    let e = gram_err(
        r#"{"layers": [{"type": "conv", "filter": 3}, {"type": "relu"}, {"type": "group_pool"}, {"type": "dense"}]}"#,
        &x,
        None,
        &GramOptions::default(),
    );
    assert_error_names(&e, &["layer 2 (`group_pool`)", "lift_conv"]);
}

#[test]
fn non_square_images_are_refused_where_the_group_rotates() {
    let x = Array4::from_elem((2, 5, 7, 1), 0.5);
    let e = gram_err(OK_GCNN, &x, None, &GramOptions::default());
    assert!(e.contains("square") && e.contains("5×7"), "{e}");
}

#[test]
fn nan_and_inf_inputs_are_refused() {
    let mut x = random_images(2, 5, 1, SEED);
    x[[1, 2, 3, 0]] = f64::NAN;
    let e = gram_err(OK_GCNN, &x, None, &GramOptions::default());
    assert!(e.contains("x1[1,2,3,0] is NaN"), "{e}");
    let mut y = random_images(2, 5, 1, SEED);
    y[[0, 0, 0, 0]] = f64::INFINITY;
    let e = gram_err(
        OK_GCNN,
        &random_images(2, 5, 1, SEED),
        Some(&y),
        &GramOptions::default(),
    );
    assert!(e.contains("x2[0,0,0,0] is inf"), "{e}");
}

#[test]
fn mismatched_channel_counts_are_refused() {
    let e = gram_err(
        OK_GCNN,
        &random_images(2, 5, 1, SEED),
        Some(&random_images(2, 5, 3, SEED)),
        &GramOptions::default(),
    );
    assert!(e.contains("x1 has 1 channels but x2 has 3"), "{e}");
}

#[test]
fn kernels_over_the_memory_budget_are_refused_with_the_estimate() {
    let x = random_images(2, 5, 1, SEED);
    let net = Network::from_json(OK_GCNN).unwrap();
    let opts = GramOptions {
        memory_budget: Some(1000),
        threads: 1,
        ..Default::default()
    };
    let err = net.gram(x.view(), None, &opts).unwrap_err();
    let NtkError::OutOfMemory {
        estimated_bytes,
        budget_bytes,
    } = err
    else {
        panic!("{err}")
    };
    assert_eq!(budget_bytes, 1000);
    let plan = net.plan(&Network::image_signature(5, 5, 1)).unwrap();
    assert_eq!(estimated_bytes, plan.peak_bytes(2, None, 1));
    let msg = net.gram(x.view(), None, &opts).unwrap_err().to_string();
    assert!(
        msg.contains(&format!("about {estimated_bytes} bytes")),
        "{msg}"
    );
    println!("{msg}\n{plan}");
}

#[test]
fn unpooled_networks_are_refused_for_gram_matrices() {
    let x = random_images(2, 5, 1, SEED);
    let e = gram_err(
        r#"{"layers": [{"type": "conv", "filter": 3}]}"#,
        &x,
        None,
        &GramOptions::default(),
    );
    assert!(e.contains("not one scalar per input"), "{e}");
}

#[test]
fn zero_variance_borders_give_no_nan() {
    // SAME padding on images with zero rows: k11·k22 = 0 at many entries (docs/theory.md#nonlinearities-dual-activations).
    let mut x = random_images(3, 5, 1, SEED);
    x.index_axis_mut(ndarray::Axis(0), 0).fill(0.0);
    for phi in ["relu", "erf", "gelu", "abrelu", "leaky_relu"] {
        let net = Network::from_json(&spec(&[
            r#"{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}"#,
            &format!(r#"{{"type": "{phi}"}}"#),
            r#"{"type": "group_conv", "group": "c4", "filter": 3, "padding": "same"}"#,
            &format!(r#"{{"type": "{phi}"}}"#),
            r#"{"type": "group_pool"}"#,
            r#"{"type": "dense"}"#,
        ]))
        .unwrap();
        let (k, t) = gram(&net, &x);
        assert!(
            k.iter().chain(t.iter()).all(|v| v.is_finite()),
            "{phi}: NaN/Inf in {k:?} {t:?}"
        );
    }
}

#[test]
fn features_of_the_wrong_length_are_refused() {
    use entk_groups::CyclicGroup;
    use entk_ntk::{Features, GroupInfo};
    let e = Features::image(5, 5, 1, vec![0.0; 24])
        .unwrap_err()
        .to_string();
    assert!(e.contains("need 25 values, got 24"), "{e}");
    let info = std::sync::Arc::new(GroupInfo::new(&CyclicGroup::new(4).unwrap()).unwrap());
    let e = Features::group_signal(info, 3, 3, 2, vec![0.0; 4 * 9 * 2 + 1])
        .unwrap_err()
        .to_string();
    assert!(e.contains("need 72 values, got 73"), "{e}");
    // Hand-built features of the wrong length reach `apply` and are refused there too.
    let net = Network::from_json(r#"{"layers": [{"type": "conv", "filter": 3}]}"#).unwrap();
    let good = Features::image(5, 5, 1, vec![0.5; 25]).unwrap();
    let params = net.init_seeded(&good.sig, 1).unwrap();
    let mut bad = good.clone();
    bad.data.pop();
    let e = net.apply(&params, &bad).unwrap_err().to_string();
    assert!(e.contains("need 25 values, got 24"), "{e}");
    assert!(net.vjp(&params, &bad).is_err());
}

#[test]
fn parameters_of_another_network_are_refused() {
    use entk_ntk::Features;
    let narrow = Network::from_json(
        r#"{"layers": [{"type": "conv", "filter": 3, "width": 4}, {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "width": 1}]}"#,
    )
    .unwrap();
    let wide = Network::from_json(
        r#"{"layers": [{"type": "conv", "filter": 3, "width": 8}, {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "width": 1}]}"#,
    )
    .unwrap();
    let x = Features::image(5, 5, 2, vec![0.25; 50]).unwrap();
    let p_wide = wide.init_seeded(&x.sig, 3).unwrap();
    // Same layer count, other sizes: refused with the layer named, never indexed out of range.
    let e = narrow.apply(&p_wide, &x).unwrap_err().to_string();
    assert!(!e.contains('\n'), "multi-line error: {e}");
    assert_error_names(&e, &["layer 0 (`conv`)", "another network"]);
    assert!(narrow.vjp(&p_wide, &x).is_err());
    // Parameters drawn for another input shape are refused as well.
    let x3 = Features::image(5, 5, 3, vec![0.25; 75]).unwrap();
    let p_narrow = narrow.init_seeded(&x.sig, 3).unwrap();
    let e = narrow.apply(&p_narrow, &x3).unwrap_err().to_string();
    assert!(e.contains("another input shape"), "{e}");
    // Another layer count.
    let short = Network::from_json(r#"{"layers": [{"type": "dense", "width": 1}]}"#).unwrap();
    let e = short.apply(&p_narrow, &x).unwrap_err().to_string();
    assert!(e.contains("another network"), "{e}");
}

#[test]
fn quadrature_degree_zero_is_refused() {
    use entk_ntk::nonlin::GaussHermite;
    use entk_ntk::Nonlinearity;
    let e = Nonlinearity::gelu_numerical(0).unwrap_err().to_string();
    assert!(e.contains("degree 0 is out of range"), "{e}");
    assert!(GaussHermite::new(0).is_err());
    assert!(
        Nonlinearity::numerical("relu", |u: f64| u.max(0.0), |u| f64::from(u > 0.0), 0).is_err()
    );
    assert!(Nonlinearity::gelu_numerical(20).is_ok());
}
