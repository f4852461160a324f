//! Two-slot spatial stencils: the A-operator of THEORY.md §2 on pixel kernels.
//!
//! A stencil is a list of [`Tap`]s; applied to a kernel block stored `(H1, H2, W1, W2)` it gives
//! `out(t, t′) += scale · Σ_taps w · in(t + u, t′ + u′)` with padding deciding what happens out
//! of range. A plain conv uses taps `(v, v, 1)`; a lifting/group conv for slice pair `(s, s′)` uses
//! the nonzeros of `M_s M_{s′}ᵀ` (THEORY.md §6.4), which for exact groups is `(a_s v, a_{s′} v, 1)`.

use nalgebra::{DMatrix, Matrix2};

use entk_groups::PixelResampling;

use crate::error::{NtkError, Result};
use crate::param::Padding;

/// One stencil term: offsets `u = (r1, c1)` in the first slot, `u′ = (r2, c2)` in the second
/// (row, col from the window centre) and a weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tap {
    /// Row offset, first slot.
    pub r1: isize,
    /// Row offset, second slot.
    pub r2: isize,
    /// Column offset, first slot.
    pub c1: isize,
    /// Column offset, second slot.
    pub c2: isize,
    /// Weight.
    pub w: f64,
}

/// The taps of an ordinary `h×w` convolution: `(v, v, 1)` for every window offset.
pub fn conv_taps(fh: usize, fw: usize) -> Vec<Tap> {
    let (kh, kw) = ((fh / 2) as isize, (fw / 2) as isize);
    let mut t = Vec::new();
    for r in -kh..=kh {
        for c in -kw..=kw {
            t.push(Tap {
                r1: r,
                r2: r,
                c1: c,
                c2: c,
                w: 1.0,
            });
        }
    }
    t
}

/// The resampling operator `M_a` of a `q×q` filter under the 2×2 matrix `m` (row-major).
pub fn resampling(m: &[f64; 4], q: usize) -> Result<DMatrix<f64>> {
    let mat = Matrix2::new(m[0], m[1], m[2], m[3]);
    Ok(PixelResampling::new(&mat, q)
        .map_err(NtkError::Group)?
        .to_dense())
}

/// The taps of `M_a M_bᵀ` on a `q×q` window: `Σ_{u,u′} (M_a M_bᵀ)[u,u′] K(t+u, t′+u′)`.
pub fn pair_taps(ma: &DMatrix<f64>, mb: &DMatrix<f64>, q: usize) -> Vec<Tap> {
    let p = ma * mb.transpose();
    let k = (q / 2) as isize;
    let mut taps = Vec::new();
    for u in 0..q * q {
        for v in 0..q * q {
            let w = p[(u, v)];
            if w != 0.0 {
                taps.push(Tap {
                    r1: (u / q) as isize - k,
                    c1: (u % q) as isize - k,
                    r2: (v / q) as isize - k,
                    c2: (v % q) as isize - k,
                    w,
                });
            }
        }
    }
    taps
}

/// Geometry of one stencil application.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// Input rows and columns.
    pub h_in: usize,
    /// Input columns.
    pub w_in: usize,
    /// Output rows.
    pub h_out: usize,
    /// Output columns.
    pub w_out: usize,
    /// Half window height (for VALID offsets).
    pub kh: usize,
    /// Half window width.
    pub kw: usize,
    /// Padding.
    pub padding: Padding,
}

impl Geometry {
    /// The geometry of an `fh×fw` window on an `h×w` input.
    pub fn new(h: usize, w: usize, fh: usize, fw: usize, padding: Padding) -> Option<Self> {
        Some(Geometry {
            h_in: h,
            w_in: w,
            h_out: padding.out_len(h, fh)?,
            w_out: padding.out_len(w, fw)?,
            kh: fh / 2,
            kw: fw / 2,
            padding,
        })
    }
}

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
pub fn apply_taps(out: &mut [f64], inp: &[f64], taps: &[Tap], g: &Geometry, scale: f64) {
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
