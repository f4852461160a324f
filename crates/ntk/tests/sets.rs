//! `deep_set` (docs/theory.md "Sets"): a shared element network summed (or averaged) over the
//! elements of each set, `K(A, B) = w_A w_B Σ_i Σ_j K_g(A_i, B_j)` and the same for `Θ`.
//!
//! Checked three ways: against the brute-force double sum of the element network's own kernels
//! (computed by the plain engine, without `deep_set`), by exact identities (invariance under
//! permutations of the elements, symmetry and PSD, the element-Gram path against the per-pair
//! path, a single linear layer's finite NTK equal to the analytic one), and by Monte Carlo of the
//! finite twin with shared weights.

mod common;
use common::*;

use entk_ntk::finite::{empirical_gram_features, monte_carlo_gram_features};
use entk_ntk::layers::{sets_from_padded, DeepSet, Dense, SetReduce};
use entk_ntk::{Affine, ArchSpec, Features, GramOptions, Layer, Layout, Network, Signature};
use ndarray::{Array2, ArrayD, Dimension, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Sets of random elements of signature `sig` with the given sizes. Set `sizes.len()` (one
/// more) repeats element 0 of set 0 and the last element of set 1, so sets share elements.
fn random_sets(sig: &Signature, sizes: &[usize], seed: u64) -> Vec<Features> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let len = sig.feature_len();
    let mut sets: Vec<Features> = sizes
        .iter()
        .map(|&n| Features {
            sig: sig.clone(),
            data: (0..n * len).map(|_| rng.random_range(-1.0..1.0)).collect(),
        })
        .collect();
    let e0 = sets[0].set_elements().unwrap()[0].clone();
    let e1 = sets[1].set_elements().unwrap().last().unwrap().clone();
    sets.push(Features::set(sig.clone(), &[e1, e0]).unwrap());
    sets
}

fn vectors(d: usize) -> Signature {
    Signature {
        layout: Layout::Scalar,
        channels: d,
    }
}

fn images(h: usize, w: usize, c: usize) -> Signature {
    Signature {
        layout: Layout::Pixels { h, w },
        channels: c,
    }
}

fn deep_set(reduce: &str, inner: &[&str], head: &[&str]) -> String {
    let mut layers = vec![format!(
        r#"{{"type": "deep_set", "reduce": "{reduce}", "layers": [{}]}}"#,
        inner.join(",")
    )];
    layers.extend(head.iter().map(|s| s.to_string()));
    format!(r#"{{"layers": [{}]}}"#, layers.join(","))
}

/// `w_A w_B Σ_i Σ_j` of the element network's kernels, each pair by the plain engine.
fn brute_force(inner: &Network, mean: bool, a: &Features, b: &Features) -> (f64, f64) {
    let (ea, eb) = (a.set_elements().unwrap(), b.set_elements().unwrap());
    let (mut k, mut t) = (0.0, 0.0);
    for x in &ea {
        for y in &eb {
            let p = inner.kernel_pair_features(x, y).unwrap();
            k += p.nngp[0];
            t += p.ntk[0];
        }
    }
    let w = if mean {
        1.0 / (ea.len() * eb.len()) as f64
    } else {
        1.0
    };
    (w * k, w * t)
}

fn brute_force_gram(
    inner: &Network,
    mean: bool,
    x1: &[Features],
    x2: &[Features],
) -> (Array2<f64>, Array2<f64>) {
    let mut k = Array2::zeros((x1.len(), x2.len()));
    let mut t = Array2::zeros((x1.len(), x2.len()));
    for (i, a) in x1.iter().enumerate() {
        for (j, b) in x2.iter().enumerate() {
            (k[[i, j]], t[[i, j]]) = brute_force(inner, mean, a, b);
        }
    }
    (k, t)
}

fn set_gram(net: &Network, x1: &[Features], x2: Option<&[Features]>) -> (Array2<f64>, Array2<f64>) {
    let g = net.gram_features(x1, x2, &GramOptions::default()).unwrap();
    (g.nngp, g.ntk)
}

/// The set kernel pair by pair (`deep_set`'s own double sum over its prepared elements).
fn per_pair_gram(net: &Network, x1: &[Features], x2: &[Features]) -> (Array2<f64>, Array2<f64>) {
    let mut k = Array2::zeros((x1.len(), x2.len()));
    let mut t = Array2::zeros((x1.len(), x2.len()));
    for (i, a) in x1.iter().enumerate() {
        for (j, b) in x2.iter().enumerate() {
            let p = net.kernel_pair_features(a, b).unwrap();
            (k[[i, j]], t[[i, j]]) = (p.nngp[0], p.ntk[0]);
        }
    }
    (k, t)
}

/// Element networks whose output is one scalar per element (the element-Gram path), on vectors,
/// images and S² signals (whose first layer has prepared-input summaries), and one whose
/// element output is an image (the per-pair path), pooled after the set sum.
fn cases() -> Vec<(
    &'static str,
    Vec<&'static str>,
    Vec<&'static str>,
    Signature,
)> {
    vec![
        (
            "mlp",
            vec![
                r#"{"type": "dense", "b_std": 0.3}"#,
                r#"{"type": "relu"}"#,
                r#"{"type": "dense", "w_std": 1.2}"#,
            ],
            vec![],
            vectors(3),
        ),
        (
            "cnn",
            vec![
                r#"{"type": "conv", "filter": 3, "padding": "same", "b_std": 0.1}"#,
                r#"{"type": "erf"}"#,
                r#"{"type": "global_avg_pool"}"#,
                r#"{"type": "dense"}"#,
            ],
            vec![],
            images(4, 4, 2),
        ),
        (
            "so3",
            vec![
                r#"{"type": "s2_lift_conv", "bandlimit_out": 2}"#,
                r#"{"type": "erf"}"#,
                r#"{"type": "so3_conv", "bandlimit_out": 2}"#,
                r#"{"type": "erf"}"#,
                r#"{"type": "so3_pool"}"#,
                r#"{"type": "dense"}"#,
            ],
            vec![],
            images(4, 3, 2),
        ),
        (
            "cnn, pooled after the set sum",
            vec![
                r#"{"type": "conv", "filter": 3, "padding": "same"}"#,
                r#"{"type": "relu"}"#,
                r#"{"type": "conv", "filter": 3, "padding": "same"}"#,
            ],
            vec![r#"{"type": "global_avg_pool"}"#, r#"{"type": "dense"}"#],
            images(4, 4, 1),
        ),
    ]
}

#[test]
fn set_kernels_equal_the_brute_force_double_sum_of_element_kernels() {
    for (name, inner, head, sig) in cases() {
        for reduce in ["sum", "mean"] {
            let net = Network::from_json(&deep_set(reduce, &inner, &head)).unwrap();
            // The element network alone, with the (linear) head appended: a linear map of the
            // sum is the sum of the linear maps.
            let mut alone = inner.clone();
            alone.extend(head.iter());
            let alone = Network::from_json(&spec(&alone)).unwrap();
            let sets = random_sets(&sig, &[3, 1, 4, 2], SEED);
            let (bk, bt) = brute_force_gram(&alone, reduce == "mean", &sets, &sets);
            let (k, t) = set_gram(&net, &sets, None);
            let (pk, pt) = per_pair_gram(&net, &sets, &sets);
            let (x1, x2) = sets.split_at(2);
            let (ck, ct) = set_gram(&net, x1, Some(x2));
            let (cbk, cbt) = brute_force_gram(&alone, reduce == "mean", x1, x2);
            let errs = [
                rel_err(&k, &bk),
                rel_err(&t, &bt),
                rel_err(&pk, &bk),
                rel_err(&pt, &bt),
                rel_err(&ck, &cbk),
                rel_err(&ct, &cbt),
            ];
            println!("{name} ({reduce}): relative errors {errs:?}");
            for e in errs {
                assert!(e <= 1e-12, "{name} ({reduce}): {errs:?}");
            }
            assert!(bk.iter().all(|v| v.abs() > 0.0), "{name}: a trivial kernel");
        }
    }
}

/// docs/theory.md#nonlinearities-dual-activations: the ReLU dual `(√(k11k22 − k12²) + (π−θ)k12)/(2π)` and `E[φ′φ′] = (π−θ)/(2π)`.
fn relu_dual(k11: f64, k22: f64, k12: f64, t12: f64) -> (f64, f64) {
    let s = (k11 * k22 - k12 * k12).max(0.0).sqrt();
    let theta = s.atan2(k12);
    let pi = std::f64::consts::PI;
    let k = (s + (pi - theta) * k12) / (2.0 * pi);
    (k, t12 * (pi - theta) / (2.0 * pi))
}

#[test]
fn layers_after_the_set_pool_act_on_the_pooled_kernel() {
    let inner = [
        r#"{"type": "dense", "b_std": 0.5}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "dense"}"#,
    ];
    let net = Network::from_json(&deep_set(
        "sum",
        &inner,
        &[r#"{"type": "relu"}"#, r#"{"type": "dense", "w_std": 1.5}"#],
    ))
    .unwrap();
    let alone = Network::from_json(&spec(&inner)).unwrap();
    let sets = random_sets(&vectors(2), &[2, 3, 1], SEED + 1);
    let (pk, pt) = brute_force_gram(&alone, false, &sets, &sets);
    // relu, then dense(w_std 1.5): K ← 2.25 K, Θ ← K_new + 2.25 Θ.
    let n = sets.len();
    let mut ek = Array2::zeros((n, n));
    let mut et = Array2::zeros((n, n));
    for i in 0..n {
        for j in 0..n {
            let (k, t) = relu_dual(pk[[i, i]], pk[[j, j]], pk[[i, j]], pt[[i, j]]);
            ek[[i, j]] = 2.25 * k;
            et[[i, j]] = 2.25 * k + 2.25 * t;
        }
    }
    let (k, t) = set_gram(&net, &sets, None);
    let (x1, x2) = sets.split_at(1);
    let (ck, ct) = set_gram(&net, x1, Some(x2));
    let (pk2, pt2) = per_pair_gram(&net, &sets, &sets);
    for (name, a, b) in [
        ("nngp", &k, &ek),
        ("ntk", &t, &et),
        ("per-pair nngp", &pk2, &ek),
        ("per-pair ntk", &pt2, &et),
    ] {
        assert!(rel_err(a, b) <= 1e-12, "{name}: {}", rel_err(a, b));
    }
    let cross_expected = ek.slice(ndarray::s![..1, 1..]).to_owned();
    let cross_expected_t = et.slice(ndarray::s![..1, 1..]).to_owned();
    assert!(rel_err(&ck, &cross_expected) <= 1e-12);
    assert!(rel_err(&ct, &cross_expected_t) <= 1e-12);
}

/// Reverses, then rotates, the elements of every set.
fn permuted(sets: &[Features]) -> Vec<Features> {
    sets.iter()
        .map(|s| {
            let mut e = s.set_elements().unwrap();
            e.reverse();
            let n = e.len();
            e.rotate_left(n / 2);
            Features::set(s.sig.clone(), &e).unwrap()
        })
        .collect()
}

#[test]
fn permuting_the_elements_of_a_set_changes_no_kernel() {
    for (name, inner, head, sig) in cases() {
        let net = Network::from_json(&deep_set("sum", &inner, &head)).unwrap();
        let sets = random_sets(&sig, &[4, 3, 5], SEED + 2);
        let perm = permuted(&sets);
        assert_ne!(perm[0].data, sets[0].data, "the permutation moves elements");
        let (k, t) = set_gram(&net, &sets, None);
        let (pk, pt) = set_gram(&net, &perm, None);
        let (xk, xt) = set_gram(&net, &perm, Some(&sets));
        let (qk, qt) = per_pair_gram(&net, &perm, &sets);
        for (a, b) in [
            (&pk, &k),
            (&pt, &t),
            (&xk, &k),
            (&xt, &t),
            (&qk, &k),
            (&qt, &t),
        ] {
            assert!(rel_err(a, b) <= 1e-12, "{name}: {}", rel_err(a, b));
        }
    }
}

#[test]
fn set_grams_are_exactly_symmetric_and_positive_semidefinite() {
    let (_, inner, head, sig) = cases().remove(1);
    let net = Network::from_json(&deep_set("mean", &inner, &head)).unwrap();
    let sets = random_sets(&sig, &[1, 2, 3, 4, 5, 2, 1], SEED + 3);
    let (k, t) = set_gram(&net, &sets, None);
    for m in [&k, &t] {
        assert_eq!(m, &m.t().to_owned(), "exactly symmetric");
        let top = m.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let low = min_eigenvalue(m);
        assert!(low >= -1e-12 * top, "min eigenvalue {low:e} of max {top:e}");
    }
    // The cross routine on the same sets agrees with the symmetric one up to rounding.
    let (ck, ct) = set_gram(&net, &sets, Some(&sets));
    assert!(rel_err(&ck, &k) <= 1e-13 && rel_err(&ct, &t) <= 1e-13);
}

#[test]
fn a_single_linear_layer_has_finite_ntk_equal_to_the_analytic_one() {
    // f(A) = w_A Σ_i σ_w/√D · W A_i: the NTK is w_A w_B σ_w²/D (Σ A_i)·(Σ B_j) for any W.
    for reduce in ["sum", "mean"] {
        let text = deep_set(
            reduce,
            &[r#"{"type": "dense", "w_std": 1.3, "width": 3}"#],
            &[],
        );
        let net = Network::from_json(&text).unwrap();
        let sets = random_sets(&vectors(4), &[2, 5, 1], SEED + 4);
        let params = net.init_seeded(&vectors(4), SEED).unwrap();
        let (_, et) = empirical_gram_features(&net, &params, &sets, None).unwrap();
        let (_, t) = set_gram(&net, &sets, None);
        let err = rel_err(&et, &t);
        assert!(err <= 1e-13, "{reduce}: {err}");
    }
}

#[test]
fn the_finite_twin_with_shared_weights_converges_to_the_set_kernel() {
    // Monte Carlo over initialisations: mean empirical kernels within 4 standard errors plus a
    // 1/width bias allowance of the analytic ones (as tests/monte_carlo.rs).
    let text = deep_set(
        "sum",
        &[
            r#"{"type": "dense", "b_std": 0.3}"#,
            r#"{"type": "relu"}"#,
            r#"{"type": "dense"}"#,
        ],
        &[r#"{"type": "relu"}"#, r#"{"type": "dense"}"#],
    );
    let spec = ArchSpec::from_json(&text).unwrap();
    let sets = random_sets(&vectors(3), &[2, 3], SEED + 5);
    let (k, t) = set_gram(&Network::from_spec(&spec).unwrap(), &sets, None);
    let width = 64;
    let mc = monte_carlo_gram_features(&spec, width, 300, SEED, &sets, None).unwrap();
    let worst = assert_monte_carlo_agrees(&mc, (&k, &t), width, 0.5);
    println!("worst |mean − analytic| / stderr: {worst:.2}");
    // The check can fail: the per-slot kernel Σ_i K(A_i, B_i) of the same sets lies far outside.
    let alone = Network::from_json(&spec_of_inner()).unwrap();
    let (a, b) = (
        sets[0].set_elements().unwrap(),
        sets[1].set_elements().unwrap(),
    );
    let slot: f64 = a
        .iter()
        .zip(&b)
        .map(|(x, y)| alone.kernel_pair_features(x, y).unwrap().nngp[0])
        .sum();
    assert!((slot - mc.nngp[[0, 1]]).abs() > 4.0 * mc.nngp_stderr[[0, 1]]);
}

fn spec_of_inner() -> String {
    spec(&[
        r#"{"type": "dense", "b_std": 0.3}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "dense"}"#,
    ])
}

#[test]
fn empty_sets_give_zero_kernels_with_sum_and_an_error_with_mean() {
    let inner = [
        r#"{"type": "dense"}"#,
        r#"{"type": "relu"}"#,
        r#"{"type": "dense"}"#,
    ];
    let mut sets = random_sets(&vectors(2), &[2, 3], SEED + 6);
    sets.push(Features::set(vectors(2), &[]).unwrap());
    let net = Network::from_json(&deep_set("sum", &inner, &[])).unwrap();
    let (k, t) = set_gram(&net, &sets, None);
    assert!(k.row(3).iter().chain(t.row(3)).all(|v| *v == 0.0));
    assert!(k[[0, 1]] != 0.0);
    let net = Network::from_json(&deep_set("mean", &inner, &[])).unwrap();
    let e = net
        .gram_features(&sets, None, &GramOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty") && e.contains("reduce"), "{e}");
}

#[test]
fn malformed_sets_are_one_line_errors() {
    let one_line = |e: String| {
        assert_eq!(e.lines().count(), 1, "{e}");
        e
    };
    let padded = |shape: &[usize], f: &dyn Fn(&[usize]) -> f64| {
        ArrayD::from_shape_fn(IxDyn(shape), |i| f(i.slice()))
    };
    // (2 sets, 3 slots, D = 2); set 0 has 2 elements, set 1 has 3.
    let x = padded(&[2, 3, 2], &|i| {
        if i[0] == 0 && i[1] == 2 {
            0.0
        } else {
            1.0 + i[2] as f64
        }
    });
    assert_eq!(
        sets_from_padded("x1", x.view(), &[2, 3]).unwrap()[0]
            .set_len()
            .unwrap(),
        2
    );
    let err = |x: &ArrayD<f64>, c: &[usize]| {
        one_line(sets_from_padded("x1", x.view(), c).unwrap_err().to_string())
    };
    let e = err(&x, &[2, 4]);
    assert!(
        e.contains("set 1") && e.contains("count 4") && e.contains("3 element slots"),
        "{e}"
    );
    let e = err(&x, &[1, 3]);
    assert!(
        e.contains("set 0") && e.contains("padding slot 1") && e.contains("zero"),
        "{e}"
    );
    let e = err(&x, &[2]);
    assert!(e.contains("2 sets but 1 counts"), "{e}");
    let mut y = x.clone();
    y[[1, 0, 1]] = f64::NAN;
    let e = err(&y, &[2, 3]);
    assert!(e.contains("set 1 element 0") && e.contains("NaN"), "{e}");
    let z = padded(&[2, 3, 2, 2], &|_| 1.0);
    let e = err(&z, &[1, 1]);
    assert!(
        e.contains("(N, n_max, D)") && e.contains("[2, 3, 2, 2]"),
        "{e}"
    );
    let w = padded(&[2, 3, 0], &|_| 1.0);
    assert!(err(&w, &[1, 1]).contains("no values"));
    // Images: (N, n_max, H, W, C).
    let im = padded(&[1, 2, 3, 3, 1], &|i| i[2] as f64 + 1.0);
    let s = sets_from_padded("x2", im.view(), &[2]).unwrap();
    assert_eq!(
        (s[0].sig.clone(), s[0].set_len().unwrap()),
        (images(3, 3, 1), 2)
    );

    // A set whose data is not whole elements.
    let net = Network::from_json(&deep_set("sum", &[r#"{"type": "dense"}"#], &[])).unwrap();
    let bad = Features {
        sig: vectors(3),
        data: vec![1.0; 5],
    };
    let e = one_line(
        net.gram_features(std::slice::from_ref(&bad), None, &GramOptions::default())
            .unwrap_err()
            .to_string(),
    );
    assert!(
        e.contains("5 values") && e.contains("whole number of elements"),
        "{e}"
    );
    assert!(net.kernel_pair_features(&bad, &bad).is_err());
    assert!(Features::set(vectors(3), &[bad]).is_err());
}

#[test]
fn deep_set_must_be_the_first_layer() {
    let ds = r#"{"type": "deep_set", "layers": [{"type": "dense"}]}"#;
    for (text, what) in [
        (spec(&[r#"{"type": "dense"}"#, ds]), "layer 1"),
        (
            spec(&[&format!(r#"{{"type": "serial", "layers": [{ds}]}}"#)]),
            "layer 0 > layer 0",
        ),
        (
            spec(&[&format!(r#"{{"type": "deep_set", "layers": [{ds}]}}"#)]),
            "layer 0 > layer 0",
        ),
    ] {
        let e = ArchSpec::from_json(&text).unwrap_err().to_string();
        assert!(e.contains(what) && e.contains("first layer"), "{e}");
    }
    for (text, what) in [
        (r#"{"type": "deep_set", "layers": []}"#, "non-empty"),
        (r#"{"type": "deep_set"}"#, "non-empty"),
        (
            r#"{"type": "deep_set", "reduce": "max", "layers": [{"type": "dense"}]}"#,
            "sum, mean",
        ),
        (
            r#"{"type": "deep_set", "pool": "sum", "layers": [{"type": "dense"}]}"#,
            "unknown field `pool`",
        ),
    ] {
        let e = ArchSpec::from_json(&spec(&[text])).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
    }
    // The Rust API: a network built by hand is refused when planned.
    let inner: Vec<Box<dyn Layer>> = vec![Box::new(Dense::new(Affine::default()))];
    let ds = DeepSet::new(inner, SetReduce::Sum).unwrap();
    let net = Network::new(vec![Box::new(Dense::new(Affine::default())), Box::new(ds)]);
    let e = net.plan(&vectors(2)).unwrap_err().to_string();
    assert!(
        e.contains("layer 1 (`deep_set`)") && e.contains("first layer"),
        "{e}"
    );
    assert!(DeepSet::new(vec![], SetReduce::Mean).is_err());
}
