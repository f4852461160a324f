//! The machine's limits, measured in the same run as a benchmark, and where a kernel stands
//! against them (shared by the `c4_gcnn` and `so3` benches through `#[path]`).
//!
//! - **Copy bandwidth**: every thread copies its half of a 2 × 128 MiB buffer pair, best of 5;
//!   GB/s counts the bytes read and written (16 per f64 copied, as STREAM does).
//! - **FMA peak**: every thread runs 16 independent chains of vector fused multiply-adds at the
//!   widest level the CPU has (AVX-512, AVX2+FMA, or the baseline's separate multiply and add),
//!   best of 3; GFLOP/s counts 2 per lane per FMA.
//!
//! A kernel's **achieved** rates are its counted flops and bytes per pair (a model of the
//! layer-by-layer algorithm, given next to each bench) divided by the measured seconds per
//! pair; the **roofline time** per pair is `max(flops / peak, bytes / bandwidth)`, and the
//! fractions printed are achieved / limit.

use std::time::Instant;

use pulp::{Arch, Simd, WithSimd};

/// The probes' results.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    /// Threads the probes (and the benches) use.
    pub threads: usize,
    /// Copy bandwidth, GB/s (read + write).
    pub copy_gbs: f64,
    /// Peak double-precision FMA rate, GFLOP/s.
    pub fma_gflops: f64,
}

/// Runs both probes on `threads` threads.
pub fn probe(threads: usize) -> Machine {
    Machine {
        threads,
        copy_gbs: copy_bandwidth(threads),
        fma_gflops: fma_peak(threads),
    }
}

fn copy_bandwidth(threads: usize) -> f64 {
    let len = 16 << 20; // 128 MiB of f64
    let src: Vec<f64> = (0..len).map(|i| i as f64).collect();
    let mut dst = vec![0.0f64; len];
    let chunk = len.div_ceil(threads);
    let mut best = 0.0f64;
    for _ in 0..5 {
        let start = Instant::now();
        std::thread::scope(|s| {
            for (d, c) in dst.chunks_mut(chunk).zip(src.chunks(chunk)) {
                s.spawn(move || d.copy_from_slice(c));
            }
        });
        let secs = start.elapsed().as_secs_f64();
        best = best.max(16.0 * len as f64 / secs / 1e9);
    }
    std::hint::black_box(&dst);
    best
}

/// 16 chains of `acc = acc·x + y` per thread.
struct FmaChains {
    iters: usize,
}

impl WithSimd for FmaChains {
    type Output = (f64, usize);
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> (f64, usize) {
        // Opaque inputs, so the compiler cannot fold the chains.
        let x = simd.splat_f64s(std::hint::black_box(0.999_999_9));
        let y = simd.splat_f64s(std::hint::black_box(1e-7));
        let mut acc = [simd.splat_f64s(std::hint::black_box(1.0)); 16];
        for _ in 0..self.iters / 1000 {
            for _ in 0..1000 {
                for a in acc.iter_mut() {
                    *a = simd.mul_add_f64s(*a, x, y);
                }
            }
            acc = std::hint::black_box(acc);
        }
        let mut sum = 0.0;
        for a in acc {
            sum += simd.reduce_sum_f64s(a);
        }
        (sum, S::F64_LANES)
    }
}

fn fma_peak(threads: usize) -> f64 {
    let iters = 20_000_000; // a multiple of 1000
    let mut best = 0.0f64;
    for _ in 0..3 {
        let start = Instant::now();
        let lanes: Vec<(f64, usize)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| s.spawn(move || Arch::new().dispatch(FmaChains { iters })))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let secs = start.elapsed().as_secs_f64();
        let flops: f64 = lanes
            .iter()
            .map(|&(sum, l)| {
                std::hint::black_box(sum);
                2.0 * 16.0 * l as f64 * iters as f64
            })
            .sum();
        best = best.max(flops / secs / 1e9);
    }
    best
}

/// Prints one bench's roofline line: achieved rates, fractions of the limits, and the ratio of
/// its time to the roofline time.
pub fn report(
    name: &str,
    secs_per_pair: f64,
    flops_per_pair: f64,
    bytes_per_pair: f64,
    m: &Machine,
) {
    let gflops = flops_per_pair / secs_per_pair / 1e9;
    let gbs = bytes_per_pair / secs_per_pair / 1e9;
    let roof = (flops_per_pair / (m.fma_gflops * 1e9)).max(bytes_per_pair / (m.copy_gbs * 1e9));
    println!(
        "roofline {name}: {:.3e} s/pair, {:.3e} flop and {:.3e} B per pair counted; \
         {gflops:.2} GFLOP/s ({:.1} % of the {:.1} GFLOP/s FMA peak), {gbs:.2} GB/s \
         ({:.1} % of the {:.1} GB/s copy bandwidth), {:.2}× the roofline time {:.3e} s \
         ({} threads, SIMD level {})",
        secs_per_pair,
        flops_per_pair,
        bytes_per_pair,
        100.0 * gflops / m.fma_gflops,
        m.fma_gflops,
        100.0 * gbs / m.copy_gbs,
        m.copy_gbs,
        secs_per_pair / roof,
        roof,
        m.threads,
        entk_ntk::SimdLevel::current()
    );
}

/// Median wall seconds of `runs` calls of `f`.
pub fn median_secs(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(|a, b| a.total_cmp(b));
    t[t.len() / 2]
}
