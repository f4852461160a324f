//! A new symmetry in one trait impl, from outside every entk crate (issue #8).
//!
//! `cargo run --release --example custom_group`:
//! 1. defines the diagonal-reflection group `{identity, transpose}` with the public traits only
//!    and registers it as `"c2t"`;
//! 2. runs the public checker bundle on it (group laws, plane action, irreps);
//! 3. builds a GCNN from a JSON spec naming `"c2t"` (`lift_conv` → relu → `group_conv` with
//!    identity group support → relu → `group_pool` → `dense`) and computes its NNGP and NTK
//!    between two sets of three random images;
//! 4. computes the plain CNN's kernels averaged over the orbit of the second argument,
//!    `K̄(x, x′) = ½ (K(x, x′) + K(x, xᵀ′))`;
//! 5. prints one JSON line: `{"group": "c2t", "laws_passed": true, "augmentation_max_abs_err": E,
//!    "cnn_vs_gcnn_max_abs_diff": D}`, where `E` (the augmentation theorem, docs/theory.md#data-augmentation-and-group-convolution) is at
//!    rounding level and `D` (the plain CNN against the GCNN) is not, so the check can fail.
//!
//! `tests/custom_group_example.rs` runs [`run`] and asserts `E ≤ 1e-12` and `D ≥ 1e-6`.

use entk::groups::{CheckOptions, FiniteGroup, Group, PlanarPointGroup};
use entk::ntk::augment::{augmented_gram, PointGroupAction};
use entk::ntk::{GramOptions, Network};
use entk::reps::{FiniteIrreps, IrrepInfo};
use nalgebra::{DMatrix, Matrix2};
use ndarray::Array4;
use num_complex::Complex64;
use rand::{Rng, SeedableRng};

/// `{e, t}` with `t` the transpose of `(row, col)` offsets, the reflection across the main
/// diagonal. Element `0` is `e`, element `1` is `t`.
#[derive(Debug, Clone, Copy)]
pub struct DiagonalReflection;

impl Group for DiagonalReflection {
    type Element = usize;
    fn name(&self) -> String {
        "c2t".into()
    }
    fn identity(&self) -> usize {
        0
    }
    fn compose(&self, a: &usize, b: &usize) -> usize {
        a ^ b
    }
    fn inverse(&self, a: &usize) -> usize {
        *a
    }
    fn distance(&self, a: &usize, b: &usize) -> f64 {
        f64::from(u8::from(a != b))
    }
    fn testing_elements(&self) -> Vec<usize> {
        vec![0, 1]
    }
}

impl FiniteGroup for DiagonalReflection {
    fn order(&self) -> usize {
        2
    }
    fn element(&self, index: usize) -> usize {
        index.min(1)
    }
    fn index_of(&self, element: &usize) -> usize {
        *element
    }
}

impl PlanarPointGroup for DiagonalReflection {
    fn plane_matrix(&self, g: &usize) -> Matrix2<f64> {
        if *g == 0 {
            Matrix2::identity()
        } else {
            Matrix2::new(0.0, 1.0, 1.0, 0.0)
        }
    }
}

/// The trivial and the sign irrep.
impl FiniteIrreps for DiagonalReflection {
    fn irreps(&self) -> Vec<IrrepInfo> {
        ["trivial", "sign"]
            .map(|name| IrrepInfo {
                name: name.into(),
                dim: 1,
            })
            .to_vec()
    }
    fn irrep_matrix(&self, irrep: usize, g: &usize) -> DMatrix<Complex64> {
        let sign = if irrep == 1 && *g == 1 { -1.0 } else { 1.0 };
        DMatrix::from_element(1, 1, Complex64::new(sign, 0.0))
    }
}

/// The GCNN of step 3 (also run through the CLI by `tests/custom_group_example.rs`).
pub const GCNN: &str = r#"{"layers": [
    {"type": "lift_conv", "group": "c2t", "filter": 3, "padding": "same"},
    {"type": "relu"},
    {"type": "group_conv", "group": "c2t", "filter": 3, "padding": "same", "group_support": "identity"},
    {"type": "relu"},
    {"type": "group_pool"},
    {"type": "dense"}]}"#;

const CNN: &str = r#"{"layers": [
    {"type": "conv", "filter": 3, "padding": "same"},
    {"type": "relu"},
    {"type": "conv", "filter": 3, "padding": "same"},
    {"type": "relu"},
    {"type": "global_avg_pool"},
    {"type": "dense"}]}"#;

/// What the example prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Every check of the bundle passed.
    pub laws_passed: bool,
    /// `max |K_GCNN − K̄_CNN|` over NNGP and NTK entries.
    pub augmentation_max_abs_err: f64,
    /// `max |K_GCNN − K_CNN|` over NNGP and NTK entries.
    pub cnn_vs_gcnn_max_abs_diff: f64,
}

impl Outcome {
    /// The one JSON line.
    pub fn json(&self) -> String {
        format!(
            r#"{{"group": "c2t", "laws_passed": {}, "augmentation_max_abs_err": {:e}, "cnn_vs_gcnn_max_abs_diff": {:e}}}"#,
            self.laws_passed, self.augmentation_max_abs_err, self.cnn_vs_gcnn_max_abs_diff
        )
    }
}

/// Steps 1–4 of the module documentation.
pub fn run() -> Result<Outcome, Box<dyn std::error::Error>> {
    // 1. Register the group next to the built-in ones.
    let mut registry = entk::reps::default_registry();
    registry.register(entk::reps::planar_entry(DiagonalReflection)?)?;
    // 2. The checker bundle.
    let checks = registry.get("c2t")?.run_checks(&CheckOptions::default())?;
    let laws_passed = !checks.is_empty() && checks.iter().all(|c| c.passed());
    // 3. The GCNN by name, on random 6×6 two-channel images (3 against 3 others).
    let gcnn = Network::from_json_in(GCNN, &registry)?;
    let cnn = Network::from_json_in(CNN, &registry)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let mut images = || Array4::from_shape_fn((3, 6, 6, 2), |_| rng.random_range(-1.0..1.0));
    let (x1, x2) = (images(), images());
    let options = GramOptions::default();
    let g = gcnn.gram(x1.view(), Some(x2.view()), &options)?;
    // 4. The plain CNN, averaged over the orbit of the second argument.
    let action = PointGroupAction {
        group: DiagonalReflection,
    };
    let augmented = augmented_gram(&cnn, x1.view(), Some(x2.view()), &action, &options)?;
    let plain = cnn.gram(x1.view(), Some(x2.view()), &options)?;
    let max_diff = |a: &ndarray::Array2<f64>, b: &ndarray::Array2<f64>| {
        a.iter()
            .zip(b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max)
    };
    Ok(Outcome {
        laws_passed,
        augmentation_max_abs_err: max_diff(&g.nngp, &augmented.nngp)
            .max(max_diff(&g.ntk, &augmented.ntk)),
        cnn_vs_gcnn_max_abs_diff: max_diff(&g.nngp, &plain.nngp).max(max_diff(&g.ntk, &plain.ntk)),
    })
}

#[allow(dead_code)] // also compiled as a module of tests/custom_group_example.rs
fn main() {
    match run() {
        Ok(outcome) => println!("{}", outcome.json()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
