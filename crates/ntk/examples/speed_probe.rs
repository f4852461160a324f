//! One Gram computation of a named case, for profilers (`valgrind --tool=callgrind`,
//! `/usr/bin/time -v`, `perf`) and for checking that a speed change left the results bitwise
//! identical: it prints the wall time per pair and a 64-bit FNV-1a hash of the Gram's bits.
//!
//! `cargo run --release -p entk-ntk --example speed_probe -- CASE [N] [THREADS]`, CASE one of
//! `c4-16` (16×16×3 images), `c4-28` (28×28×1), `c8-28` (C8, 28×28×1, full layout), `so3-L`
//! (S² signals with 10 channels at bandlimit L, `s2_lift_conv L→L/2 – erf – so3_conv – erf –
//! so3_pool – dense`); N inputs (default 4), THREADS (default 1).
//!
//! `… --example speed_probe -- spec CASE FILE` writes the case's spec (JSON) to FILE and
//! `… -- npy CASE N FILE` its N inputs (`.npy`), for timing `entk kernel` on the same work;
//! `… -- simd` prints the vector level the kernels use.

use std::time::Instant;

use entk_ntk::{GramOptions, Network};
use ndarray::Array4;

#[path = "../benches/cases.rs"]
#[allow(dead_code)]
mod cases;
use cases::{images, s2_signals, so3_spec, C4_SPEC as C4};

fn case(case: &str, n: usize) -> (String, Array4<f64>) {
    match case {
        "c4-16" => (C4.to_string(), images(n, 16, 3)),
        "c4-28" => (C4.to_string(), images(n, 28, 1)),
        "c8-28" => (C4.replace("c4", "c8"), images(n, 28, 1)),
        other => match other.strip_prefix("so3-").and_then(|l| l.parse().ok()) {
            Some(l) => (so3_spec(l), s2_signals(n, l, 10)),
            None => panic!("unknown case {other}"),
        },
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(|s| s.as_str()) {
        Some("spec") => {
            let (spec, _) = case(&args[1], 1);
            std::fs::write(&args[2], spec).expect("write the spec");
            return;
        }
        Some("simd") => {
            println!(
                "{} (available: {:?})",
                entk_ntk::SimdLevel::current(),
                entk_ntk::SimdLevel::available()
            );
            return;
        }
        Some("npy") => {
            let (_, x) = case(&args[1], args[2].parse().expect("N"));
            ndarray_npy::write_npy(&args[3], &x).expect("write the inputs");
            return;
        }
        _ => {}
    }
    let case_name = args.first().map_or("c4-16", |s| s.as_str());
    let n: usize = args.get(1).map_or(4, |s| s.parse().expect("N"));
    let threads: usize = args.get(2).map_or(1, |s| s.parse().expect("THREADS"));
    let (spec, x) = case(case_name, n);
    let case = case_name;
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
