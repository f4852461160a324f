//! How the SO(3) kernel's time and memory grow with the bandlimit: Gram matrices of 4 random
//! S² signals (10 channels) for `s2_lift_conv (L→L/2) – erf – so3_conv (L/2→L/2) – erf –
//! so3_pool – dense`, for L = 4, 6, 8, 12, 16. Run with
//! `cargo run --release -p entk-ntk --example so3_scaling`.

use std::time::Instant;

use entk_ntk::{GramOptions, Network};
use ndarray::Array4;

fn main() {
    println!("| L | L_out | values per pair kernel | plan bytes per pair | seconds per pair (1 thread) |");
    println!("|---|---|---|---|---|");
    for l in [4, 6, 8, 12, 16] {
        let lo = l / 2;
        let spec = format!(
            r#"{{"layers": [{{"type": "s2_lift_conv", "bandlimit_out": {lo}}}, {{"type": "erf"}},
                {{"type": "so3_conv", "bandlimit_out": {lo}}}, {{"type": "erf"}}, {{"type": "so3_pool"}}, {{"type": "dense"}}]}}"#
        );
        let net = Network::from_json(&spec).expect("valid spec");
        let n = 4;
        let x = Array4::from_shape_fn((n, 2 * l, 2 * l - 1, 10), |(b, j, k, c)| {
            ((b * 7919 + j * 104729 + k * 1299709 + c * 15485863) as f64 * 0.618_033_988_75).sin()
        });
        let plan = net
            .plan(&Network::image_signature(2 * l, 2 * l - 1, 10))
            .expect("plan");
        let opts = GramOptions {
            threads: 1,
            ..Default::default()
        };
        let _ = net
            .gram(x.view(), None, &opts)
            .expect("warm-up builds the operators");
        let start = Instant::now();
        let _ = net.gram(x.view(), None, &opts).expect("gram");
        let pairs = n * (n + 1) / 2;
        let per_pair = start.elapsed().as_secs_f64() / pairs as f64;
        let (d, p) = entk_ntk::so3::So3PairKernel::dims(lo);
        println!(
            "| {l} | {lo} | {} | {} | {per_pair:.2e} |",
            d * p * p,
            plan.bytes_per_pair
        );
    }
}
