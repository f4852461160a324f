//! Free disk space. Work that will write into a folder first checks that what it writes fits,
//! so a full disk is a one-line error before hours of computation, not a failed write after
//! them. (A disk that fills up during the run still fails the write that hits it, with the
//! file named; finished tiles are kept.)

use std::path::Path;

use crate::CliError;

/// Bytes the filesystem of `dir` has free for this user (`statvfs`: available blocks times
/// the fragment size), or `None` where that cannot be asked.
pub fn available_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let st = rustix::fs::statvfs(dir).ok()?;
        Some(st.f_bavail.saturating_mul(st.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Refuses when `need` bytes (`what` names them) do not fit in the free space of `dir`'s
/// filesystem. Passes when the free space cannot be asked.
pub fn check_space(dir: &Path, need: u64, what: &str) -> Result<(), CliError> {
    match available_bytes(dir) {
        Some(free) => fits(dir, need, free, what),
        None => Ok(()),
    }
}

fn fits(dir: &Path, need: u64, free: u64, what: &str) -> Result<(), CliError> {
    if need <= free {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "not enough disk space in {}: {what} need {}, its filesystem has {} free; free some space or choose another --out",
        dir.display(),
        bytes(need),
        bytes(free)
    )))
}

/// `1.5 MB`, `3.2 GB` (decimal units, as `df -H` prints them).
pub fn bytes(n: u64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Bytes of a `rows × cols` f64 `.npy` file as [`super::assemble()`] writes it.
pub fn npy_bytes(rows: usize, cols: usize) -> u64 {
    super::npy_header(rows, cols).len() as u64 + 8 * (rows as u64) * (cols as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shortfall_is_one_line_naming_both_sizes() {
        let e = fits(Path::new("/x"), 2_500_000, 1_000_000, "3 tiles")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "not enough disk space in /x: 3 tiles need 2.5 MB, its filesystem has 1.0 MB free; \
             free some space or choose another --out"
        );
        assert!(fits(Path::new("/x"), 10, 10, "t").is_ok());
        assert_eq!(bytes(999), "999 bytes");
        assert_eq!(bytes(u64::MAX), "18.4 EB");
    }

    #[test]
    fn npy_bytes_is_the_file_size() {
        assert_eq!(npy_bytes(2, 3), 128 + 48);
    }

    #[test]
    fn the_free_space_of_a_real_folder_is_known() {
        #[cfg(unix)]
        assert!(available_bytes(Path::new(".")).is_some());
    }
}
