//! The factorised stencil ([`Separable`]) equals the tap-by-tap stencil ([`apply_taps`]) for
//! every signed permutation, padding, window and image size, to rounding.

//!
//! (A unit test: the stencil kernels are private to the crate.)

use super::{apply_stencil, conv_taps, Geometry, Padded, RowPlan, RowSink, Separable, Tap};
use crate::simd::SimdLevel;
use crate::Padding;

/// Contiguous runs `(out_start, in_start, len)` of the innermost axis for offset `off`.
fn segments(g: &Geometry, off: isize) -> Vec<(usize, usize, usize)> {
    let (n_out, n_in) = (g.w_out, g.w_in);
    match g.padding {
        Padding::Valid => vec![(0, (g.kw as isize + off) as usize, n_out)],
        Padding::Same => {
            let lo = (-off).max(0) as usize;
            let hi = ((n_in as isize - off).min(n_out as isize)).max(0) as usize;
            if hi > lo {
                vec![(lo, (lo as isize + off) as usize, hi - lo)]
            } else {
                vec![]
            }
        }
        Padding::Circular => {
            let mut v = Vec::new();
            let mut o = 0;
            while o < n_out {
                let i = (o as isize + off).rem_euclid(n_in as isize) as usize;
                let len = (n_in - i).min(n_out - o);
                v.push((o, i, len));
                o += len;
            }
            v
        }
    }
}

/// `out(t,t′) += scale · Σ_taps w · inp(t+u, t′+u′)` on `(H1,H2,W1,W2)` blocks.
///
/// `out` has `h_out²·w_out²` values, `inp` `h_in²·w_in²`. The innermost loop runs over
/// contiguous memory; no allocation happens inside the loops over positions.
fn apply_taps(out: &mut [f64], inp: &[f64], taps: &[Tap], g: &Geometry, scale: f64) {
    let (hi, wi, ho, wo) = (g.h_in, g.w_in, g.h_out, g.w_out);
    debug_assert_eq!(out.len(), ho * ho * wo * wo);
    debug_assert_eq!(inp.len(), hi * hi * wi * wi);
    let segs: Vec<Vec<(usize, usize, usize)>> = taps.iter().map(|t| segments(g, t.c2)).collect();
    for i1 in 0..ho {
        for i2 in 0..ho {
            let out_blk = &mut out[(i1 * ho + i2) * wo * wo..][..wo * wo];
            for (tap, seg) in taps.iter().zip(&segs) {
                let Some(s1) = g.padding.source(i1, tap.r1, g.kh, hi) else {
                    continue;
                };
                let Some(s2) = g.padding.source(i2, tap.r2, g.kh, hi) else {
                    continue;
                };
                let in_blk = &inp[(s1 * hi + s2) * wi * wi..][..wi * wi];
                let w = scale * tap.w;
                for j1 in 0..wo {
                    let Some(sj1) = g.padding.source(j1, tap.c1, g.kw, wi) else {
                        continue;
                    };
                    let in_row = &in_blk[sj1 * wi..][..wi];
                    let out_row = &mut out_blk[j1 * wo..][..wo];
                    for &(o0, i0, len) in seg {
                        let (dst, src) = (&mut out_row[o0..o0 + len], &in_row[i0..i0 + len]);
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d += w * s;
                        }
                    }
                }
            }
        }
    }
}

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

/// Asserts that `taps` over an `fh×fw` window are detected as separable and that the factorised
/// stencil equals the tap-by-tap one on `inp` to 1e-15 (a few ulps: the same products, summed in
/// another order); `case` names the case in the failure message.
fn assert_stencil_matches_taps(
    g: &Geometry,
    inp: &[f64],
    taps: &[Tap],
    (fh, fw): (usize, usize),
    case: &str,
) {
    let sep = Separable::detect(taps, fh, fw);
    assert!(sep.is_some(), "{case}: not detected");
    let scale = 1.0 / (fh * fw) as f64;
    let len = g.h_out * g.h_out * g.w_out * g.w_out;
    let mut want = vec![0.0; len];
    apply_taps(&mut want, inp, taps, g, scale);
    let mut got = vec![f64::NAN; len];
    apply_stencil(&mut got, inp, taps, sep, g, scale);
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() <= 1e-15, "{case}: {a} vs {b}");
    }
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
                for swap in [false, true] {
                    for (sr, sc) in [(1, 1), (1, -1), (-1, 1), (-1, -1)] {
                        let case = format!("{padding:?} n={n} q={q} swap={swap} ({sr},{sc})");
                        let t = taps(q, swap, sr, sc);
                        assert_stencil_matches_taps(&g, &inp, &t, (q, q), &case);
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
                for (sr, sc) in [(1, 1), (1, -1), (-1, 1), (-1, -1)] {
                    let case = format!("{padding:?} {h}×{w} {fh}×{fw} ({sr},{sc})");
                    let t = rect_taps(fh, fw, false, sr, sc);
                    assert_stencil_matches_taps(&g, &inp, &t, (fh, fw), &case);
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

/// The run buffers kept per thread give bitwise what fresh ones give: a stencil run after runs
/// of another size (longer runs, more taps, another padding), and runs started from inside
/// another run's sink, which find the buffers taken and use fresh ones.
#[test]
fn kept_row_buffers_change_nothing() {
    let small = Geometry::new(5, 5, 3, 3, Padding::Same).unwrap();
    let big = Geometry::new(7, 7, 5, 5, Padding::Circular).unwrap();
    let run = |g: &Geometry, q: usize, seed: u64| {
        let inp = values(g.h_in.pow(2) * g.w_in.pow(2), seed);
        let t = taps(q, true, 1, -1);
        let mut out = vec![f64::NAN; g.h_out.pow(2) * g.w_out.pow(2)];
        apply_stencil(&mut out, &inp, &t, Separable::detect(&t, q, q), g, 0.5);
        out.iter().map(|v| v.to_bits()).collect::<Vec<u64>>()
    };
    let first = run(&small, 3, 1);
    let other = run(&big, 5, 2);
    assert_eq!(run(&small, 3, 1), first);

    /// Stores the outer planes and runs the small stencil inside each.
    struct Nested<'a> {
        out: Vec<f64>,
        w: usize,
        inner: &'a dyn Fn() -> Vec<u64>,
        inner_runs: Vec<Vec<u64>>,
    }
    impl RowSink for Nested<'_> {
        fn plane(&mut self, p: usize, runs: &mut [Vec<f64>], stride: usize) {
            let w = self.w;
            for o2 in 0..w {
                self.out[(p * w + o2) * w..][..w].copy_from_slice(&runs[0][o2 * stride..][..w]);
            }
            self.inner_runs.push((self.inner)());
        }
    }
    let inner = || run(&small, 3, 1);
    let t = taps(5, true, 1, -1);
    let inp = values(7usize.pow(4), 2);
    let mut sink = Nested {
        out: vec![f64::NAN; big.h_out.pow(2) * big.w_out.pow(2)],
        w: big.w_out,
        inner: &inner,
        inner_runs: Vec::new(),
    };
    let padded = Padded::new(&inp, &big);
    RowPlan::new(&t, Separable::detect(&t, 5, 5), &big).run(
        SimdLevel::current(),
        &[&padded],
        &big,
        0.5,
        &mut sink,
    );
    let outer: Vec<u64> = sink.out.iter().map(|v| v.to_bits()).collect();
    assert_eq!(outer, other);
    assert_eq!(sink.inner_runs.len(), big.h_out.pow(2));
    assert!(sink.inner_runs.iter().all(|r| *r == first));
}

/// [`RowPlan::bytes`] is the heap size of the plan it describes, separable or not, on
/// geometries of every padding (counted from the built plan's tables).
#[test]
fn plan_bytes_count_the_built_plan() {
    for (g, q) in [
        (Geometry::new(5, 5, 3, 3, Padding::Same).unwrap(), 3),
        (Geometry::new(9, 9, 5, 5, Padding::Valid).unwrap(), 5),
        (Geometry::new(7, 7, 5, 5, Padding::Circular).unwrap(), 5),
    ] {
        let t = taps(q, true, 1, -1);
        for sep in [Separable::detect(&t, q, q), None] {
            let plan = RowPlan::new(&t, sep, &g);
            let built = plan.taps.len() * std::mem::size_of_val(&plan.taps[0])
                + plan.sources.iter().map(|s| s.len() * 8).sum::<usize>();
            assert_eq!(RowPlan::bytes(&t, sep, &g), built as u128);
        }
    }
    assert!(Separable::detect(&taps(3, true, 1, -1), 3, 3).is_some());
}

/// A plan of weighted taps (the non-separable stencils of interpolating groups such as C8)
/// equals the tap-by-tap stencil ([`apply_taps`]) for every padding, square and rectangular
/// images and windows, and taps at any offsets of the window (repeated offsets included):
/// bitwise up to the sign of a zero (both sum `(scale·w)·value` from 0 in tap order; a tap in
/// the padding adds an exact zero where the reference skips it).
#[test]
fn weighted_plan_matches_taps() {
    let mut checked = 0;
    for padding in [Padding::Same, Padding::Valid, Padding::Circular] {
        for (h, w) in [
            (1, 1),
            (2, 2),
            (5, 5),
            (7, 7),
            (4, 6),
            (6, 3),
            (3, 9),
            (2, 17),
        ] {
            for (fh, fw) in [(1, 1), (3, 3), (5, 5), (3, 5), (5, 1)] {
                let Some(g) = Geometry::new(h, w, fh, fw, padding) else {
                    continue;
                };
                let seed = (h * 131 + w * 17 + fh * 5 + fw) as u64;
                let inp = values(h * h * w * w, seed);
                let (kh, kw) = ((fh / 2) as isize, (fw / 2) as isize);
                let pick = values(5 * 12, seed + 1);
                let at = |v: f64, k: isize| ((v + 1.0) / 2.0 * (2 * k + 1) as f64) as isize - k;
                let t: Vec<Tap> = pick
                    .chunks_exact(5)
                    .map(|p| Tap {
                        r1: at(p[0], kh).clamp(-kh, kh),
                        r2: at(p[1], kh).clamp(-kh, kh),
                        c1: at(p[2], kw).clamp(-kw, kw),
                        c2: at(p[3], kw).clamp(-kw, kw),
                        w: p[4],
                    })
                    .collect();
                let len = g.h_out * g.h_out * g.w_out * g.w_out;
                let mut want = vec![0.0; len];
                apply_taps(&mut want, &inp, &t, &g, 0.25);
                let mut got = vec![f64::NAN; len];
                apply_stencil(&mut got, &inp, &t, None, &g, 0.25);
                for (a, b) in got.iter().zip(&want) {
                    assert!(
                        a == b,
                        "{padding:?} {h}×{w} {fh}×{fw}: {a} vs {b} (taps {t:?})"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 60);
}
