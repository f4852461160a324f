//! Input checks shared by the S² and SO(3) transforms (lengths, bandlimits and finiteness), and
//! their FFT bin order and parallel loop.

use num_complex::Complex64;
use rayon::prelude::*;

use crate::RepsError;

/// Errors unless `got == expected`; `describe` spells out the expected shape.
pub(crate) fn check_length(
    what: &'static str,
    expected: usize,
    got: usize,
    describe: impl FnOnce() -> String,
) -> Result<(), RepsError> {
    shape(what, got == expected, describe, || format!("{got} values"))
}

/// Errors unless two bandlimits agree.
pub(crate) fn check_bandlimit(
    what: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), RepsError> {
    let bandlimit = |l: usize| move || format!("bandlimit L = {l}");
    shape(what, got == expected, bandlimit(expected), bandlimit(got))
}

/// Errors unless a bandlimit change `L → L_out` has `L_out ≤ L` (a `reduction`) or `L_out ≥ L`
/// (zero padding).
pub(crate) fn check_bandlimit_change(
    what: &'static str,
    reduction: bool,
    bandlimit: usize,
    bandlimit_out: usize,
) -> Result<(), RepsError> {
    let (fits, relation) = if reduction {
        (bandlimit_out <= bandlimit, "≤")
    } else {
        (bandlimit_out >= bandlimit, "≥")
    };
    shape(
        what,
        fits,
        || format!("L_out {relation} L = {bandlimit}"),
        || format!("L_out = {bandlimit_out}"),
    )
}

/// [`RepsError::ShapeMismatch`] of `what` unless `fits`, with the expected and actual shapes.
fn shape(
    what: &'static str,
    fits: bool,
    expected: impl FnOnce() -> String,
    got: impl FnOnce() -> String,
) -> Result<(), RepsError> {
    if fits {
        return Ok(());
    }
    Err(RepsError::ShapeMismatch {
        what,
        expected: expected(),
        got: got(),
    })
}

/// Errors at the first NaN or infinite value.
pub(crate) fn check_finite_real(what: &'static str, values: &[f64]) -> Result<(), RepsError> {
    check_finite(what, values, |v| v.is_finite())
}

/// Errors at the first value with a NaN or infinite part.
pub(crate) fn check_finite_complex(
    what: &'static str,
    values: &[Complex64],
) -> Result<(), RepsError> {
    check_finite(what, values, Complex64::is_finite)
}

/// Errors at the first value that `finite` refuses.
fn check_finite<T: Copy>(
    what: &'static str,
    values: &[T],
    finite: impl Fn(T) -> bool,
) -> Result<(), RepsError> {
    match values.iter().position(|&v| !finite(v)) {
        Some(index) => Err(RepsError::NonFinite { what, index }),
        None => Ok(()),
    }
}

/// Errors for `L = 0`.
pub(crate) fn check_nonzero_bandlimit(bandlimit: usize) -> Result<(), RepsError> {
    if bandlimit == 0 {
        Err(entk_groups::GroupError::ZeroBandlimit.into())
    } else {
        Ok(())
    }
}

/// `(m + L) mod (2L−1)`: the FFT bin of order `m` stored at index `m_index = m + L − 1`.
#[inline]
pub(crate) fn fft_bin(m_index: usize, bandlimit: usize) -> usize {
    (m_index + bandlimit) % (2 * bandlimit - 1)
}

/// Bandlimits below this run the transforms on the calling thread (rayon's overhead would
/// dominate; callers such as kernel engines parallelise over many small transforms instead).
pub(crate) const PARALLEL_MIN_BANDLIMIT: usize = 12;

/// `with_min_len` argument: no splitting below [`PARALLEL_MIN_BANDLIMIT`].
pub(crate) fn parallel_min_len(bandlimit: usize) -> usize {
    if bandlimit >= PARALLEL_MIN_BANDLIMIT {
        1
    } else {
        usize::MAX
    }
}

/// Runs `f(index, chunk)` on the consecutive `chunk_len`-sized chunks of `data`, rayon-parallel
/// for bandlimits from [`PARALLEL_MIN_BANDLIMIT`] on.
pub(crate) fn for_each_chunk<T: Send>(
    data: &mut [T],
    chunk_len: usize,
    bandlimit: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    data.par_chunks_mut(chunk_len)
        .with_min_len(parallel_min_len(bandlimit))
        .enumerate()
        .for_each(|(index, chunk)| f(index, chunk));
}
