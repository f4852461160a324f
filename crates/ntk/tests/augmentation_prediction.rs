//! docs/theory.md#data-augmentation-and-group-convolution (tested property 6), for predictions: the mean prediction of gradient-flow training of
//! a CNN on the C4-augmented training set (|G| copies, rate η) equals that of the matched GCNN
//! (`group_support: identity`) trained on the un-augmented set at rate η|G|, for every t and for
//! test inputs unlike the training data.

mod common;
use common::*;
use entk_groups::{CyclicGroup, DihedralGroup};
use entk_ntk::augment::{orbit, ImageAction, PointGroupAction};
use entk_ntk::regression::{gradient_flow_mean, GradientFlowOptions, TrainingTime};
use entk_ntk::{GramOptions, Network};
use ndarray::{Array2, Array4};

fn network(layers: &[&str]) -> Network {
    Network::from_json(&spec(layers)).unwrap()
}

/// Smooth structured training images (the test inputs are uniform noise).
fn training_images(n: usize, s: usize) -> Array4<f64> {
    Array4::from_shape_fn((n, s, s, 1), |(b, h, w, _)| {
        ((0.5 + 0.3 * b as f64) * h as f64 + 0.9 * w as f64).sin()
            + 0.2 * (b as f64 - h as f64 * w as f64 / 8.0)
    })
}

fn check(group_name: &str, action: &dyn ImageAction, padding: &str) {
    let order = action.order();
    let cnn = network(&[
        &format!(r#"{{"type": "conv", "filter": 3, "padding": "{padding}"}}"#),
        r#"{"type": "relu"}"#,
        &format!(r#"{{"type": "conv", "filter": 3, "padding": "{padding}", "b_std": 0.2}}"#),
        r#"{"type": "relu"}"#,
        r#"{"type": "global_avg_pool"}"#,
        r#"{"type": "dense", "b_std": 0.1}"#,
    ]);
    let gcnn = network(&[
        &format!(
            r#"{{"type": "lift_conv", "group": "{group_name}", "filter": 3, "padding": "{padding}"}}"#
        ),
        r#"{"type": "relu"}"#,
        &format!(
            r#"{{"type": "group_conv", "group": "{group_name}", "filter": 3, "padding": "{padding}", "group_support": "identity", "b_std": 0.2}}"#
        ),
        r#"{"type": "relu"}"#,
        r#"{"type": "group_pool"}"#,
        r#"{"type": "dense", "b_std": 0.1}"#,
    ]);
    let (n, s) = (4, 5);
    let train = training_images(n, s);
    let test = random_images(3, s, 1, SEED);
    let targets = Array2::from_shape_fn((n, 2), |(i, k)| ((i * 2 + k) as f64 * 1.7).sin());
    let train_aug = orbit(train.view(), action).unwrap();
    let targets_aug = Array2::from_shape_fn((n * order, 2), |(i, k)| targets[[i / order, k]]);
    let opts = GramOptions::default();
    let cnn_tt = cnn.gram(train_aug.view(), None, &opts).unwrap();
    let cnn_xt = cnn
        .gram(test.view(), Some(train_aug.view()), &opts)
        .unwrap();
    let gcnn_tt = gcnn.gram(train.view(), None, &opts).unwrap();
    let gcnn_xt = gcnn.gram(test.view(), Some(train.view()), &opts).unwrap();
    let eta = 0.7;
    for t in [0.05, 1.0, 20.0, f64::INFINITY] {
        let time = TrainingTime::from_f64(t).unwrap();
        for (name, a_tt, a_xt, g_tt, g_xt) in [
            ("ntk", &cnn_tt.ntk, &cnn_xt.ntk, &gcnn_tt.ntk, &gcnn_xt.ntk),
            (
                "nngp",
                &cnn_tt.nngp,
                &cnn_xt.nngp,
                &gcnn_tt.nngp,
                &gcnn_xt.nngp,
            ),
        ] {
            let augmented = GradientFlowOptions {
                learning_rate: eta,
                ..Default::default()
            };
            let equivariant = GradientFlowOptions {
                learning_rate: eta * order as f64,
                ..Default::default()
            };
            let mu_aug = gradient_flow_mean(
                a_tt.view(),
                a_xt.view(),
                targets_aug.view(),
                time,
                &augmented,
            )
            .unwrap();
            let mu_gcnn =
                gradient_flow_mean(g_tt.view(), g_xt.view(), targets.view(), time, &equivariant)
                    .unwrap();
            let err = rel_err(&mu_aug.test, &mu_gcnn.test);
            println!("{group_name} {padding} {name} t={t}: relative difference {err:.2e}");
            assert!(err < 1e-10, "{group_name} {padding} {name} t={t}: {err:e}");
        }
    }
}

#[test]
fn augmented_cnn_and_c4_gcnn_predict_the_same_mean_at_every_time() {
    let action = PointGroupAction {
        group: CyclicGroup::new(4).unwrap(),
    };
    check("c4", &action, "same");
    check("c4", &action, "circular");
}

#[test]
fn augmented_cnn_and_d4_gcnn_predict_the_same_mean_at_every_time() {
    let action = PointGroupAction {
        group: DihedralGroup::new(4).unwrap(),
    };
    check("d4", &action, "same");
}
