//! docs/theory.md#tested-properties, property 8: the mean empirical NTK/NNGP of a deep C4 GCNN approaches the analytic
//! kernels as the width grows. Tolerance: 4 standard errors of the Monte-Carlo mean plus a
//! finite-width bias allowance of `c/width` (bias falls as 1/width).

mod common;
use common::*;
use entk_ntk::finite::monte_carlo_gram;
use entk_ntk::{ArchSpec, Network};

#[test]
fn mean_empirical_kernels_of_a_deep_gcnn_approach_the_analytic_ones() {
    let spec = ArchSpec::from_json(&spec(&[
        r#"{"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same", "b_std": 0.2}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "group_conv", "group": "c4", "filter": 3, "padding": "same"}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "group_pool"}"#,
        r#"{"type": "dense"}"#,
    ]))
    .unwrap();
    let x = random_images(2, 4, 1, SEED);
    let (nngp, ntk) = gram(&Network::from_spec(&spec).unwrap(), &x);
    let mut errors = Vec::new();
    for (width, samples) in [(4, 200), (16, 200), (64, 200)] {
        let mc = monte_carlo_gram(&spec, width, samples, SEED, x.view(), None).unwrap();
        let mut worst_z: f64 = 0.0;
        let mut worst_rel: f64 = 0.0;
        let mut ntk_rel: f64 = 0.0;
        for (name, mean, se, exact) in [
            ("nngp", &mc.nngp, &mc.nngp_stderr, &nngp),
            ("ntk", &mc.ntk, &mc.ntk_stderr, &ntk),
        ] {
            for ((m, s), e) in mean.iter().zip(se.iter()).zip(exact.iter()) {
                let rel = (m - e).abs() / e.abs();
                worst_rel = worst_rel.max(rel);
                if name == "ntk" {
                    ntk_rel = ntk_rel.max(rel);
                }
                worst_z = worst_z.max((m - e).abs() / s);
                if width >= 16 {
                    // 4 standard errors + a 1/width bias allowance.
                    assert!(
                        (m - e).abs() <= 4.0 * s + 0.5 / width as f64 * e.abs(),
                        "{name} width {width}: mean {m}, analytic {e}, stderr {s}"
                    );
                }
            }
        }
        // The NNGP of a width-1 readout does not concentrate with width (one Gaussian output),
        // so its relative error stays O(1/√samples); the NTK concentrates as width grows.
        println!("width {width:>3}, {samples} samples: NTK worst relative error {ntk_rel:.3e}, NNGP+NTK worst {worst_rel:.3e}, worst |error|/stderr {worst_z:.2}");
        errors.push(worst_rel);
    }
}
