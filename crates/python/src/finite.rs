//! The finite-width twin from Python: `init` draws parameters, `apply` runs the forward pass
//! (behind `entk.stax`'s `init_fn` / `apply_fn`).

use ndarray::{ArrayD, Axis, IxDyn};
use numpy::{PyArray1, PyArrayDyn};
use pyo3::prelude::*;

use entk_ntk::InputProblem;
use entk_ntk::{Features, Layout, Network, NtkError, Signature};

use crate::convert::{floats, network, ntk_error, shape_text, value_error};
use crate::Batch;

/// Parameters of a finite network, drawn by `init_fn` for one network and input shape.
#[pyclass(frozen, module = "entk.stax", name = "Params")]
pub struct Params {
    params: entk_ntk::Params,
    spec: String,
    input: Signature,
    input_shape: Vec<usize>,
}

#[pymethods]
impl Params {
    /// Number of parameters.
    #[getter]
    fn size(&self) -> usize {
        self.params.count()
    }
    /// All parameter values, depth first, as a float64 array (a copy).
    fn flat<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, self.params.flatten())
    }
    fn __repr__(&self) -> String {
        format!(
            "Params(size={}, input_shape={})",
            self.params.count(),
            shape_text(&self.input_shape)
        )
    }
}

/// The per-sample shape of finite features.
fn sample_shape(sig: &Signature) -> Vec<usize> {
    let c = sig.channels;
    match &sig.layout {
        Layout::Scalar => vec![c],
        Layout::Pixels { h, w } => vec![*h, *w, c],
        Layout::Group { group, h, w } => vec![group.order, *h, *w, c],
        Layout::So3 { bandlimit: l } => vec![2 * l - 1, 2 * l, 2 * l - 1, c],
        _ => vec![sig.feature_len()],
    }
}

/// The input signature of a per-sample shape `(H, W, C)`, `(2L−1, 2L, 2L−1, C)` (SO(3)
/// signals) or `(D,)`.
fn signature_of(shape: &[usize]) -> Option<Signature> {
    match *shape {
        [d] if d > 0 => Some(Signature {
            layout: Layout::Scalar,
            channels: d,
        }),
        [h, w, c] if h > 0 && w > 0 && c > 0 => Some(Network::image_signature(h, w, c)),
        [g, b, a, c] if c > 0 => entk_ntk::so3_signal_bandlimit(g, b, a)
            .ok()
            .map(|l| Network::so3_signature(l, c)),
        _ => None,
    }
}

fn output_signature(net: &Network, input: &Signature) -> Result<Signature, NtkError> {
    net.output_signature(input)
}

/// init(spec, input_shape, seed)
/// --
///
/// Draws the parameters of the finite network `spec` (widths from each linear layer's
/// `width`) for inputs of `input_shape` ((batch, H, W, C), (batch, 2L−1, 2L, 2L−1, C) or
/// (batch, D); the batch entry is
/// ignored, -1 allowed). Returns (output_shape, params) with the batch entry copied.
#[pyfunction]
pub fn init(
    py: Python<'_>,
    spec: &Bound<'_, PyAny>,
    input_shape: Vec<i64>,
    seed: u64,
) -> PyResult<(Vec<i64>, Params)> {
    let (net, text) = network(spec)?;
    let bad = || {
        value_error(format!(
            "input_shape must be (batch, H, W, C), (batch, 2L−1, 2L, 2L−1, C) or (batch, D) with positive sizes, got {input_shape:?}"
        ))
    };
    let sample: Vec<usize> = input_shape
        .iter()
        .skip(1)
        .map(|&n| usize::try_from(n).map_err(|_| bad()))
        .collect::<PyResult<_>>()?;
    let input = signature_of(&sample).ok_or_else(bad)?;
    let (params, out) = py
        .detach(|| -> Result<_, NtkError> {
            let out = output_signature(&net, &input)?;
            Ok((net.init_seeded(&input, seed)?, out))
        })
        .map_err(ntk_error)?;
    let mut output_shape = vec![input_shape[0]];
    output_shape.extend(sample_shape(&out).iter().map(|&n| n as i64));
    Ok((
        output_shape,
        Params {
            params,
            spec: text,
            input,
            input_shape: sample,
        },
    ))
}

/// apply(spec, params, x)
/// --
///
/// The finite network's outputs for a batch `x` ((N, H, W, C), (N, 2L−1, 2L, 2L−1, C) or
/// (N, D), float32/float64):
/// an array (N, ...) of the output shape `init` reported.
#[pyfunction]
pub fn apply<'py>(
    py: Python<'py>,
    spec: &Bound<'py, PyAny>,
    params: &Params,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    let (net, text) = network(spec)?;
    if text != params.spec {
        return Err(value_error(
            "params were drawn by the init_fn of a different network",
        ));
    }
    let a = floats(x, "inputs")?;
    let batch = Batch::of(&a, "inputs")?;
    let view = a.view();
    let sample = &view.shape()[1..];
    if sample != params.input_shape.as_slice() {
        return Err(value_error(format!(
            "inputs have per-sample shape {} but params were drawn for {}",
            shape_text(sample),
            shape_text(&params.input_shape)
        )));
    }
    let n = batch.len();
    let input = &params.input;
    let out = py
        .detach(|| -> Result<ArrayD<f64>, NtkError> {
            let out_sig = output_signature(&net, input)?;
            let mut shape = vec![n];
            shape.extend(sample_shape(&out_sig));
            let mut out = ArrayD::zeros(IxDyn(&shape));
            for (i, xi) in view.axis_iter(Axis(0)).enumerate() {
                let f = Features {
                    sig: input.clone(),
                    data: xi.iter().copied().collect(),
                };
                if let Some((j, v)) = f.data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                    return Err(NtkError::input(
                        InputProblem::NonFinite,
                        format!("inputs[{i}] has a non-finite value {v} at flat index {j}"),
                    ));
                }
                let y = net.apply(&params.params, &f)?;
                out.index_axis_mut(Axis(0), i)
                    .iter_mut()
                    .zip(&y.data)
                    .for_each(|(o, v)| *o = *v);
            }
            Ok(out)
        })
        .map_err(ntk_error)?;
    Ok(PyArrayDyn::from_owned_array(py, out))
}
