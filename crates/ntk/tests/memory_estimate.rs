//! The plan's peak-memory estimate against the measured peak resident memory of a Gram
//! computation, for a group with the relative layout (C4) and two that need the full `|G|²`
//! layout (C8, D16). Linux only (`/proc/self/status`). Each case runs in a fresh process (this
//! test binary re-run on one ignored case), since a process that already computed something
//! keeps freed memory mapped and would measure the allocator, not the engine.
//!
//! Asserted: estimate / measured peak within [0.85, 1.15]; the measured ratios are printed.

use std::process::Command;

use entk_ntk::{GramOptions, Network};
use ndarray::Array4;

fn status_kb(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Inputs per case: enough pairs for the per-thread buffer pool to reach its steady state.
const N: usize = 4;
const CASES: [(&str, usize); 3] = [("c4", 24), ("c8", 12), ("d16", 6)];

/// One case, run by [`estimate_against_measured_peak`] in a child process; prints the ratio.
#[test]
#[ignore = "run by estimate_against_measured_peak in a fresh process"]
fn memory_case() {
    let Ok(group) = std::env::var("ENTK_MEMORY_CASE") else {
        return;
    };
    let side = CASES.iter().find(|c| c.0 == group).expect("known case").1;
    let spec = format!(
        r#"{{"layers": [{{"type": "lift_conv", "group": "{group}", "filter": 3, "padding": "same"}},
            {{"type": "relu"}},
            {{"type": "group_conv", "filter": 3, "padding": "same", "group_support": "identity"}},
            {{"type": "relu"}}, {{"type": "group_pool"}}, {{"type": "dense"}}]}}"#
    );
    let net = Network::from_json(&spec).unwrap();
    let x = Array4::from_shape_fn((N, side, side, 1), |(b, h, w, _)| {
        ((0.7 * h as f64 + 1.3 * w as f64 + b as f64).sin()) + 0.1
    });
    let plan = net.plan(&Network::image_signature(side, side, 1)).unwrap();
    let estimate = plan.peak_bytes(N, None, 1) as f64;
    let before = status_kb("VmRSS:").unwrap() as f64 * 1024.0;
    let opts = GramOptions {
        threads: 1,
        ..GramOptions::default()
    };
    net.gram(x.view(), None, &opts).unwrap();
    let peak = status_kb("VmHWM:").unwrap() as f64 * 1024.0 - before;
    println!("RATIO {} {estimate} {peak}", estimate / peak);
}

#[test]
fn estimate_against_measured_peak() {
    if status_kb("VmHWM:").is_none() {
        eprintln!("skipped: no /proc/self/status on this system");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for (group, side) in CASES {
        let out = Command::new(&exe)
            .args([
                "memory_case",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("ENTK_MEMORY_CASE", group)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find_map(|l| l.find("RATIO ").map(|i| &l[i + 6..]))
            .unwrap_or_else(|| panic!("{group}: no measurement in {text}"));
        let v: Vec<f64> = line.split(' ').map(|t| t.parse().unwrap()).collect();
        eprintln!(
            "{group} {side}×{side}: estimate {:.3e} B, measured peak {:.3e} B, ratio {:.3}",
            v[1], v[2], v[0]
        );
        assert!(
            (0.85..=1.15).contains(&v[0]),
            "{group}: estimate / measured = {}",
            v[0]
        );
    }
}
