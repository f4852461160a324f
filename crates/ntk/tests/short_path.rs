//! The short path: `stax` layers, `Network::serial`, `Network::kernel` and `Network::predict`,
//! checked against the JSON spec path and an independent linear solve.

mod common;
use common::*;
use entk_ntk::{stax, ArchSpec, GroupName, LayerSpec, Network, Padding, Parameterization};
use ndarray::{s, Array2, Array4, Axis};

const GCNN_JSON: &str = r#"{"layers": [
    {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same", "w_std": 1.5, "b_std": 0.1},
    {"type": "relu"},
    {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same", "w_std": 1.5, "b_std": 0.1},
    {"type": "erf"},
    {"type": "group_pool"}, {"type": "dense", "w_std": 1.5, "b_std": 0.1}]}"#;

fn stax_gcnn() -> Vec<LayerSpec> {
    let c4 = GroupName::Cyclic(4);
    vec![stax::serial([
        stax::lift_conv(c4, 3, Padding::Same).unwrap(),
        stax::relu(),
        stax::group_conv(c4, 3, Padding::Same).unwrap(),
        stax::erf(1.0, 1.0, 0.0),
        stax::group_pool(),
        stax::dense(1),
    ])
    .with_weights(1.5, 0.1)]
}

#[test]
fn stax_networks_equal_their_json_specs() {
    let net = Network::serial(stax_gcnn()).unwrap();
    let json = Network::from_json(GCNN_JSON).unwrap();
    let x = random_images(3, 5, 1, SEED);
    let (a, b) = (
        net.kernel(&x, None).unwrap(),
        json.kernel(&x, None).unwrap(),
    );
    assert_eq!(a.nngp, b.nngp);
    assert_eq!(a.ntk, b.ntk);
    // The standard parameterisation reaches every (nested) linear layer, as the JSON field does.
    let std_json = Network::from_json(&GCNN_JSON.replacen(
        "{\"layers\"",
        "{\"parameterization\": \"standard\", \"layers\"",
        1,
    ))
    .unwrap();
    let std_net =
        Network::from_spec(&ArchSpec::new(Parameterization::Standard, stax_gcnn())).unwrap();
    assert_eq!(std_net.parameterization(), Parameterization::Standard);
    let (a, b) = (
        std_net.kernel(&x, None).unwrap(),
        std_json.kernel(&x, None).unwrap(),
    );
    assert_eq!(a.ntk, b.ntk);
    assert_ne!(a.ntk, net.kernel(&x, None).unwrap().ntk);
}

/// The first `at` images of a batch and the rest.
fn split_batch(x: &Array4<f64>, at: usize) -> (Array4<f64>, Array4<f64>) {
    let (a, b) = x.view().split_at(Axis(0), at);
    (a.to_owned(), b.to_owned())
}

#[test]
fn kernel_returns_both_gram_matrices_of_a_pair_of_batches() {
    let net = Network::serial(stax_gcnn()).unwrap();
    let x = random_images(5, 5, 1, SEED + 1);
    let (x1, x2) = split_batch(&x, 2);
    let full = net.kernel(&x, None).unwrap();
    let cross = net.kernel(&x1, Some(&x2)).unwrap();
    assert_eq!(cross.nngp.dim(), (2, 3));
    // The cross block of the symmetric Gram matrix, computed pair by pair either way.
    let want = (
        full.nngp.slice(s![..2, 2..]).to_owned(),
        full.ntk.slice(s![..2, 2..]).to_owned(),
    );
    assert!(rel_err(&cross.nngp, &want.0) < 1e-13);
    assert!(rel_err(&cross.ntk, &want.1) < 1e-13);
    assert_symmetric_psd(&full.ntk);
}

/// `K(x*, X) K(X, X)⁻¹ Y` by nalgebra's LU: the infinite-time mean, solved independently.
fn solve(train: &Array2<f64>, test_train: &Array2<f64>, y: &Array2<f64>) -> Array2<f64> {
    let n = train.nrows();
    let k = nalgebra::DMatrix::from_fn(n, n, |i, j| train[[i, j]]);
    let yy = nalgebra::DMatrix::from_fn(n, y.ncols(), |i, j| y[[i, j]]);
    let alpha = k.lu().solve(&yy).unwrap();
    Array2::from_shape_fn((test_train.nrows(), y.ncols()), |(i, j)| {
        (0..n).map(|l| test_train[[i, l]] * alpha[(l, j)]).sum()
    })
}

#[test]
fn predict_is_kernel_regression_at_infinite_time() {
    let net = Network::serial(stax_gcnn()).unwrap();
    let x = random_images(8, 5, 1, SEED + 2);
    let (x_train, x_test) = split_batch(&x, 6);
    let y = Array2::from_shape_fn((6, 2), |(i, j)| ((i + 3 * j) as f64 * 0.9).cos());
    let p = net.predict(&x_train, &y, &x_test).unwrap();
    assert!(p.ntk.info.warnings.is_empty() && p.nngp.info.warnings.is_empty());
    let train = net.kernel(&x_train, None).unwrap();
    let cross = net.kernel(&x_test, Some(&x_train)).unwrap();
    assert!(rel_err(&p.ntk.test, &solve(&train.ntk, &cross.ntk, &y)) < 1e-8);
    assert!(rel_err(&p.nngp.test, &solve(&train.nngp, &cross.nngp, &y)) < 1e-8);
    // Trained to convergence, the network interpolates its training data.
    assert!(rel_err(&p.ntk.train, &y) < 1e-8);
    // Targets of another length are refused with a one-line error.
    let e = net
        .predict(&x_train, &y.slice(s![..5, ..]).to_owned(), &x_test)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("kernel regression:") && !e.contains('\n'),
        "{e}"
    );
}

/// `stax::lift_conv` / `stax::group_conv` with a group that is not a built-in planar point
/// group (`so3`, or `cN`/`dN` past the registry's limits) return a one-line error naming it.
#[test]
fn stax_group_layers_refuse_groups_they_cannot_build() {
    let cases = [
        (GroupName::So3, "so3"),
        (GroupName::Cyclic(0), "c0"),
        (GroupName::Cyclic(4096), "c4096"),
        (GroupName::Dihedral(513), "d513"),
    ];
    for (group, name) in cases {
        for (layer, built) in [
            ("lift_conv", stax::lift_conv(group, 3, Padding::Same)),
            ("group_conv", stax::group_conv(group, 3, Padding::Same)),
        ] {
            let message = built.expect_err(name).to_string();
            assert!(
                message.contains(layer) && message.contains(name) && !message.contains('\n'),
                "{message}"
            );
        }
    }
    // The largest built-in names still build.
    assert!(stax::lift_conv(GroupName::Cyclic(1024), 3, Padding::Same).is_ok());
    assert!(stax::group_conv(GroupName::Dihedral(512), 3, Padding::Same).is_ok());
}
