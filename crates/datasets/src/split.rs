//! Seeded, reproducible train/test index draws shared by every data set.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::DatasetError;

/// Disjoint training and test indices into a data set of `available` items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainTestIndices {
    /// Training indices, in draw order.
    pub train: Vec<usize>,
    /// Test indices, in draw order; disjoint from `train`.
    pub test: Vec<usize>,
}

/// The random number generator used for every seeded draw in this crate: ChaCha8 seeded with
/// `seed_from_u64(seed)`, so a seed gives the same data on every platform.
pub fn seeded_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Draws `n_train + n_test` distinct indices from `0..available` uniformly without replacement
/// (seeded); the first `n_train` are the training set, the rest the test set.
///
/// Errors with [`DatasetError::NotEnoughData`] when `n_train + n_test > available`.
pub fn train_test_indices(
    available: usize,
    n_train: usize,
    n_test: usize,
    seed: u64,
) -> Result<TrainTestIndices, DatasetError> {
    let requested = n_train.saturating_add(n_test);
    if requested > available {
        return Err(DatasetError::NotEnoughData {
            what: format!("{n_train} training + {n_test} test items"),
            requested,
            available,
        });
    }
    let mut rng = seeded_rng(seed);
    let mut drawn = rand::seq::index::sample(&mut rng, available, requested).into_vec();
    let test = drawn.split_off(n_train);
    Ok(TrainTestIndices { train: drawn, test })
}
