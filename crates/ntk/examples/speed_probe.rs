//! One Gram computation of a named case, for profilers (`valgrind --tool=callgrind`,
//! `/usr/bin/time -v`, `perf`) and for checking that a speed change left the results bitwise
//! identical: it prints the wall time per pair and a 64-bit FNV-1a hash of the Gram's bits.
//!
//! `cargo run --release -p entk-ntk --example speed_probe -- CASE [N] [THREADS]`, CASE one of
//! `c4-16` (16×16×3 images), `c4-28` (28×28×1), `c8-28` (C8, 28×28×1, full layout), `so3-6`,
//! `so3-8` (16 S² signals, 10 channels, L = 6 / 8); N inputs (default 4), THREADS (default 1).

use std::time::Instant;

use entk_ntk::{GramOptions, Network};
use ndarray::Array4;
use rand::{Rng, SeedableRng};

const C4: &str = r#"{"layers": [
    {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
    {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same", "group_support": "all"}, {"type": "relu"},
    {"type": "group_pool"}, {"type": "dense"}]}"#;

fn images(n: usize, s: usize, c: usize) -> Array4<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    Array4::from_shape_fn((n, s, s, c), |_| rng.random_range(-1.0..1.0))
}

fn s2_signals(n: usize, l: usize, channels: usize) -> Array4<f64> {
    Array4::from_shape_fn((n, 2 * l, 2 * l - 1, channels), |(b, j, k, c)| {
        ((b * 7919 + j * 104729 + k * 1299709 + c * 15485863) as f64 * 0.618_033_988_75).sin()
    })
}

fn so3_spec(l: usize) -> String {
    let lo = l / 2;
    format!(
        r#"{{"layers": [{{"type": "s2_lift_conv", "bandlimit_out": {lo}}}, {{"type": "erf"}},
            {{"type": "so3_conv", "bandlimit_out": {lo}}}, {{"type": "erf"}}, {{"type": "so3_pool"}}, {{"type": "dense"}}]}}"#
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let case = args.first().map_or("c4-16", |s| s.as_str());
    let n: usize = args.get(1).map_or(4, |s| s.parse().expect("N"));
    let threads: usize = args.get(2).map_or(1, |s| s.parse().expect("THREADS"));
    let (spec, x) = match case {
        "c4-16" => (C4.to_string(), images(n, 16, 3)),
        "c4-28" => (C4.to_string(), images(n, 28, 1)),
        "c8-28" => (C4.replace("c4", "c8"), images(n, 28, 1)),
        "so3-6" => (so3_spec(6), s2_signals(n, 6, 10)),
        "so3-8" => (so3_spec(8), s2_signals(n, 8, 10)),
        other => panic!("unknown case {other}"),
    };
    let net = Network::from_json(&spec).expect("spec");
    let opts = GramOptions {
        threads,
        ..Default::default()
    };
    let start = Instant::now();
    let g = net.gram(x.view(), None, &opts).expect("gram");
    let secs = start.elapsed().as_secs_f64();
    let pairs = n * (n + 1) / 2;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for v in g.nngp.iter().chain(g.ntk.iter()) {
        for b in v.to_bits().to_le_bytes() {
            hash = (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!(
        "{case} n={n} threads={threads}: {:.3} s, {:.3e} s per pair, K[0,1]={:.17e} Θ[0,1]={:.17e}, hash {hash:016x}",
        secs,
        secs / pairs as f64,
        g.nngp[[0, n.min(2) - 1]],
        g.ntk[[0, n.min(2) - 1]]
    );
}
