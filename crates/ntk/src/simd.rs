//! Runtime choice of the vector instruction set for the hot loops (dual activations, stencils).
//!
//! The release binary is built for baseline x86-64 (SSE2) so that it runs on any x86-64 CPU;
//! the loops that dominate a kernel computation are compiled a second and third time with
//! AVX2 + FMA and with AVX-512 enabled (through `pulp`'s target-feature functions, no unsafe
//! code here) and the widest level the CPU supports is picked at run time. The loops are written
//! once, branch-free, in plain Rust; each level is the same code vectorised for wider lanes.
//! Rust never contracts `a·b + c` into a fused multiply-add, and `+ − × ÷ √`, `min`, `max` and
//! selects are correctly rounded lane by lane, so **every level gives bitwise the same numbers**
//! (tested in `tests/simd_duals.rs`, which forces each level the CPU offers).
//!
//! `ENTK_SIMD=scalar|avx2|avx512` caps the level (for benchmarks and cross-checks); a level the
//! CPU lacks falls back to the widest one it has below it. Non-x86 targets use the scalar
//! (baseline) code.

use std::sync::OnceLock;

/// A vector instruction set the hot loops can be compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// The target's baseline (SSE2 on x86-64): what a build without target features runs.
    Scalar,
    /// x86-64-v3: AVX, AVX2, FMA, BMI (4 f64 lanes).
    Avx2,
    /// x86-64-v4: AVX-512 F/BW/CD/DQ/VL (8 f64 lanes).
    Avx512,
}

impl SimdLevel {
    /// All levels, narrowest first.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512];

    /// The name `ENTK_SIMD` accepts.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// True when this CPU can run the level.
    pub fn is_available(self) -> bool {
        match self {
            SimdLevel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => tokens().0.is_some(),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => tokens().1.is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The levels this CPU can run, narrowest first.
    pub fn available() -> Vec<SimdLevel> {
        Self::ALL.into_iter().filter(|l| l.is_available()).collect()
    }

    /// The widest available level at or below `self`.
    pub fn or_below(self) -> SimdLevel {
        Self::ALL
            .into_iter()
            .rev()
            .find(|l| *l <= self && l.is_available())
            .unwrap_or(SimdLevel::Scalar)
    }

    /// The level the kernels use: the widest the CPU offers, capped by `ENTK_SIMD` when set
    /// (detected once per process).
    pub fn current() -> SimdLevel {
        static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            let cap = std::env::var("ENTK_SIMD")
                .ok()
                .and_then(|v| Self::ALL.into_iter().find(|l| l.name() == v.trim()))
                .unwrap_or(SimdLevel::Avx512);
            cap.or_below()
        })
    }

    /// Runs `op` compiled for this level (or the widest available below it): `op.call()` and
    /// everything it calls through `#[inline(always)]` functions is vectorised for the level's
    /// lanes; ordinary calls inside it run baseline code.
    #[inline(always)]
    pub(crate) fn run<Op: SimdOp>(self, op: Op) -> Op::Output {
        #[cfg(target_arch = "x86_64")]
        {
            let (v3, v4) = tokens();
            if self >= SimdLevel::Avx512 {
                if let Some(simd) = v4 {
                    return pulp::Simd::vectorize(simd, Levelled(op));
                }
            }
            if self >= SimdLevel::Avx2 {
                if let Some(simd) = v3 {
                    return pulp::Simd::vectorize(simd, Levelled(op));
                }
            }
        }
        op.call()
    }
}

/// `op` as a `pulp` operation: `pulp` calls `with_simd` inside its target-feature function, and
/// every call from there down to the loop is `#[inline(always)]` (no closure in between).
struct Levelled<Op>(Op);

#[cfg(target_arch = "x86_64")]
impl<Op: SimdOp> pulp::WithSimd for Levelled<Op> {
    type Output = Op::Output;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Op::Output {
        self.0.call()
    }
}

/// A loop to compile once per [`SimdLevel`]. Implementations mark `call` `#[inline(always)]`
/// (a closure would do only if the compiler chose to inline it into each level's copy, which
/// it does not for large bodies called from three places).
pub(crate) trait SimdOp {
    /// What the loop returns.
    type Output;
    /// The loop.
    fn call(self) -> Self::Output;
}

impl std::fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The CPU's AVX2 and AVX-512 capability tokens, detected once (a detection reads some twenty
/// feature flags).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn tokens() -> (Option<pulp::x86::V3>, Option<pulp::x86::V4>) {
    static TOKENS: OnceLock<(Option<pulp::x86::V3>, Option<pulp::x86::V4>)> = OnceLock::new();
    *TOKENS.get_or_init(|| (pulp::x86::V3::try_new(), pulp::x86::V4::try_new()))
}
