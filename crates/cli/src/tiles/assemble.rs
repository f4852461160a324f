//! Streaming `.npy` files of a tile store: assembling `nngp.npy` / `ntk.npy` block-row by
//! block-row (memory `2 · tile · cols` values, never the whole matrix) and reading row blocks
//! back.
//!
//! Positional streaming instead of a memory map: the output is written strictly in order, so
//! the page cache does the work a map would, and no `unsafe` is needed (the workspace denies
//! it). The largest `n` is therefore set by disk, not memory (README, "Tiles").

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use entk_ntk::regression::{RegressionError, SymmetricMatrix};
use entk_ntk::Gram;
use ndarray::{Array2, ArrayView2};
use serde::Serialize;

use super::store::{partial_path, sync_dir, TileStore};
use super::TileId;
use crate::CliError;

/// The `.npy` (format 1.0) header of a C-ordered little-endian f64 `rows × cols` array, padded
/// to a multiple of 64 bytes as NumPy writes it.
pub fn npy_header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let unpadded = 10 + dict.len() + 1;
    let total = unpadded.div_ceil(64) * 64;
    let mut h = Vec::with_capacity(total);
    h.extend_from_slice(b"\x93NUMPY\x01\x00");
    h.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    h
}

/// Writes `out_dir/nngp.npy` and `out_dir/ntk.npy` from a complete store: both go to
/// `.partial` files first, are fsynced, then renamed (NTK first, NNGP last) and the folder
/// fsynced. A symmetric store's lower triangle is the exact transpose of its upper one.
pub fn assemble(store: &TileStore, out_dir: &Path) -> Result<(), CliError> {
    assemble_then(store, out_dir, None).map(|_| ())
}

/// [`assemble`] and the file `last = (NAME, BYTES)` (`entk kernel`'s `report.json`, the mark
/// of a finished result) written into `out_dir`: its `.partial` is fsynced together with
/// theirs, and it is left unpublished, to be renamed ([`Unpublished::publish`]) once the
/// caller knows the result is sound (`entk kernel`: once its tiles' last sync succeeded), so
/// a crash or a failed sync never leaves it without the two or their tiles.
pub(crate) fn assemble_with(
    store: &TileStore,
    out_dir: &Path,
    last: (&str, &[u8]),
) -> Result<Unpublished, CliError> {
    assemble_then(store, out_dir, Some(last)).map(|last| last.expect("a last file"))
}

/// A durable file `tmp` that is yet to be renamed to `path` ([`assemble_with`]).
#[derive(Debug)]
pub(crate) struct Unpublished {
    tmp: PathBuf,
    path: PathBuf,
}

impl Unpublished {
    /// Renames the file into place and fsyncs its folder.
    pub(crate) fn publish(self) -> Result<(), CliError> {
        super::store::rename_durably(&self.tmp, &self.path)
    }
}

/// [`assemble`], and with `last` [`assemble_with`].
fn assemble_then(
    store: &TileStore,
    out_dir: &Path,
    last: Option<(&str, &[u8])>,
) -> Result<Option<Unpublished>, CliError> {
    let grid = store.manifest().grid();
    super::space::check_space(
        out_dir,
        2 * super::space::npy_bytes(grid.rows, grid.cols) + last.map_or(0, |(_, b)| b.len() as u64),
        if last.is_some() {
            "nngp.npy, ntk.npy and report.json"
        } else {
            "nngp.npy and ntk.npy"
        },
    )?;
    let names = [out_dir.join("nngp.npy"), out_dir.join("ntk.npy")];
    let partials: Vec<PathBuf> = names.iter().map(|p| partial_path(p)).collect();
    let mut files = Vec::new();
    for p in &partials {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(p).map_err(CliError::io(p))?);
        w.write_all(&npy_header(grid.rows, grid.cols))
            .map_err(CliError::io(p))?;
        files.push(w);
    }
    let cols = grid.cols;
    for row in 0..grid.block_rows() {
        let (rows, _) = grid.extent(TileId { row, col: 0 });
        let r0 = rows.start;
        let mut buf = [
            vec![0.0f64; rows.len() * cols],
            vec![0.0f64; rows.len() * cols],
        ];
        for col in 0..grid.block_cols() {
            let transpose = grid.symmetric && col < row;
            let id = if transpose {
                TileId { row: col, col: row }
            } else {
                TileId { row, col }
            };
            let tile = load_finished(store, id, "cannot assemble the result")?;
            let (tr, tc) = grid.extent(id);
            for (b, values) in buf.iter_mut().zip([&tile.nngp, &tile.ntk]) {
                for (a, i) in tr.clone().enumerate() {
                    for (c, j) in tc.clone().enumerate() {
                        let v = values[[a, c]];
                        if transpose {
                            b[(j - r0) * cols + i] = v;
                        } else {
                            b[(i - r0) * cols + j] = v;
                        }
                    }
                }
            }
        }
        for ((w, b), p) in files.iter_mut().zip(&buf).zip(&partials) {
            let bytes: Vec<u8> = b.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_all(&bytes).map_err(CliError::io(p))?;
        }
    }
    let files = files
        .into_iter()
        .zip(&partials)
        .map(|(w, p)| {
            w.into_inner().map_err(|e| CliError::Io {
                path: p.clone(),
                source: e.into_error(),
            })
        })
        .collect::<Result<Vec<File>, _>>()?;
    let mut files: Vec<(File, PathBuf)> = files.into_iter().zip(partials).collect();
    let last = match last {
        Some((name, bytes)) => {
            let (path, tmp) = (out_dir.join(name), partial_path(&out_dir.join(name)));
            let mut f = File::create(&tmp).map_err(CliError::io(&tmp))?;
            f.write_all(bytes).map_err(CliError::io(&tmp))?;
            files.push((f, tmp.clone()));
            Some(Unpublished { tmp, path })
        }
        None => None,
    };
    // The files are fsynced at once: the file system commits them together, in about the
    // time of one.
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .map(|(f, p)| s.spawn(move || f.sync_all().map_err(CliError::io(p))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("fsync thread"))
            .collect::<Result<Vec<()>, CliError>>()
    })?;
    for ((_, p), name) in files[..names.len()].iter().zip(&names).rev() {
        std::fs::rename(p, name).map_err(CliError::io(name))?;
    }
    sync_dir(out_dir)?;
    Ok(last)
}

/// Tile `id` of a store that should be complete; a damaged or missing tile is an error that
/// starts with `context`.
fn load_finished(store: &TileStore, id: TileId, context: &str) -> Result<Gram, CliError> {
    match store.load(id) {
        Ok(Some(tile)) => Ok(tile),
        Ok(None) => Err(CliError::Usage(format!(
            "{context}: {} is missing",
            store.tile_path(id).display()
        ))),
        Err(why) => Err(CliError::Usage(format!("{context}: {why}"))),
    }
}

/// Which kernel of a tile store (serialised as its [`Which::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Which {
    /// The NNGP `K`.
    Nngp,
    /// The NTK `Θ`.
    Ntk,
}

impl Which {
    /// `nngp` or `ntk`, as in file names and reports.
    pub fn name(self) -> &'static str {
        match self {
            Which::Nngp => "nngp",
            Which::Ntk => "ntk",
        }
    }
}

/// One kernel of a complete store as an in-memory matrix (symmetric stores mirrored exactly).
pub fn load_matrix(store: &TileStore, which: Which) -> Result<ndarray::Array2<f64>, CliError> {
    let grid = store.manifest().grid();
    let mut m = ndarray::Array2::zeros((grid.rows, grid.cols));
    for id in grid.tiles() {
        let tile = load_finished(store, id, "cannot read the result")?;
        let values = match which {
            Which::Nngp => &tile.nngp,
            Which::Ntk => &tile.ntk,
        };
        let (r, c) = grid.extent(id);
        for (a, i) in r.clone().enumerate() {
            for (b, j) in c.clone().enumerate() {
                let v = values[[a, b]];
                m[[i, j]] = v;
                if grid.symmetric {
                    m[[j, i]] = v;
                }
            }
        }
    }
    Ok(m)
}

/// Reads a C-ordered f64 `.npy` matrix by row blocks, for solvers that never hold it whole.
pub struct NpyRows {
    reader: BufReader<File>,
    path: PathBuf,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    data_offset: u64,
}

impl NpyRows {
    /// Opens a file written by [`assemble`] (or NumPy: C order, `<f8`, 2-D).
    pub fn open(path: &Path) -> Result<Self, CliError> {
        let file = File::open(path).map_err(CliError::io(path))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let bad = |reason: String| CliError::Npy {
            path: path.to_path_buf(),
            reason,
        };
        let mut pre = [0u8; 10];
        reader
            .read_exact(&mut pre)
            .map_err(|_| bad("too short for a .npy header".into()))?;
        if &pre[..6] != b"\x93NUMPY" || pre[6] != 1 {
            return Err(bad("not a version-1 .npy file".into()));
        }
        let len = u16::from_le_bytes([pre[8], pre[9]]) as usize;
        let mut dict = vec![0u8; len];
        reader
            .read_exact(&mut dict)
            .map_err(|_| bad("truncated .npy header".into()))?;
        let dict = String::from_utf8_lossy(&dict).to_string();
        if !dict.contains("'descr': '<f8'") || !dict.contains("'fortran_order': False") {
            return Err(bad(format!(
                "expected a C-ordered little-endian float64 matrix, header {}",
                dict.trim()
            )));
        }
        let shape = dict
            .split("'shape': (")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .ok_or_else(|| bad("header has no shape".into()))?;
        let dims: Vec<usize> = shape
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<usize>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad(format!("unreadable shape ({shape})")))?;
        let [rows, cols] = dims[..] else {
            return Err(bad(format!("expected a matrix, shape ({shape})")));
        };
        let data_offset = (10 + len) as u64;
        let need = data_offset + 8 * (rows as u64) * (cols as u64);
        let have = reader
            .get_ref()
            .metadata()
            .map_err(CliError::io(path))?
            .len();
        if have != need {
            return Err(bad(format!(
                "{have} bytes, a {rows}×{cols} matrix needs {need} (truncated or damaged)"
            )));
        }
        Ok(NpyRows {
            reader,
            path: path.to_path_buf(),
            rows,
            cols,
            data_offset,
        })
    }

    /// Row `i`.
    pub fn read_row(&mut self, i: usize) -> Result<Vec<f64>, CliError> {
        use std::io::Seek;
        let at = self.data_offset + 8 * (i as u64) * (self.cols as u64);
        self.reader
            .seek(std::io::SeekFrom::Start(at))
            .map_err(CliError::io(&self.path))?;
        let mut bytes = vec![0u8; 8 * self.cols];
        self.reader
            .read_exact(&mut bytes)
            .map_err(CliError::io(&self.path))?;
        Ok(bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect())
    }

    /// Calls `f(first_row, values)` for consecutive blocks of at most `block` rows, from the
    /// first row, with `values` row-major `(rows in block) × cols`.
    pub fn for_each_block(
        &mut self,
        block: usize,
        mut f: impl FnMut(usize, &[f64]),
    ) -> Result<(), CliError> {
        use std::io::Seek;
        self.reader
            .seek(std::io::SeekFrom::Start(self.data_offset))
            .map_err(CliError::io(&self.path))?;
        let mut bytes = Vec::new();
        let mut values = Vec::new();
        let mut r0 = 0;
        while r0 < self.rows {
            let r = block.max(1).min(self.rows - r0);
            bytes.resize(8 * r * self.cols, 0);
            self.reader
                .read_exact(&mut bytes)
                .map_err(CliError::io(&self.path))?;
            values.clear();
            values.extend(
                bytes
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))),
            );
            f(r0, &values);
            r0 += r;
        }
        Ok(())
    }
}

/// A symmetric Gram matrix in an `.npy` file, read from disk on every use, for
/// [`entk_ntk::regression::conjugate_gradient_solve`].
pub struct NpyGram {
    rows: NpyRows,
    block: usize,
}

impl NpyGram {
    /// Opens a square matrix; products stream `block` rows at a time.
    pub fn open(path: &Path, block: usize) -> Result<Self, CliError> {
        let rows = NpyRows::open(path)?;
        if rows.rows != rows.cols {
            return Err(CliError::Npy {
                path: path.to_path_buf(),
                reason: format!(
                    "expected a square Gram matrix, got {}×{}",
                    rows.rows, rows.cols
                ),
            });
        }
        Ok(NpyGram { rows, block })
    }
}

fn read_error(e: CliError) -> RegressionError {
    RegressionError::MatrixRead(e.to_string())
}

impl SymmetricMatrix for NpyGram {
    fn size(&self) -> usize {
        self.rows.rows
    }
    fn diagonal(&mut self) -> Result<Vec<f64>, RegressionError> {
        let n = self.rows.cols;
        let mut d = vec![0.0; n];
        self.rows
            .for_each_block(self.block, |r0, v| {
                for (a, row) in v.chunks_exact(n).enumerate() {
                    d[r0 + a] = row[r0 + a];
                }
            })
            .map_err(read_error)?;
        Ok(d)
    }
    fn row(&mut self, i: usize) -> Result<Vec<f64>, RegressionError> {
        self.rows.read_row(i).map_err(read_error)
    }
    fn mul(&mut self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, RegressionError> {
        let n = self.rows.cols;
        let mut y = Array2::zeros((self.rows.rows, x.ncols()));
        self.rows
            .for_each_block(self.block, |r0, v| {
                let block = ndarray::ArrayView2::from_shape((v.len() / n, n), v).expect("rows");
                y.slice_mut(ndarray::s![r0..r0 + block.nrows(), ..])
                    .assign(&block.dot(&x));
            })
            .map_err(read_error)?;
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_what_numpy_and_ndarray_npy_read() {
        use ndarray_npy::ReadNpyExt;
        let mut bytes = npy_header(2, 3);
        assert_eq!(bytes.len() % 64, 0);
        for v in [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let a = ndarray::Array2::<f64>::read_npy(&bytes[..]).unwrap();
        assert_eq!(a, ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    }
}
