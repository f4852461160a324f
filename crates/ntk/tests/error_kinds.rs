//! Errors a caller can match: a layer's refusal carries a [`Rejection`] kind next to its
//! one-line message (the message text is asserted elsewhere and unchanged).

use entk_ntk::layers::{DeepSet, Dense, SetReduce};
use entk_ntk::ndarray::Array4;
use entk_ntk::{
    Affine, Features, GramOptions, InputProblem, Layer, Layout, Network, NtkError, Rejection,
    Signature, SpecError, SpecErrorKind,
};

/// The kind and message of the refusal of `spec` on 5×5×2 images, from `plan`.
fn plan_refusal(spec: &str) -> (Option<Rejection>, String) {
    let net = Network::from_json(spec).expect("the spec itself parses");
    let e = net.plan(&Network::image_signature(5, 5, 2)).unwrap_err();
    assert!(
        matches!(e, NtkError::Layer { .. }),
        "not located at a layer: {e}"
    );
    (e.rejection(), e.to_string())
}

#[test]
fn a_nonlinearity_on_a_non_gaussian_input_is_not_gaussian() {
    let (kind, msg) = plan_refusal(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"},
            {"type": "relu"}, {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    );
    assert_eq!(kind, Some(Rejection::NotGaussian), "{msg}");
    assert!(msg.starts_with("layer 2 (`relu`)"), "{msg}");
}

#[test]
fn wrong_features_are_layout_and_a_too_large_filter_is_shape() {
    let (kind, msg) = plan_refusal(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "group_pool"},
            {"type": "dense"}]}"#,
    );
    assert_eq!(kind, Some(Rejection::Layout), "{msg}");
    let (kind, msg) = plan_refusal(
        r#"{"layers": [{"type": "conv", "filter": 7, "padding": "valid"},
            {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    );
    assert_eq!(kind, Some(Rejection::Shape), "{msg}");
    assert!(msg.contains("does not fit"), "{msg}");
}

#[test]
fn a_fan_in_without_branches_is_branches() {
    let (kind, msg) = plan_refusal(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "fan_in_sum"},
            {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    );
    assert_eq!(kind, Some(Rejection::Branches), "{msg}");
}

#[test]
fn parameters_of_another_network_are_foreign_parameters() {
    let narrow = Network::from_json(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same", "width": 2},
            {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    )
    .unwrap();
    let wide = Network::from_json(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same", "width": 5},
            {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    )
    .unwrap();
    let x = Features::image(5, 5, 2, vec![0.5; 50]).unwrap();
    let p_wide = wide.init_seeded(&x.sig, 3).unwrap();
    let e = narrow.apply(&p_wide, &x).unwrap_err();
    assert_eq!(e.rejection(), Some(Rejection::ForeignParameters), "{e}");
    assert!(
        matches!(&e, NtkError::Layer { index: 0, layer, .. } if layer == "conv"),
        "{e}"
    );
}

#[test]
fn errors_that_are_not_refusals_have_no_rejection_kind() {
    let e = Network::from_json("not json").unwrap_err();
    assert_eq!(e.rejection(), None, "{e}");
}

/// The [`SpecError`] of a spec that does not parse.
fn spec_error(spec: &str) -> SpecError {
    let e = Network::from_json(spec).unwrap_err();
    e.spec_error()
        .cloned()
        .unwrap_or_else(|| panic!("not a spec error: {e}"))
}

#[test]
fn spec_errors_name_their_kind_and_field() {
    let e = spec_error("not json");
    assert_eq!(e.kind, SpecErrorKind::Json, "{e}");
    let e = spec_error(r#"{"layers": [{"type": "dense"}, {"type": "conv", "filtr": 3}]}"#);
    assert_eq!(e.path, "layer 1");
    assert_eq!(
        e.kind,
        SpecErrorKind::UnknownField {
            layer: "conv".into(),
            field: "filtr".into()
        }
    );
    assert!(
        e.to_string()
            .starts_with("layer 1: unknown field `filtr` in `conv`"),
        "{e}"
    );
    let e = spec_error(r#"{"layers": [{"type": "convolution"}]}"#);
    assert_eq!(
        e.kind,
        SpecErrorKind::UnknownType {
            ty: "convolution".into()
        },
        "{e}"
    );
    let e = spec_error(r#"{"layers": [{"type": "conv", "padding": "same"}]}"#);
    assert_eq!(
        e.kind,
        SpecErrorKind::MissingField {
            layer: "conv".into(),
            field: "filter".into()
        },
        "{e}"
    );
    let e = spec_error(r#"{"layers": [{"type": "dense", "w_std": -1}]}"#);
    assert_eq!(
        e.kind,
        SpecErrorKind::BadValue {
            layer: "dense".into(),
            field: "w_std".into()
        },
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "layer 0: field `w_std` of `dense` must be ≥ 0, got -1"
    );
    let e = spec_error(r#"{"layers": [{"type": "group_conv", "filter": 3}]}"#);
    assert_eq!(e.kind, SpecErrorKind::Group, "{e}");
    let e = spec_error(r#"{"layers": [{"type": "dropout", "rate": 0.5}, {"type": "dense"}]}"#);
    assert_eq!(e.kind, SpecErrorKind::Placement, "{e}");
    let e = spec_error(r#"{"layers": []}"#);
    assert_eq!(e.path, "spec");
    assert_eq!(e.to_string(), "spec: `layers` is empty");
}

#[test]
fn a_deep_set_after_another_layer_is_placement() {
    let net = Network::from_json(
        r#"{"layers": [{"type": "dense"}, {"type": "deep_set", "layers": [{"type": "dense"}]}]}"#,
    );
    // The spec parser refuses it already; a hand-built network is refused when planned.
    assert!(net.is_err());
    let inner: Vec<Box<dyn Layer>> = vec![Box::new(Dense::new(Affine::default()))];
    let set = DeepSet::new(inner, SetReduce::Sum).unwrap();
    let net = Network::new(vec![Box::new(Dense::new(Affine::default())), Box::new(set)]);
    let e = net
        .plan(&Signature {
            layout: Layout::Scalar,
            channels: 2,
        })
        .unwrap_err();
    assert_eq!(e.rejection(), Some(Rejection::Placement), "{e}");
    assert!(e.to_string().contains("first layer"), "{e}");
}

#[test]
fn an_s2_lift_past_the_input_bandlimit_is_shape() {
    // Input bandlimit 2 (4×3 Driscoll–Healy grid), output bandlimit 3: no upsampling.
    let net = Network::from_json(
        r#"{"layers": [{"type": "s2_lift_conv", "bandlimit_out": 3}, {"type": "so3_pool"},
            {"type": "dense"}]}"#,
    )
    .unwrap();
    let e = net.plan(&Network::image_signature(4, 3, 1)).unwrap_err();
    assert_eq!(e.rejection(), Some(Rejection::Shape), "{e}");
    assert!(e.to_string().starts_with("layer 0 (`s2_lift_conv`)"), "{e}");
}

#[test]
fn bad_input_arrays_name_their_problem() {
    let net = Network::from_json(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"},
            {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    )
    .unwrap();
    let opts = GramOptions::default();
    let x = Array4::from_elem((2, 5, 5, 1), 0.5);
    let mut nan = x.clone();
    nan[[1, 2, 3, 0]] = f64::NAN;
    let e = net.gram(nan.view(), None, &opts).unwrap_err();
    assert_eq!(e.input_problem(), Some(InputProblem::NonFinite), "{e}");
    assert!(e.to_string().starts_with("bad input: "), "{e}");
    let two_channels = Array4::from_elem((2, 5, 5, 2), 0.5);
    let e = net
        .gram(x.view(), Some(two_channels.view()), &opts)
        .unwrap_err();
    assert_eq!(e.input_problem(), Some(InputProblem::Mismatch), "{e}");
    let none = Array4::<f64>::zeros((0, 5, 5, 1));
    let e = net.gram(none.view(), None, &opts).unwrap_err();
    assert_eq!(e.input_problem(), Some(InputProblem::Empty), "{e}");
    assert_eq!(Network::from_json("[]").unwrap_err().input_problem(), None);
}
