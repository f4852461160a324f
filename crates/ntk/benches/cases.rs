//! The benchmark cases, shared by the criterion benches and `examples/speed_probe.rs` (included
//! with `#[path]`): the C4 GCNN and the SO(3) network of issue #14, and their inputs.

use ndarray::Array4;
use rand::{Rng, SeedableRng};

/// The C4 GCNN: lift conv 3×3 SAME, relu, group conv 3×3 SAME (all group elements), relu,
/// group pool, dense.
pub const C4_SPEC: &str = r#"{"layers": [
    {"type": "lift_conv", "group": "c4", "filter": 3, "padding": "same"}, {"type": "relu"},
    {"type": "group_conv", "group": "c4", "filter": 3, "padding": "same", "group_support": "all"}, {"type": "relu"},
    {"type": "group_pool"}, {"type": "dense"}]}"#;

/// `n` random images `s×s×c`, entries uniform in `[−1, 1)` (seeded).
pub fn images(n: usize, s: usize, c: usize) -> Array4<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    Array4::from_shape_fn((n, s, s, c), |_| rng.random_range(-1.0..1.0))
}

/// The SO(3) network at input bandlimit `l`: `s2_lift_conv (L→L/2) – erf – so3_conv – erf –
/// so3_pool – dense`.
pub fn so3_spec(l: usize) -> String {
    let lo = l / 2;
    format!(
        r#"{{"layers": [{{"type": "s2_lift_conv", "bandlimit_out": {lo}}}, {{"type": "erf"}},
            {{"type": "so3_conv", "bandlimit_out": {lo}}}, {{"type": "erf"}}, {{"type": "so3_pool"}}, {{"type": "dense"}}]}}"#
    )
}

/// `n` deterministic S² signals on the `2L × (2L−1)` grid with `channels` channels.
pub fn s2_signals(n: usize, l: usize, channels: usize) -> Array4<f64> {
    Array4::from_shape_fn((n, 2 * l, 2 * l - 1, channels), |(b, j, k, c)| {
        ((b * 7919 + j * 104729 + k * 1299709 + c * 15485863) as f64 * 0.618_033_988_75).sin()
    })
}
