//! The factorised stencil ([`Separable`]) equals the tap-by-tap stencil ([`apply_taps`]) for
//! every signed permutation, padding, window and image size, to rounding.

//!
//! (A unit test: the stencil kernels are private to the crate.)

use super::{apply_stencil, apply_taps, conv_taps, Geometry, Separable, Tap};
use crate::Padding;

/// `(v, A v, 1)` over a `q×q` window for the signed permutation `A` given by `(swap, sr, sc)`.
fn taps(q: usize, swap: bool, sr: isize, sc: isize) -> Vec<Tap> {
    rect_taps(q, q, swap, sr, sc)
}

fn rect_taps(fh: usize, fw: usize, swap: bool, sr: isize, sc: isize) -> Vec<Tap> {
    let (kh, kw) = ((fh / 2) as isize, (fw / 2) as isize);
    let mut t = Vec::new();
    for r in -kh..=kh {
        for c in -kw..=kw {
            let (r2, c2) = if swap {
                (sr * c, sc * r)
            } else {
                (sr * r, sc * c)
            };
            t.push(Tap {
                r1: r,
                c1: c,
                r2,
                c2,
                w: 1.0,
            });
        }
    }
    t
}

fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn separable_matches_taps() {
    let mut checked = 0;
    for padding in [Padding::Same, Padding::Valid, Padding::Circular] {
        for n in [1, 2, 5, 6, 7] {
            for q in [1, 3, 5] {
                let Some(g) = Geometry::new(n, n, q, q, padding) else {
                    continue;
                };
                let inp = values(n * n * n * n, (n * 31 + q) as u64);
                let len = g.h_out * g.h_out * g.w_out * g.w_out;
                for swap in [false, true] {
                    for (sr, sc) in [(1, 1), (1, -1), (-1, 1), (-1, -1)] {
                        let t = taps(q, swap, sr, sc);
                        let sep = Separable::detect(&t, q, q);
                        assert!(sep.is_some(), "{swap} {sr} {sc} not detected");
                        let scale = 1.0 / (q * q) as f64;
                        let mut want = vec![0.0; len];
                        apply_taps(&mut want, &inp, &t, &g, scale);
                        let mut got = vec![f64::NAN; len];
                        apply_stencil(&mut got, &inp, &t, sep, &g, scale);
                        for (a, b) in got.iter().zip(&want) {
                            assert!(
                                (a - b).abs() <= 1e-15,
                                "{padding:?} n={n} q={q} swap={swap} ({sr},{sc}): {a} vs {b}"
                            );
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 300);
}

#[test]
fn separable_matches_taps_on_rectangles() {
    let mut checked = 0;
    for padding in [Padding::Same, Padding::Valid, Padding::Circular] {
        for (h, w) in [(4, 6), (5, 3), (7, 2)] {
            for (fh, fw) in [(1, 3), (3, 1), (3, 5), (5, 3)] {
                let Some(g) = Geometry::new(h, w, fh, fw, padding) else {
                    continue;
                };
                let inp = values(h * h * w * w, (h * 131 + w * 17 + fh * 5 + fw) as u64);
                let len = g.h_out * g.h_out * g.w_out * g.w_out;
                for (sr, sc) in [(1, 1), (1, -1), (-1, 1), (-1, -1)] {
                    let t = rect_taps(fh, fw, false, sr, sc);
                    let sep = Separable::detect(&t, fh, fw);
                    assert!(sep.is_some());
                    let scale = 1.0 / (fh * fw) as f64;
                    let mut want = vec![0.0; len];
                    apply_taps(&mut want, &inp, &t, &g, scale);
                    let mut got = vec![f64::NAN; len];
                    apply_stencil(&mut got, &inp, &t, sep, &g, scale);
                    for (a, b) in got.iter().zip(&want) {
                        assert!(
                            (a - b).abs() <= 1e-15,
                            "{padding:?} {h}×{w} {fh}×{fw} ({sr},{sc}): {a} vs {b}"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100);
}

#[test]
fn detection_rejects_non_permutations() {
    assert!(Separable::detect(&conv_taps(3, 5), 3, 5).is_some());
    let mut t = taps(3, false, 1, 1);
    t[4].w = 0.5;
    assert!(Separable::detect(&t, 3, 3).is_none());
    let mut t = taps(3, true, 1, -1);
    t.swap(0, 1);
    t[0].r2 += 1;
    assert!(Separable::detect(&t, 3, 3).is_none());
    let t = taps(3, false, 1, 1);
    assert!(Separable::detect(&t[1..], 3, 3).is_none());
    // Swapping rows and columns needs a square window.
    let mut t = conv_taps(3, 5);
    for tap in &mut t {
        (tap.r2, tap.c2) = (tap.c1, tap.r1);
    }
    assert!(Separable::detect(&t, 3, 5).is_none());
}
