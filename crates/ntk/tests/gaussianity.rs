//! Dual activations assume Gaussian pre-activations (docs/theory.md#nonlinearities-dual-activations). A nonlinearity whose input
//! is not Gaussian (the data itself, another nonlinearity's output, or a pool of one) would
//! give a silently wrong kernel — `conv → relu → relu` is *not* `conv → relu` under the dual
//! map — so every kernel entry point refuses it, naming the layer (neural-tangents does the
//! same: "The input to the activation function must be Gaussian").

use entk_ntk::{GramOptions, Network};
use ndarray::{Array3, Array4};

fn images() -> Array4<f64> {
    Array4::from_shape_fn((3, 5, 5, 2), |(b, h, w, c)| {
        ((0.7 * h as f64 + 1.3 * w as f64 + b as f64 + 0.4 * c as f64).sin()) + 0.1 * (h * w) as f64
    })
}

/// The error of the plan, of the Gram matrix and of a single pair; all three must agree.
fn refusal(spec: &str) -> String {
    let net = Network::from_json(spec).expect("the spec itself parses");
    let x = images();
    let sig = Network::image_signature(5, 5, 2);
    let plan = net.plan(&sig).unwrap_err().to_string();
    let gram = net
        .gram(x.view(), None, &GramOptions::default())
        .unwrap_err()
        .to_string();
    let x0: Array3<f64> = x.index_axis(ndarray::Axis(0), 0).to_owned();
    let pair = net
        .kernel_pair(x0.view(), x0.view())
        .unwrap_err()
        .to_string();
    assert_eq!(plan, gram);
    assert_eq!(plan, pair);
    assert!(!plan.contains('\n'), "multi-line error: {plan}");
    assert!(plan.contains("not Gaussian"), "{plan}");
    plan
}

fn accepted(spec: &str) {
    let net = Network::from_json(spec).unwrap();
    let g = net
        .gram(images().view(), None, &GramOptions::default())
        .unwrap_or_else(|e| panic!("{spec}: {e}"));
    assert!(g.ntk.iter().all(|v| v.is_finite()));
}

#[test]
fn a_nonlinearity_after_a_nonlinearity_is_refused_and_named() {
    let e = refusal(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"},
            {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    );
    assert!(e.starts_with("layer 2 (`relu`)"), "{e}");
}

#[test]
fn a_nonlinearity_after_a_pool_of_nonlinear_features_is_refused() {
    let e = refusal(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "erf"},
            {"type": "global_avg_pool"}, {"type": "gelu"}, {"type": "dense"}]}"#,
    );
    assert!(e.starts_with("layer 3 (`gelu`)"), "{e}");
    let e = refusal(
        r#"{"layers": [{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"},
            {"type": "relu"}, {"type": "group_pool"}, {"type": "leaky_relu", "slope": 0.1},
            {"type": "dense"}]}"#,
    );
    assert!(e.starts_with("layer 3 (`abrelu`)"), "{e}");
}

#[test]
fn a_nonlinearity_on_the_raw_input_is_refused() {
    let e = refusal(
        r#"{"layers": [{"type": "relu"}, {"type": "conv", "filter": 3}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    );
    assert!(e.starts_with("layer 0 (`relu`)"), "{e}");
}

#[test]
fn identity_keeps_gaussianity_either_way() {
    refusal(
        r#"{"layers": [{"type": "conv", "filter": 3}, {"type": "relu"}, {"type": "identity"},
            {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    );
    accepted(
        r#"{"layers": [{"type": "conv", "filter": 3}, {"type": "identity"}, {"type": "relu"},
            {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    );
}

#[test]
fn linear_layers_and_pools_of_gaussians_restore_or_keep_gaussianity() {
    // A linear layer after a nonlinearity is Gaussian again; an avg_pool of a Gaussian stays so.
    accepted(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"},
            {"type": "conv", "filter": 3, "padding": "same"}, {"type": "avg_pool", "window": 2},
            {"type": "erf"}, {"type": "global_avg_pool"}, {"type": "dense"}, {"type": "relu"},
            {"type": "dense"}]}"#,
    );
    // A pool of a Gaussian (no nonlinearity in between) feeding a nonlinearity is fine.
    accepted(
        r#"{"layers": [{"type": "conv", "filter": 3}, {"type": "global_avg_pool"},
            {"type": "relu"}, {"type": "dense"}]}"#,
    );
}

#[test]
fn fan_ins_follow_their_inputs() {
    // Sum of two Gaussian branches: Gaussian.
    accepted(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "fan_out", "n": 2},
            {"type": "parallel", "branches": [[{"type": "conv", "filter": 3, "padding": "same"}],
                                             [{"type": "conv", "filter": 1}]]},
            {"type": "fan_in_sum"}, {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    );
    // One branch ends with a nonlinearity: the concatenation is not Gaussian.
    let e = refusal(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "fan_out", "n": 2},
            {"type": "parallel", "branches": [[{"type": "conv", "filter": 3, "padding": "same"}],
                                             [{"type": "relu"}]]},
            {"type": "fan_in_concat"}, {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    );
    assert!(e.starts_with("layer 4 (`relu`)"), "{e}");
    // A nonlinearity inside a branch sees the branch input.
    let e = refusal(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"}, {"type": "fan_out", "n": 2},
            {"type": "parallel", "branches": [[{"type": "conv", "filter": 1}], [{"type": "erf"}]]},
            {"type": "fan_in_sum"}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    );
    assert!(e.starts_with("layer 0 (`erf`)"), "{e}");
}

#[test]
fn the_finite_network_is_unaffected() {
    // relu∘relu is a perfectly good finite network; only its dual-map kernel is refused.
    let net = Network::from_json(
        r#"{"layers": [{"type": "conv", "filter": 3, "width": 4}, {"type": "relu"}, {"type": "relu"},
            {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    )
    .unwrap();
    let sig = Network::image_signature(5, 5, 2);
    let params = net.init_seeded(&sig, 7).unwrap();
    let x = entk_ntk::image_features(images().index_axis(ndarray::Axis(0), 1));
    let y = net.apply(&params, &x).unwrap();
    assert!(y.data.iter().all(|v| v.is_finite()));
}
