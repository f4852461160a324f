//! The spec → plan step: layouts, sizes and memory estimates are data, testable without
//! computing a kernel.

use entk_ntk::{ArchSpec, LayerSpec, Layout, Network, Padding};

const GCNN: &str = r#"{"parameterization": "ntk", "layers": [
    {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "valid", "w_std": 1.0, "b_std": 0.0},
    {"type": "relu"},
    {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same", "group_support": "all"},
    {"type": "relu"},
    {"type": "group_pool"},
    {"type": "dense", "w_std": 1.0, "b_std": 0.0}]}"#;

#[test]
fn spec_parses_into_typed_layers() {
    let spec = ArchSpec::from_json(GCNN).unwrap();
    assert_eq!(spec.layers.len(), 6);
    assert!(matches!(
        spec.layers[0],
        LayerSpec::LiftConv {
            filter: 3,
            padding: Padding::Valid,
            ..
        }
    ));
    assert!(matches!(
        spec.layers[2],
        LayerSpec::GroupConv {
            filter: 3,
            padding: Padding::Same,
            ..
        }
    ));
}

#[test]
fn plan_lists_layouts_sizes_and_memory() {
    let net = Network::from_json(GCNN).unwrap();
    let plan = net.plan(&Network::image_signature(7, 7, 3)).unwrap();
    println!("{plan}");
    assert_eq!(plan.steps.len(), 6);
    // VALID lifting: 7 → 5; exact group: relative layout with |G| = 4 slices.
    match &plan.steps[0].outputs[0].layout {
        Layout::GroupRelative { group, h: 5, w: 5 } => assert_eq!(group.order, 4),
        other => panic!("unexpected layout {other}"),
    }
    assert_eq!(plan.steps[0].values_per_pair, 4 * 5 * 5 * 5 * 5);
    assert_eq!(plan.output, Layout::Scalar);
    assert!(plan.is_pooled());
    // Largest per-pair array: the 4×5⁴ lifted kernel (> the 7⁴ input kernel), as input and
    // output of a layer (NNGP + NTK), plus the input kernel.
    assert_eq!(plan.bytes_per_pair, 4 * 8 * 2500 + 2 * 8 * 7 * 7 * 7 * 7);
    assert_eq!(plan.diag_values_per_input, 2 * 25);
    assert!(plan.peak_bytes(10, None, 2) > plan.peak_bytes(10, None, 1));
    assert!(plan.to_string().contains("group c4 relative"));
}

#[test]
fn inexact_groups_plan_the_full_group_layout() {
    let net = Network::from_json(&GCNN.replace("c4", "c8")).unwrap();
    let plan = net.plan(&Network::image_signature(7, 7, 1)).unwrap();
    assert!(matches!(
        &plan.steps[2].outputs[0].layout,
        Layout::Group { h: 5, w: 5, .. }
    ));
    assert_eq!(plan.steps[2].values_per_pair, 64 * 625);
}

#[test]
fn residual_blocks_with_combinators_plan_and_run() {
    let net = Network::from_json(r#"{"layers": [
        {"type": "conv", "filter": 3, "padding": "same"},
        {"type": "fan_out", "n": 2},
        {"type": "parallel", "branches": [[{"type": "relu"}, {"type": "conv", "filter": 3, "padding": "same"}], [{"type": "identity"}]]},
        {"type": "fan_in_sum"},
        {"type": "global_avg_pool"},
        {"type": "dense"}]}"#)
    .unwrap();
    let plan = net.plan(&Network::image_signature(5, 5, 1)).unwrap();
    assert_eq!(plan.steps[1].outputs.len(), 2);
    let x = ndarray::Array4::from_shape_fn((2, 5, 5, 1), |(b, i, j, _)| {
        ((b + 2 * i + 3 * j) as f64).sin()
    });
    let g = net.gram(x.view(), None, &Default::default()).unwrap();
    assert!(g.ntk.iter().all(|v| v.is_finite()));
}

#[test]
fn hand_built_networks_record_their_parameterization_and_plans_print_it() {
    use entk_ntk::layers::{Dense, Elementwise, Serial};
    use entk_ntk::{Affine, Nonlinearity, Parameterization};
    let standard = Affine {
        param: Parameterization::Standard,
        width: 3,
        ..Affine::default()
    };
    // The first linear layer sits inside a `serial`: it is found there.
    let net = Network::new(vec![
        Box::new(Serial::new(vec![Box::new(Dense::new(standard))])),
        Box::new(Elementwise::new(Nonlinearity::Erf {
            a: 1.0,
            b: 2.0,
            c: 0.0,
        })),
        Box::new(Dense::new(standard)),
    ]);
    assert_eq!(net.parameterization(), Parameterization::Standard);
    let plan = net.plan(&Network::image_signature(1, 1, 4)).unwrap();
    assert_eq!(plan.parameterization, Parameterization::Standard);
    let text = plan.to_string();
    assert!(
        text.contains("kernel plan (standard parameterisation)"),
        "{text}"
    );
    // Nonlinearities print in the spec's form (Display), not as Rust debug output.
    assert!(text.contains("erf(a=1, b=2, c=0)"), "{text}");
    assert!(!text.contains("Erf {"), "{text}");
    let ntk = Network::new(vec![Box::new(Dense::new(Affine::default()))]);
    assert_eq!(ntk.parameterization(), Parameterization::Ntk);
    assert_eq!(
        Nonlinearity::gelu_numerical(8).unwrap().to_string(),
        "gelu [Gauss–Hermite degree 8]"
    );
    assert_eq!(
        Nonlinearity::leaky_relu(0.1).to_string(),
        "abrelu(a=0.1, b=1)"
    );
}
