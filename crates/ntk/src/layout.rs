//! Kernel values and their layouts (docs/conventions.md#pixel-grid-and-planar-groups).
//!
//! A [`Kernel`] holds the NNGP `K(x,x′)` and NTK `Θ(x,x′)` of **one** input pair, flattened
//! row-major in the order its [`Layout`] states. Self-kernels are not stored here: the engine
//! computes them per input once and hands the position diagonal to the nonlinearities (see
//! [`KernelCtx`]).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use entk_groups::{FiniteGroup, GroupStructure, PlanarPointGroup};

use crate::error::InputProblem;
use crate::error::{NtkError, Result};

/// The slice bookkeeping of a finite group `H`: for `H ⋉ Z²` features of planar point groups,
/// and for features on a finite rotation group after `s2_lift_conv` (no spatial part: a 1×1
/// "image"). Built from the group's [`GroupStructure`] (Cayley table and declared actions), so
/// the finite-group layers are written once for every [`entk_groups::FiniteGroup`].
///
/// **Slice convention** (docs/conventions.md#slice-convention-of-group-features): slice `s` of a group feature holds the element
/// `a_s = g_s⁻¹`, where `g_s = H.element(s)`. For C4 (`g_s` = rotation by `s·90°`), slice `r`
/// holds the rotation `Q^{−r}`, as in docs/conventions.md. The action of `h ∈ H` on a feature is
/// `(ρ(h)y)[a](t) = y[h⁻¹a](h⁻¹t)`; for C4 that is `rot90(roll(y, −s, axis=G), s)`.
///
/// Layers compare groups with [`GroupInfo::same_group`]: by structure, never by name.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInfo {
    /// Registry name (`c4`, `d4`, `octahedral`, ...).
    pub name: String,
    /// `|H|`.
    pub order: usize,
    /// The slice holding the identity.
    pub identity: usize,
    /// `rel[s·|H| + s′] = index(g_s⁻¹ g_{s′})`: a right-invariant kernel has
    /// `K[s, s′] = K[identity, rel(s, s′)]`.
    pub rel: Vec<usize>,
    /// `comp[j·|H| + s] = index(g_j g_s)`: the slice holding `a_s b_j` where filter slot `j` holds
    /// `b_j = g_j⁻¹` (so group conv output slice `s` reads input slice `comp(j, s)`).
    pub comp: Vec<usize>,
    /// The 2×2 matrices of the slice elements `a_s = g_s⁻¹`, row-major `[m00, m01, m10, m11]`
    /// (identities for a group with no plane action).
    pub matrices: Vec<[f64; 4]>,
    /// True when every element maps the pixel lattice to itself (C4, D4 and subgroups; groups
    /// without a plane action too, since they only meet 1×1 features).
    pub exact: bool,
    /// The group's Cayley table and declared actions.
    pub structure: Arc<GroupStructure>,
}

impl GroupInfo {
    /// The bookkeeping of a planar point group; errors when its numbering or table is unusable
    /// ([`GroupStructure::planar`]).
    pub fn new<G: PlanarPointGroup + ?Sized>(group: &G) -> Result<Self> {
        Ok(Self::from_structure(Arc::new(GroupStructure::planar(
            group,
        )?)))
    }

    /// The bookkeeping of any registered finite group.
    pub fn from_structure(structure: Arc<GroupStructure>) -> Self {
        let n = structure.order();
        let mut rel = vec![0; n * n];
        let mut comp = vec![0; n * n];
        for s in 0..n {
            for t in 0..n {
                rel[s * n + t] = structure.product(structure.inverse_of(s), t);
                comp[s * n + t] = structure.product(s, t);
            }
        }
        let matrices = (0..n)
            .map(|s| match structure.plane() {
                Some(plane) => {
                    let m = plane.matrices[structure.inverse_of(s)];
                    [m[(0, 0)], m[(0, 1)], m[(1, 0)], m[(1, 1)]]
                }
                None => [1.0, 0.0, 0.0, 1.0],
            })
            .collect();
        Self {
            name: structure.group_name().to_string(),
            order: n,
            identity: structure.identity_index(),
            rel,
            comp,
            matrices,
            exact: structure.plane().is_none_or(|p| p.preserves_lattice),
            structure,
        }
    }
    /// `index(g_s⁻¹ g_{s′})`.
    pub fn rel(&self, s: usize, t: usize) -> usize {
        self.rel[s * self.order + t]
    }
    /// True when the group acts on the pixel plane (has a spatial part).
    pub fn planar(&self) -> bool {
        self.structure.plane().is_some()
    }
    /// Same order, Cayley table and actions (names may differ).
    pub fn same_group(&self, other: &GroupInfo) -> bool {
        self.structure.same_structure(&other.structure)
    }
    /// `name (order n, fingerprint f)`, for messages about mismatched groups.
    pub fn describe(&self) -> String {
        format!(
            "{} (order {}, structure fingerprint {:016x})",
            self.name,
            self.order,
            self.structure.fingerprint()
        )
    }
}

/// The layout of one pair's kernel array. Storage is row-major in the order given.
///
/// `#[non_exhaustive]`: layers on other domains (S², SO(3) grids with full position-pair
/// self-kernels) add variants; every method here must then handle them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Layout {
    /// One number per pair (after pooling or flattening; channels are i.i.d.).
    Scalar,
    /// Z² signals of size `h×w`, interleaved `(H1, H2, W1, W2)`.
    Pixels {
        /// Rows.
        h: usize,
        /// Columns.
        w: usize,
    },
    /// Signals on `H ⋉ Z²`, interleaved `(G1, G2, H1, H2, W1, W2)`, slices per [`GroupInfo`].
    Group {
        /// The point group.
        group: Arc<GroupInfo>,
        /// Rows.
        h: usize,
        /// Columns.
        w: usize,
    },
    /// A right-invariant group kernel, `K[s, s′] = R[rel(s, s′)]`, storing
    /// `R[c] = K[identity, c]` as `(C, H1, H2, W1, W2)`. Exact for groups acting exactly on
    /// pixels with conjugation-invariant filter supports (docs/theory.md#linear-layers-the-a-operator relative-rotation
    /// trick): |H| times cheaper than [`Layout::Group`].
    GroupRelative {
        /// The point group.
        group: Arc<GroupInfo>,
        /// Rows.
        h: usize,
        /// Columns.
        w: usize,
    },
    /// Signals on the SO(3) Driscoll–Healy grid of bandlimit `L` (docs/conventions.md#so3), in the
    /// Δγ-reduced form of [`crate::so3::So3PairKernel`]: `[Δ][p₁][p₂]` with
    /// `Δ = γ₁ − γ₂ (mod 2L−1)` and in-plane points `p = β·(2L−1) + α`. Every SO(3) layer
    /// commutes with the grid's γ-shift, so the reduction is exact. Finite features (and raw
    /// SO(3)-signal inputs) are stored `(γ, β, α, C)` as in docs/spec.md#input-arrays; the input kernel of raw
    /// signals is not γ-shift invariant, and is held as its γ-shift average, which is exact for
    /// the only layers allowed to read it ([`Kernel::from_features`]).
    So3 {
        /// The bandlimit `L`.
        bandlimit: usize,
    },
}

/// One run of entries along the innermost axis that share the first input's diagonal index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    /// Offset of the first entry in the kernel array.
    pub offset: usize,
    /// Index into the first input's diagonal.
    pub d1: usize,
    /// Index into the second input's diagonal of the first entry (consecutive after).
    pub d2: usize,
    /// Number of entries.
    pub len: usize,
}

/// A block of rows of a kernel array in the pixel order `(H1, H2, W1, W2)`: row `(i1, i2, j1)`
/// starts at `offset + ((i1·h + i2)·w + j1)·w`, holds `w` entries, and reads the first input's
/// diagonal at `d1 + i1·w + j1` and the second's from `d2 + i2·w` on. See
/// [`Layout::row_blocks`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowBlock {
    /// Offset of the block's first entry.
    pub offset: usize,
    /// Base index into the first input's diagonal.
    pub d1: usize,
    /// Base index into the second input's diagonal.
    pub d2: usize,
    /// Positions along the first spatial axis (1 for scalar and SO(3) kernels).
    pub h: usize,
    /// Entries per row.
    pub w: usize,
}

impl RowBlock {
    /// Row `(i1, i2, j1)` of the block.
    #[inline(always)]
    pub(crate) fn row(&self, i1: usize, i2: usize, j1: usize) -> Row {
        Row {
            offset: self.offset + ((i1 * self.h + i2) * self.w + j1) * self.w,
            d1: self.d1 + i1 * self.w + j1,
            d2: self.d2 + i2 * self.w,
            len: self.w,
        }
    }
}

impl Layout {
    /// Number of stored values per pair (saturating at `usize::MAX`, so an impossible size
    /// reaches the memory check as "too large" instead of overflowing).
    pub fn len(&self) -> usize {
        let prod = |f: &[usize]| f.iter().fold(1usize, |a, &b| a.saturating_mul(b));
        match self {
            Layout::Scalar => 1,
            Layout::Pixels { h, w } => prod(&[*h, *h, *w, *w]),
            Layout::Group { group, h, w } => prod(&[group.order, group.order, *h, *h, *w, *w]),
            Layout::GroupRelative { group, h, w } => prod(&[group.order, *h, *h, *w, *w]),
            Layout::So3 { bandlimit } => {
                let (d, p) = crate::so3::So3PairKernel::dims(*bandlimit);
                prod(&[d, p, p])
            }
        }
    }
    /// Always false (every layout stores at least one value).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Length of the position diagonal `K(x,x)(p,p)` the nonlinearities need.
    pub fn diag_len(&self) -> usize {
        match self {
            Layout::Scalar => 1,
            Layout::Pixels { h, w } | Layout::GroupRelative { h, w, .. } => h * w,
            Layout::Group { group, h, w } => group.order * h * w,
            Layout::So3 { bandlimit } => crate::so3::So3PairKernel::dims(*bandlimit).1,
        }
    }
    /// Spatial size `(h, w)` if any.
    pub fn spatial(&self) -> Option<(usize, usize)> {
        match self {
            Layout::Scalar | Layout::So3 { .. } => None,
            Layout::Pixels { h, w }
            | Layout::Group { h, w, .. }
            | Layout::GroupRelative { h, w, .. } => Some((*h, *w)),
        }
    }
    /// The group, for group layouts.
    pub fn group(&self) -> Option<&Arc<GroupInfo>> {
        match self {
            Layout::Group { group, .. } | Layout::GroupRelative { group, .. } => Some(group),
            _ => None,
        }
    }
    /// Calls `f` on each run of entries sharing the first input's diagonal index, in order
    /// (used by pointwise nonlinearities): the rows of [`Layout::row_blocks`] block by block.
    pub(crate) fn for_each_row(&self, mut f: impl FnMut(Row)) {
        for b in self.row_blocks() {
            for i1 in 0..b.h {
                for i2 in 0..b.h {
                    for j1 in 0..b.w {
                        f(b.row(i1, i2, j1));
                    }
                }
            }
        }
    }
    /// The rows as blocks of `(H1, H2, W1)` runs of `W2` entries: [`Layout::for_each_row`] visits,
    /// block by block, `b.row(i1, i2, j1)` for `i1, i2 < b.h`, `j1 < b.w` in that order (scalar and SO(3)
    /// kernels are blocks with `h = 1`). Loops written over blocks need no closure per row,
    /// which keeps vectorised callers' row loops in one function.
    pub(crate) fn row_blocks(&self) -> Vec<RowBlock> {
        let block = |offset, d1, d2, h, w| RowBlock {
            offset,
            d1,
            d2,
            h,
            w,
        };
        match self {
            Layout::Scalar => vec![block(0, 0, 0, 1, 1)],
            Layout::Pixels { h, w } => vec![block(0, 0, 0, *h, *w)],
            Layout::Group { group, h, w } => {
                let (hw, blk) = (h * w, h * h * w * w);
                (0..group.order)
                    .flat_map(|s1| {
                        (0..group.order).map(move |s2| {
                            block((s1 * group.order + s2) * blk, s1 * hw, s2 * hw, *h, *w)
                        })
                    })
                    .collect()
            }
            Layout::GroupRelative { group, h, w } => (0..group.order)
                .map(|c| block(c * h * h * w * w, 0, 0, *h, *w))
                .collect(),
            Layout::So3 { bandlimit } => {
                let (d, p) = crate::so3::So3PairKernel::dims(*bandlimit);
                (0..d)
                    .map(|delta| block(delta * p * p, 0, 0, 1, p))
                    .collect()
            }
        }
    }
    /// The position diagonal of a kernel of an input with itself.
    pub fn diagonal(&self, k: &[f64]) -> Vec<f64> {
        match self {
            Layout::Scalar => vec![k[0]],
            Layout::Pixels { h, w } => pixel_diag(k, *h, *w),
            Layout::Group { group, h, w } => {
                let blk = h * h * w * w;
                (0..group.order)
                    .flat_map(|s| pixel_diag(&k[(s * group.order + s) * blk..][..blk], *h, *w))
                    .collect()
            }
            Layout::GroupRelative { group, h, w } => {
                let blk = h * h * w * w;
                pixel_diag(&k[group.identity * blk..][..blk], *h, *w)
            }
            Layout::So3 { bandlimit } => {
                let (_, p) = crate::so3::So3PairKernel::dims(*bandlimit);
                (0..p).map(|i| k[i * p + i]).collect()
            }
        }
    }
    /// The indices of the same-position entries `K(p, p)` of a pair's kernel array (same
    /// slice and pixel; `Δγ = 0` and the same in-plane point for SO(3); the identity block of a
    /// relative group kernel). Dropout scales them in a sample's self kernel.
    pub fn same_position_entries(&self) -> Vec<usize> {
        let pixel = |base: usize, h: usize, w: usize| {
            (0..h).flat_map(move |i| (0..w).map(move |j| base + ((i * h + i) * w + j) * w + j))
        };
        match self {
            Layout::Scalar => vec![0],
            Layout::Pixels { h, w } => pixel(0, *h, *w).collect(),
            Layout::Group { group, h, w } => (0..group.order)
                .flat_map(|s| pixel((s * group.order + s) * h * h * w * w, *h, *w))
                .collect(),
            Layout::GroupRelative { group, h, w } => {
                pixel(group.identity * h * h * w * w, *h, *w).collect()
            }
            Layout::So3 { bandlimit } => {
                let (_, p) = crate::so3::So3PairKernel::dims(*bandlimit);
                (0..p).map(|i| i * p + i).collect()
            }
        }
    }
    /// Converts a kernel array to the full [`Layout::Group`] form (identity for other layouts).
    pub fn to_full(&self, k: &[f64]) -> (Layout, Vec<f64>) {
        match self {
            Layout::GroupRelative { group, h, w } => {
                let (n, blk) = (group.order, h * h * w * w);
                let mut out = vec![0.0; n * n * blk];
                for s in 0..n {
                    for t in 0..n {
                        let c = group.rel(s, t);
                        out[(s * n + t) * blk..][..blk].copy_from_slice(&k[c * blk..][..blk]);
                    }
                }
                (
                    Layout::Group {
                        group: group.clone(),
                        h: *h,
                        w: *w,
                    },
                    out,
                )
            }
            other => (other.clone(), k.to_vec()),
        }
    }
    /// Short type name (`scalar`, `pixels`, `group`, `group_relative`).
    pub fn kind(&self) -> &'static str {
        match self {
            Layout::Scalar => "scalar",
            Layout::Pixels { .. } => "pixels",
            Layout::Group { .. } => "group",
            Layout::GroupRelative { .. } => "group_relative",
            Layout::So3 { .. } => "so3",
        }
    }
}

fn pixel_diag(k: &[f64], h: usize, w: usize) -> Vec<f64> {
    let mut d = Vec::with_capacity(h * w);
    for i in 0..h {
        for j in 0..w {
            d.push(k[((i * h + i) * w + j) * w + j]);
        }
    }
    d
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layout::Scalar => write!(f, "scalar"),
            Layout::Pixels { h, w } => write!(f, "pixels (H1,H2,W1,W2)=({h},{h},{w},{w})"),
            Layout::Group { group, h, w } => write!(
                f,
                "group {} (G1,G2,H1,H2,W1,W2)=({n},{n},{h},{h},{w},{w})",
                group.name,
                n = group.order
            ),
            Layout::GroupRelative { group, h, w } => write!(
                f,
                "group {} relative (C,H1,H2,W1,W2)=({},{h},{h},{w},{w})",
                group.name, group.order
            ),
            Layout::So3 { bandlimit } => {
                let (d, p) = crate::so3::So3PairKernel::dims(*bandlimit);
                write!(f, "so3 L={bandlimit} (Δγ,P1,P2)=({d},{p},{p})")
            }
        }
    }
}

/// The kernel of one input pair: NNGP and NTK arrays in `layout`, plus the nominal channel
/// count of the features (used only by the standard parameterisation and by concatenation).
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    /// Layout of both arrays.
    pub layout: Layout,
    /// `K(x, x′)`, `layout.len()` values.
    pub nngp: Vec<f64>,
    /// `Θ(x, x′)`, `layout.len()` values.
    pub ntk: Vec<f64>,
    /// Nominal channel count of the features this kernel describes.
    pub channels: usize,
}

impl Kernel {
    /// Adds `w · k` into both arrays (`k` of the same layout).
    pub(crate) fn add_scaled(&mut self, k: &Kernel, w: f64) {
        let nngp = self.nngp.iter_mut().zip(&k.nngp);
        let ntk = self.ntk.iter_mut().zip(&k.ntk);
        nngp.chain(ntk).for_each(|(a, b)| *a += w * b);
    }
    /// The input kernel `K⁰(x,x′)(p,p′) = C⁻¹ Σ_c x_c(p) x′_c(p′)`, `Θ⁰ = 0`, of two HWC images
    /// of equal size, in [`Layout::Pixels`].
    pub fn from_images(x1: &[f64], x2: &[f64], h: usize, w: usize, c: usize) -> Kernel {
        let n = h * h * w * w;
        let mut k = crate::scratch::take(n);
        let inv = 1.0 / c as f64;
        // Channel-major copy of x2, so each output row is a sum of contiguous scaled rows
        // (vectorised over j2); channels are added in order, as in the plain dot product.
        let mut x2t = vec![0.0; c * h * w];
        for (p, px) in x2.chunks_exact(c.max(1)).enumerate() {
            for (ch, v) in px.iter().enumerate() {
                x2t[ch * h * w + p] = *v;
            }
        }
        for i1 in 0..h {
            for i2 in 0..h {
                for j1 in 0..w {
                    let a = &x1[(i1 * w + j1) * c..][..c];
                    let row = &mut k[((i1 * h + i2) * w + j1) * w..][..w];
                    row.fill(0.0);
                    for (ch, av) in a.iter().enumerate() {
                        let b = &x2t[ch * h * w + i2 * w..][..w];
                        for (out, bv) in row.iter_mut().zip(b) {
                            *out += av * bv;
                        }
                    }
                    row.iter_mut().for_each(|v| *v *= inv);
                }
            }
        }
        let mut ntk = crate::scratch::take(n);
        ntk.fill(0.0);
        Kernel {
            layout: Layout::Pixels { h, w },
            nngp: k,
            ntk,
            channels: c,
        }
    }

    /// The input kernel of two group-valued signals stored `(G, H, W, C)` (slice convention of
    /// [`GroupInfo`]), in the full [`Layout::Group`].
    pub fn from_group_signals(
        group: Arc<GroupInfo>,
        x1: &[f64],
        x2: &[f64],
        h: usize,
        w: usize,
        c: usize,
    ) -> Kernel {
        let n = group.order;
        let (hw, blk) = (h * w, h * h * w * w);
        let mut k = vec![0.0; n * n * blk];
        let inv = 1.0 / c as f64;
        for s1 in 0..n {
            for s2 in 0..n {
                let out = &mut k[(s1 * n + s2) * blk..][..blk];
                for i1 in 0..h {
                    for i2 in 0..h {
                        for j1 in 0..w {
                            for j2 in 0..w {
                                let a = &x1[(s1 * hw + i1 * w + j1) * c..][..c];
                                let b = &x2[(s2 * hw + i2 * w + j2) * c..][..c];
                                out[((i1 * h + i2) * w + j1) * w + j2] =
                                    inv * a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
                            }
                        }
                    }
                }
            }
        }
        let len = k.len();
        Kernel {
            layout: Layout::Group { group, h, w },
            nngp: k,
            ntk: vec![0.0; len],
            channels: c,
        }
    }

    /// The input kernel of two feature arrays of the same signature: vectors ([`Layout::Scalar`]
    /// with `C` values, `K⁰ = x·x′/C`), images, group signals, or raw SO(3) signals
    /// ([`Layout::So3`], stored `(γ, β, α, C)`), whose `K⁰` is not γ-shift invariant and is
    /// returned averaged over the grid's common γ-shifts
    /// ([`crate::so3::So3PairKernel::from_signals`]): exact for the only layers that may read it,
    /// `so3_conv` and `so3_pool` ([`Network::plan`](crate::Network::plan) refuses others).
    pub fn from_features(
        a: &crate::layers::Features,
        b: &crate::layers::Features,
    ) -> Result<Kernel> {
        let c = a.sig.channels;
        match &a.sig.layout {
            Layout::Scalar => {
                let v = a.data.iter().zip(&b.data).map(|(p, q)| p * q).sum::<f64>() / c as f64;
                Ok(Kernel {
                    layout: Layout::Scalar,
                    nngp: vec![v],
                    ntk: vec![0.0],
                    channels: c,
                })
            }
            Layout::Pixels { h, w } => Ok(Kernel::from_images(&a.data, &b.data, *h, *w, c)),
            Layout::Group { group, h, w } => Ok(Kernel::from_group_signals(
                group.clone(),
                &a.data,
                &b.data,
                *h,
                *w,
                c,
            )),
            Layout::So3 { bandlimit } => {
                let nngp = crate::so3::So3PairKernel::from_signals(*bandlimit, &a.data, &b.data, c)
                    .ok_or_else(|| {
                        NtkError::input(
                            InputProblem::Shape,
                            format!(
                                "SO(3) signals of bandlimit {bandlimit} with {c} channel(s) need \
                                 {} values each",
                                a.sig.feature_len()
                            ),
                        )
                    })?
                    .values()
                    .to_vec();
                let len = nngp.len();
                Ok(Kernel {
                    layout: Layout::So3 {
                        bandlimit: *bandlimit,
                    },
                    nngp,
                    ntk: vec![0.0; len],
                    channels: c,
                })
            }
            other => Err(NtkError::input(
                InputProblem::Shape,
                format!(
                    "inputs must be vectors, images, group signals or SO(3) signals, got {}",
                    other.kind()
                ),
            )),
        }
    }

    /// The same kernel in the full layout (expands [`Layout::GroupRelative`]).
    pub fn to_full(&self) -> Kernel {
        let (layout, nngp) = self.layout.to_full(&self.nngp);
        let (_, ntk) = self.layout.to_full(&self.ntk);
        Kernel {
            layout,
            nngp,
            ntk,
            channels: self.channels,
        }
    }
}

/// A value flowing between layers: one signal, or a tuple of branches (between
/// `fan_out`/`parallel` and a `fan_in_*` combinator), as in neural-tangents' `stax`.
#[derive(Debug, Clone, PartialEq)]
pub enum Stream<T> {
    /// A single signal.
    One(T),
    /// Several branches.
    Many(Vec<T>),
}

impl<T> Stream<T> {
    /// The single value, or a [`NtkError::Rejected`] error (the caller's walker names the layer).
    pub fn one(self) -> Result<T> {
        match self {
            Stream::One(t) => Ok(t),
            Stream::Many(v) => Err(branches_error(v.len())),
        }
    }
    /// Borrowing form of [`Stream::one`].
    pub fn as_one(&self) -> Result<&T> {
        match self {
            Stream::One(t) => Ok(t),
            Stream::Many(v) => Err(branches_error(v.len())),
        }
    }
}

fn branches_error(n: usize) -> NtkError {
    NtkError::reject_as(
        crate::error::Rejection::Branches,
        format!("expects one input but got {n} branches (missing fan_in_*?)"),
    )
}

/// Where the nonlinearities get the self-kernel diagonals `K(x,x)(p,p)` and `K(x′,x′)(p′,p′)`.
///
/// The engine runs every input once against itself in [`DiagMode::Record`] mode (the diagonal
/// is then read off the kernel itself and appended), and every cross pair in
/// [`DiagMode::Replay`] mode, which reads the recorded diagonals back in traversal order.
#[derive(Debug)]
pub enum DiagMode<'a> {
    /// Self pair: read the diagonal from the kernel and record it.
    Record(&'a mut Vec<Vec<f64>>),
    /// Cross pair: the recordings of the two inputs and a cursor.
    Replay {
        /// Recorded diagonals of the first input.
        first: &'a [Vec<f64>],
        /// Recorded diagonals of the second input.
        second: &'a [Vec<f64>],
        /// Next position.
        pos: usize,
    },
}

/// Context threaded through the kernel maps of one pair.
#[derive(Debug)]
pub struct KernelCtx<'a> {
    /// Self-kernel source.
    pub diag: DiagMode<'a>,
}

impl<'a> KernelCtx<'a> {
    /// In [`DiagMode::Replay`], the diagonals `(d1, d2)` [`KernelCtx::replay_next`] would give,
    /// without moving the cursor.
    pub(crate) fn peek_replay(&self) -> Option<(&'a [f64], &'a [f64])> {
        match &self.diag {
            DiagMode::Record(_) => None,
            DiagMode::Replay { first, second, pos } => {
                let (first, second): (&'a [Vec<f64>], &'a [Vec<f64>]) = (*first, *second);
                Some((&first[*pos][..], &second[*pos][..]))
            }
        }
    }
    /// In [`DiagMode::Replay`], the diagonals `(d1, d2)` of the next nonlinearity, known before
    /// the layers in front of it run (the cursor moves on, as [`KernelCtx::diagonals`] would);
    /// `None` in [`DiagMode::Record`], where they are read off that nonlinearity's input.
    pub(crate) fn replay_next(&mut self) -> Option<(&'a [f64], &'a [f64])> {
        match &mut self.diag {
            DiagMode::Record(_) => None,
            DiagMode::Replay { first, second, pos } => {
                let (first, second): (&'a [Vec<f64>], &'a [Vec<f64>]) = (*first, *second);
                let i = *pos;
                *pos += 1;
                Some((&first[i][..], &second[i][..]))
            }
        }
    }
    /// The diagonals `(d1, d2)` for a nonlinearity whose input is `k`.
    pub fn diagonals<'k>(&'k mut self, k: &'k Kernel) -> (Cow<'k, [f64]>, Cow<'k, [f64]>) {
        match &mut self.diag {
            DiagMode::Record(rec) => {
                let d = k.layout.diagonal(&k.nngp);
                rec.push(d.clone());
                (Cow::Owned(d.clone()), Cow::Owned(d))
            }
            DiagMode::Replay { first, second, pos } => {
                let i = *pos;
                *pos += 1;
                (Cow::Borrowed(&first[i][..]), Cow::Borrowed(&second[i][..]))
            }
        }
    }
}
