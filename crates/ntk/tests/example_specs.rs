//! Every example spec in `examples/specs/` parses, builds and gives a symmetric 3×3 Gram matrix
//! with positive diagonal on small inputs, so the examples in the docs cannot rot. Specs whose
//! first layer is `s2_lift_conv` get S² inputs `(N, 2L, 2L−1, C)` (here L = 3); the others get
//! 6×6 images with 2 channels, as sets of 1, 2 and 3 images for specs that start with `deep_set`.

use entk_ntk::{image_features, Features, GramOptions, Network};
use ndarray::Array4;
use std::path::PathBuf;

fn examples() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/specs");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_example_spec_computes_a_gram_matrix() {
    let specs = examples();
    assert!(
        specs.len() >= 6,
        "expected ≥ 6 example specs, found {}",
        specs.len()
    );
    for (name, text) in specs {
        let net = Network::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (h, w) = if text.contains("s2_lift_conv") {
            (6, 5)
        } else {
            (6, 6)
        };
        let x = Array4::from_shape_fn((3, h, w, 2), |(n, i, j, c)| {
            ((n * 31 + i * 7 + j * 3 + c * 5) as f64 * 0.37).sin()
        });
        let g = if net.takes_sets() {
            let images: Vec<Features> = x.outer_iter().map(image_features).collect();
            let sets: Vec<Features> = (1..=3)
                .map(|n| Features::set(images[0].sig.clone(), &images[..n]).unwrap())
                .collect();
            net.gram_features(&sets, None, &GramOptions::default())
        } else {
            net.gram(x.view(), None, &GramOptions::default())
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        for k in [&g.nngp, &g.ntk] {
            assert_eq!(k.dim(), (3, 3), "{name}");
            for i in 0..3 {
                assert!(
                    k[[i, i]].is_finite() && k[[i, i]] > 0.0,
                    "{name}: diagonal {k:?}"
                );
                for j in 0..3 {
                    let tol = 1e-10 * k[[i, i]].max(k[[j, j]]);
                    assert!(
                        (k[[i, j]] - k[[j, i]]).abs() <= tol,
                        "{name}: not symmetric {k:?}"
                    );
                    assert!(
                        k[[i, j]].powi(2) <= k[[i, i]] * k[[j, j]] * (1.0 + 1e-10),
                        "{name}: Cauchy–Schwarz {k:?}"
                    );
                }
            }
        }
    }
}
