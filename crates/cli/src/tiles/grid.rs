//! The tiling of an `rows × cols` Gram matrix into `tile × tile` blocks.

use std::ops::Range;

/// A tile's block position: rows `row·tile..`, columns `col·tile..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Block row.
    pub row: usize,
    /// Block column.
    pub col: usize,
}

/// Square tiles of edge `tile` over a `rows × cols` matrix. Edge tiles are ragged (no
/// divisibility constraint). A symmetric grid (`x2 = x1`) holds only the tiles on and above the
/// block diagonal; the rest is their transpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileGrid {
    /// Rows of the matrix.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Tile edge (≥ 1).
    pub tile: usize,
    /// Only the upper block triangle is stored.
    pub symmetric: bool,
}

impl TileGrid {
    /// A grid; `tile` must be ≥ 1, and a symmetric grid must be square.
    pub fn new(rows: usize, cols: usize, tile: usize, symmetric: bool) -> Self {
        assert!(tile >= 1, "tile edge must be at least 1");
        assert!(!symmetric || rows == cols, "a symmetric grid is square");
        TileGrid {
            rows,
            cols,
            tile,
            symmetric,
        }
    }

    /// Block rows.
    pub fn block_rows(&self) -> usize {
        self.rows.div_ceil(self.tile)
    }

    /// Block columns.
    pub fn block_cols(&self) -> usize {
        self.cols.div_ceil(self.tile)
    }

    /// The stored tiles, block-row by block-row.
    pub fn tiles(&self) -> Vec<TileId> {
        let mut v = Vec::new();
        for row in 0..self.block_rows() {
            let first = if self.symmetric { row } else { 0 };
            v.extend((first..self.block_cols()).map(|col| TileId { row, col }));
        }
        v
    }

    /// Row and column ranges of a tile.
    pub fn extent(&self, id: TileId) -> (Range<usize>, Range<usize>) {
        let r0 = id.row * self.tile;
        let c0 = id.col * self.tile;
        (
            r0..(r0 + self.tile).min(self.rows),
            c0..(c0 + self.tile).min(self.cols),
        )
    }

    /// Work units of a tile as the engine counts them (self-pairs plus cross pairs): a diagonal
    /// tile of a symmetric grid computes `k` selves and `k(k−1)/2` pairs, any other tile its
    /// `r + c` selves and `r·c` pairs.
    pub fn work(&self, id: TileId) -> usize {
        let (r, c) = self.extent(id);
        if self.symmetric && id.row == id.col {
            r.len() + r.len() * (r.len() - 1) / 2
        } else {
            r.len() + c.len() + r.len() * c.len()
        }
    }
}

/// Default tile edge: 64, or less for small problems so that there are at least about 16
/// tiles (a kill loses little, and the progress bar moves), never below 8.
pub fn default_tile(rows: usize, cols: usize) -> usize {
    let side = rows.max(cols);
    (side.div_ceil(4)).clamp(8, 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_entry_once_with_ragged_edges() {
        for (rows, cols, tile, sym) in [
            (7, 7, 3, true),
            (7, 5, 3, false),
            (1, 1, 4, true),
            (10, 10, 10, true),
            (11, 4, 1, false),
        ] {
            let g = TileGrid::new(rows, cols, tile, sym);
            let mut count = vec![0usize; rows * cols];
            for id in g.tiles() {
                let (r, c) = g.extent(id);
                assert!(!r.is_empty() && !c.is_empty());
                for i in r.clone() {
                    for j in c.clone() {
                        count[i * cols + j] += 1;
                        if sym && id.row != id.col {
                            count[j * cols + i] += 1;
                        }
                    }
                }
            }
            assert!(count.iter().all(|&k| k == 1), "{rows}×{cols}/{tile}");
        }
    }

    #[test]
    fn default_tile_is_between_8_and_64() {
        assert_eq!(default_tile(5, 5), 8);
        assert_eq!(default_tile(100, 3), 25);
        assert_eq!(default_tile(100_000, 100_000), 64);
    }
}
