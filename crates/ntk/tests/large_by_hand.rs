//! The n = 100, 28×28 C4 GCNN Gram matrix, timed once by hand (ignored by default):
//! `cargo test -p entk-ntk --release --test large_by_hand -- --ignored --nocapture`.

use entk_ntk::{GramOptions, Network};
use ndarray::Array4;
use rand::{Rng, SeedableRng};

#[test]
#[ignore = "slow: minutes; run by hand"]
fn c4_gcnn_ntk_n100_28x28() {
    let net = Network::from_json(r#"{"layers": [
        {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
        {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same", "group_support": "all"}, {"type": "relu"},
        {"type": "group_pool"}, {"type": "dense"}]}"#)
    .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let x = Array4::from_shape_fn((100, 28, 28, 1), |_| rng.random_range(-1.0..1.0));
    let plan = net.plan(&Network::image_signature(28, 28, 1)).unwrap();
    println!(
        "{plan}\nestimated peak bytes (2 threads): {}",
        plan.peak_bytes(100, None, 2)
    );
    let t = std::time::Instant::now();
    let g = net.gram(x.view(), None, &GramOptions::default()).unwrap();
    println!(
        "n=100 28×28: {:.1} s, ntk[0,1] = {}",
        t.elapsed().as_secs_f64(),
        g.ntk[[0, 1]]
    );
}
