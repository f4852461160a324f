//! # entk-python: the native module `entk._entk`
//!
//! A thin PyO3 binding over the workspace: kernels and networks from `entk-ntk`
//! ([`entk_ntk::Network::from_json`], [`entk_ntk::Network::gram`], `init`/`apply`), gradient-flow
//! predictions from [`entk_ntk::regression`], group reports and the progress bar from the CLI
//! library `entk-cli`, and the embedded rotated-MNIST sample from `entk-datasets`. The Python
//! package `entk` (crates/python/python/entk) re-exports these functions and adds the
//! stax-like API in pure Python.
//!
//! Conventions: inputs are float32 or float64 NumPy arrays of any memory layout (float64 is
//! borrowed, float32 widened once); every long call releases the GIL and stops on Ctrl-C
//! (`interrupt`); errors are `ValueError`s carrying the engine's one-line messages (a refused
//! memory estimate is a `MemoryError`).

mod convert;
mod datasets;
mod finite;
mod interrupt;

use ndarray::{Array2, ArrayView2, ArrayView4, ArrayView5, Ix2, Ix4, Ix5};
use numpy::{PyArray2, PyUntypedArrayMethods, ToPyArray};
use pyo3::prelude::*;

use entk_cli::CliError;
use entk_ntk::regression::{gradient_flow_mean, DiagReg, GradientFlowOptions, TrainingTime};
use entk_ntk::InputProblem;
use entk_ntk::{Gram, GramOptions, Network, NtkError};

use convert::{cli_error, floats, network, ntk_error, shape_text, value_error, Floats};

/// A batch of inputs: images / S² signals `(N, H, W, C)`, SO(3) signals
/// `(N, 2L−1, 2L, 2L−1, C)` or vectors `(N, D)`, told apart by rank.
#[derive(Clone, Copy)]
pub(crate) enum Batch<'a> {
    /// `(N, H, W, C)`.
    Images(ArrayView4<'a, f64>),
    /// `(N, 2L−1, 2L, 2L−1, C)`, indexed `(γ, β, α)`.
    So3(ArrayView5<'a, f64>),
    /// `(N, D)`.
    Vectors(ArrayView2<'a, f64>),
}

impl<'a> Batch<'a> {
    /// The batch view of an input array named `name`.
    pub(crate) fn of(x: &'a Floats<'_>, name: &str) -> PyResult<Self> {
        let v = x.view();
        match v.ndim() {
            4 => Ok(Batch::Images(v.into_dimensionality::<Ix4>().expect("4-D"))),
            5 => Ok(Batch::So3(v.into_dimensionality::<Ix5>().expect("5-D"))),
            2 => Ok(Batch::Vectors(v.into_dimensionality::<Ix2>().expect("2-D"))),
            _ => Err(value_error(format!(
                "{name} must have 4 dimensions (N, H, W, C): images, or S² signals (N, 2L, 2L−1, C); \
                 or 5 dimensions (N, 2L−1, 2L, 2L−1, C): SO(3) signals for networks that start \
                 with so3_conv; or 2 dimensions (N, D): vectors for networks that start with \
                 dense; got shape {}",
                shape_text(v.shape())
            ))),
        }
    }
    /// Number of inputs.
    pub(crate) fn len(&self) -> usize {
        match self {
            Batch::Images(a) => a.dim().0,
            Batch::So3(a) => a.dim().0,
            Batch::Vectors(a) => a.dim().0,
        }
    }
    fn same_kind(&self, other: &Batch, names: (&str, &str)) -> PyResult<()> {
        match (self, other) {
            (Batch::Images(_), Batch::Images(_))
            | (Batch::So3(_), Batch::So3(_))
            | (Batch::Vectors(_), Batch::Vectors(_)) => Ok(()),
            _ => Err(value_error(format!(
                "{} and {} must both be 4-D (N, H, W, C), both 5-D (N, 2L−1, 2L, 2L−1, C) or \
                 both 2-D (N, D)",
                names.0, names.1
            ))),
        }
    }
}

/// The engine's Gram matrices of `x1` against `x2` (`None`: `x1`, exactly symmetric): the same
/// call `entk kernel` makes.
fn gram(net: &Network, x1: Batch, x2: Option<Batch>, opts: &GramOptions) -> Result<Gram, NtkError> {
    match (x1, x2) {
        (Batch::Images(a), None) => net.gram(a, None, opts),
        (Batch::Images(a), Some(Batch::Images(b))) => net.gram(a, Some(b), opts),
        (Batch::So3(a), None) => net.gram_so3(a, None, opts),
        (Batch::So3(a), Some(Batch::So3(b))) => net.gram_so3(a, Some(b), opts),
        (Batch::Vectors(a), None) => net.gram_vectors(a, None, opts),
        (Batch::Vectors(a), Some(Batch::Vectors(b))) => net.gram_vectors(a, Some(b), opts),
        _ => Err(NtkError::input(
            InputProblem::Shape,
            "x1 and x2 must both be 4-D (N, H, W, C), both 5-D (N, 2L−1, 2L, 2L−1, C) or both \
             2-D (N, D)",
        )),
    }
}

fn opts(threads: Option<usize>, watch: &interrupt::Watch) -> GramOptions<'_> {
    GramOptions {
        threads: threads.unwrap_or(0),
        memory_budget: None,
        progress: Some(watch),
    }
}

/// NNGP and NTK Gram matrices (float64, shape (N1, N2)).
#[pyclass(frozen, module = "entk", name = "Kernels")]
pub struct Kernels {
    /// `K(x1_i, x2_j)`.
    #[pyo3(get)]
    nngp: Py<PyArray2<f64>>,
    /// `Θ(x1_i, x2_j)`.
    #[pyo3(get)]
    ntk: Py<PyArray2<f64>>,
}

#[pymethods]
impl Kernels {
    fn __repr__(&self, py: Python<'_>) -> String {
        let shape = self.nngp.bind(py).shape().to_vec();
        format!(
            "Kernels(nngp=<float64 {}>, ntk=<float64 {}>)",
            shape_text(&shape),
            shape_text(&shape)
        )
    }
}

/// Mean test predictions of gradient-flow training (float64, shape (M, K), or (M,) for 1-D
/// targets).
#[pyclass(frozen, module = "entk", name = "Prediction")]
pub struct Prediction {
    /// Mean prediction of the NTK flow.
    #[pyo3(get)]
    ntk_mean: Py<PyAny>,
    /// Mean prediction of the NNGP-kernel flow.
    #[pyo3(get)]
    nngp_mean: Py<PyAny>,
    /// Solver warnings (regularised or clipped eigenvalues), NTK first.
    #[pyo3(get)]
    warnings: Vec<String>,
}

#[pymethods]
impl Prediction {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let shape: Vec<usize> = self.ntk_mean.bind(py).getattr("shape")?.extract()?;
        Ok(format!(
            "Prediction(ntk_mean=<float64 {}>, nngp_mean=<float64 {}>, warnings={:?})",
            shape_text(&shape),
            shape_text(&shape),
            self.warnings
        ))
    }
}

/// kernel(spec, x1, x2=None, *, threads=None)
/// --
///
/// NNGP and NTK Gram matrices of the network `spec` (a dict or a JSON string in the
/// docs/spec.md format), bit-identical to `entk kernel` on the same inputs.
///
/// x1, x2: float32/float64 arrays (N, H, W, C) of images or S² signals (N, 2L, 2L−1, C),
/// (N, 2L−1, 2L, 2L−1, C) SO(3) signals indexed (γ, β, α) for networks that start with
/// `so3_conv`, or (N, D) vectors for networks that start with `dense`; x2=None means x1 (the result is then
/// exactly symmetric). threads: worker threads (None or 0: all cores); the numbers do not
/// depend on it. Releases the GIL; Ctrl-C stops it; a progress bar shows on stderr when it is a
/// terminal. Raises ValueError for a bad spec or input (MemoryError when the engine's memory
/// estimate exceeds the available memory).
#[pyfunction]
#[pyo3(signature = (spec, x1, x2=None, *, threads=None))]
fn kernel(
    py: Python<'_>,
    spec: &Bound<'_, PyAny>,
    x1: &Bound<'_, PyAny>,
    x2: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Kernels> {
    let (net, _) = network(spec)?;
    let a1 = floats(x1, "x1")?;
    let a2 = x2.map(|x| floats(x, "x2")).transpose()?;
    let b1 = Batch::of(&a1, "x1")?;
    let b2 = a2.as_ref().map(|a| Batch::of(a, "x2")).transpose()?;
    if let Some(b2) = &b2 {
        b1.same_kind(b2, ("x1", "x2"))?;
    }
    let g = interrupt::run(
        py,
        "kernel",
        |w| gram(&net, b1, b2, &opts(threads, w)),
        ntk_error,
    )?;
    Ok(Kernels {
        nngp: PyArray2::from_owned_array(py, g.nngp).unbind(),
        ntk: PyArray2::from_owned_array(py, g.ntk).unbind(),
    })
}

/// predict(spec, x_train, y_train, x_test, *, t=None, diag_reg=0.0, learning_rate=1.0, threads=None)
/// --
///
/// Mean test predictions of gradient-flow MSE training of the infinitely wide network `spec`
/// at time t (None: ∞, kernel regression) with learning rate `learning_rate` on the
/// unnormalised loss ½Σ|f(x_i) − y_i|², with the NTK (`ntk_mean`) and with the NNGP as the
/// flow's kernel (`nngp_mean`): the same computation as `entk predict`.
///
/// y_train: (N, K) or (N,) targets (the means then have shape (M,)). diag_reg: relative
/// diagonal regularisation λ, adding λ·tr(Θ)/N·I (neural-tangents' diag_reg). Singular Gram
/// matrices fall back to a clipped eigendecomposition and say so in `warnings`. Releases the
/// GIL; Ctrl-C stops it. Raises ValueError for bad input.
#[pyfunction]
#[pyo3(signature = (spec, x_train, y_train, x_test, *, t=None, diag_reg=0.0, learning_rate=1.0, threads=None))]
#[allow(clippy::too_many_arguments)]
fn predict(
    py: Python<'_>,
    spec: &Bound<'_, PyAny>,
    x_train: &Bound<'_, PyAny>,
    y_train: &Bound<'_, PyAny>,
    x_test: &Bound<'_, PyAny>,
    t: Option<f64>,
    diag_reg: f64,
    learning_rate: f64,
    threads: Option<usize>,
) -> PyResult<Prediction> {
    let (net, _) = network(spec)?;
    let (atr, ate, ay) = (
        floats(x_train, "x_train")?,
        floats(x_test, "x_test")?,
        floats(y_train, "y_train")?,
    );
    let (btr, bte) = (Batch::of(&atr, "x_train")?, Batch::of(&ate, "x_test")?);
    btr.same_kind(&bte, ("x_train", "x_test"))?;
    let yv = ay.view();
    let flat = yv.ndim() == 1;
    let labels: Array2<f64> = match yv.ndim() {
        1 => yv
            .to_owned()
            .into_shape_with_order((yv.len(), 1))
            .expect("same length"),
        2 => yv.into_dimensionality::<Ix2>().expect("2-D").to_owned(),
        _ => {
            return Err(value_error(format!(
                "y_train must have shape (N, K) or (N,), got {}",
                shape_text(yv.shape())
            )))
        }
    };
    if labels.nrows() != btr.len() {
        return Err(value_error(format!(
            "y_train has {} rows but x_train has {} inputs",
            labels.nrows(),
            btr.len()
        )));
    }
    if !(diag_reg.is_finite() && diag_reg >= 0.0) {
        return Err(value_error(format!(
            "diag_reg must be a finite number ≥ 0, got {diag_reg}"
        )));
    }
    let time = TrainingTime::from_f64(t.unwrap_or(f64::INFINITY)).map_err(value_error)?;
    let flow = GradientFlowOptions {
        learning_rate,
        diag_reg: DiagReg::relative(diag_reg),
        ..GradientFlowOptions::default()
    };
    let (means, warnings) = interrupt::run(
        py,
        "train×train",
        |w| -> Result<_, CliError> {
            let train = gram(&net, btr, None, &opts(threads, w))?;
            w.stage("test×train");
            let test = gram(&net, bte, Some(btr), &opts(threads, w))?;
            let mut means = Vec::new();
            let mut warnings = Vec::new();
            for (name, tt, xt) in [
                ("ntk", &train.ntk, &test.ntk),
                ("nngp", &train.nngp, &test.nngp),
            ] {
                let p = gradient_flow_mean(tt.view(), xt.view(), labels.view(), time, &flow)?;
                warnings.extend(p.info.warnings.iter().map(|w| format!("{name}: {w}")));
                means.push(p.test);
            }
            Ok((means, warnings))
        },
        cli_error,
    )?;
    let to_py = |m: &Array2<f64>| -> Py<PyAny> {
        if flat {
            m.column(0).to_pyarray(py).into_any().unbind()
        } else {
            m.to_pyarray(py).into_any().unbind()
        }
    };
    Ok(Prediction {
        ntk_mean: to_py(&means[0]),
        nngp_mean: to_py(&means[1]),
        warnings,
    })
}

/// verify_group(name, bandlimit=None)
/// --
///
/// The law checks of a registered group as a dict, the same report `entk verify-group NAME`
/// prints: {"group", "bandlimit", "checks": [{"name", "max_err", "tolerance", "passed"}],
/// "passed"}. `bandlimit` is used by so3 only (default 8). Raises ValueError for an unknown
/// name (the message lists the known ones).
#[pyfunction]
#[pyo3(signature = (name, bandlimit=None))]
fn verify_group(py: Python<'_>, name: &str, bandlimit: Option<usize>) -> PyResult<Py<PyAny>> {
    let report = interrupt::run(
        py,
        "verify-group",
        |_| entk_cli::verify_group(name, bandlimit),
        cli_error,
    )?;
    let text = serde_json::to_string(&report).map_err(value_error)?;
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// groups()
/// --
///
/// The registered group names that `entk verify-group all` checks: c1…c8, d1…d8 and so3
/// (`cN` and `dN` are accepted for any N ≥ 1 wherever a group is named).
#[pyfunction]
fn groups() -> Vec<String> {
    entk_cli::verify::default_group_names()
}

/// The native half of the `entk` package.
#[pymodule]
fn _entk(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Kernels>()?;
    m.add_class::<Prediction>()?;
    m.add_class::<finite::Params>()?;
    m.add_function(wrap_pyfunction!(kernel, m)?)?;
    m.add_function(wrap_pyfunction!(predict, m)?)?;
    m.add_function(wrap_pyfunction!(verify_group, m)?)?;
    m.add_function(wrap_pyfunction!(groups, m)?)?;
    m.add_function(wrap_pyfunction!(finite::init, m)?)?;
    m.add_function(wrap_pyfunction!(finite::apply, m)?)?;
    m.add_function(wrap_pyfunction!(datasets::rotated_mnist, m)?)?;
    Ok(())
}
