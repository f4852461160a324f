//! `Progress::cancelled` stops a Gram computation with `NtkError::Interrupted` (the Python
//! binding's Ctrl-C), and a sink that never cancels changes nothing.

use std::sync::atomic::{AtomicUsize, Ordering};

use entk_ntk::{GramOptions, Network, NtkError, Progress};
use ndarray::Array4;

struct StopAfter {
    limit: usize,
    updates: AtomicUsize,
}

impl Progress for StopAfter {
    fn update(&self, _done: usize, _total: usize) {
        self.updates.fetch_add(1, Ordering::Relaxed);
    }
    fn cancelled(&self) -> bool {
        self.updates.load(Ordering::Relaxed) >= self.limit
    }
}

fn setup() -> (Network, Array4<f64>) {
    let net = Network::from_json(
        r#"{"layers": [{"type": "conv", "filter": 3, "padding": "same"}, {"type": "relu"},
            {"type": "global_avg_pool"}, {"type": "dense"}]}"#,
    )
    .unwrap();
    let x = Array4::from_shape_fn((12, 5, 5, 1), |(b, h, w, _)| {
        ((b + 1) as f64 * 0.37 + h as f64 * 0.91 - w as f64 * 0.53).sin()
    });
    (net, x)
}

#[test]
fn a_cancelled_gram_stops_early_with_interrupted() {
    let (net, x) = setup();
    let total = 12 + 12 * 11 / 2;
    for threads in [1, 2] {
        let sink = StopAfter {
            limit: 5,
            updates: AtomicUsize::new(0),
        };
        let opts = GramOptions {
            threads,
            memory_budget: None,
            progress: Some(&sink),
        };
        let err = net.gram(x.view(), None, &opts).unwrap_err();
        assert!(matches!(err, NtkError::Interrupted), "{err}");
        assert_eq!(err.to_string(), "interrupted");
        let done = sink.updates.load(Ordering::Relaxed);
        // Each worker finishes at most the pair it is on.
        assert!(
            done < 5 + threads && done < total,
            "{done} of {total} pairs ran"
        );
    }
}

#[test]
fn a_sink_that_never_cancels_gives_the_plain_result() {
    let (net, x) = setup();
    let sink = StopAfter {
        limit: usize::MAX,
        updates: AtomicUsize::new(0),
    };
    let opts = GramOptions {
        threads: 2,
        memory_budget: None,
        progress: Some(&sink),
    };
    let with = net.gram(x.view(), None, &opts).unwrap();
    let without = net.gram(x.view(), None, &GramOptions::default()).unwrap();
    assert_eq!(with, without);
    assert_eq!(sink.updates.load(Ordering::Relaxed), 12 + 12 * 11 / 2);
}
