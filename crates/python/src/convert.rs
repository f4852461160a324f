//! Python ⇄ Rust conversions: specs, input arrays and errors.

use ndarray::{ArrayD, ArrayViewD};
use numpy::{
    PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use entk_cli::CliError;
use entk_ntk::{Network, NtkError};

/// The JSON text of a spec given as a JSON string or as a dict (serialised by `json.dumps`).
pub fn spec_text(spec: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = spec.cast::<PyString>() {
        return s.extract::<String>();
    }
    if !spec.is_instance_of::<pyo3::types::PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "spec must be a dict or a JSON string, got {}",
            spec.get_type().name()?
        )));
    }
    let json = spec.py().import("json")?;
    json.call_method1("dumps", (spec,))
        .map_err(|e| {
            PyValueError::new_err(format!(
                "spec is not JSON-serialisable: {}",
                e.value(spec.py())
            ))
        })?
        .extract()
}

/// The network of a spec (`ValueError` with the engine's one-line message).
pub fn network(spec: &Bound<'_, PyAny>) -> PyResult<(Network, String)> {
    let text = spec_text(spec)?;
    let net = Network::from_json(&text).map_err(ntk_error)?;
    Ok((net, text))
}

/// An input array as f64: borrowed from NumPy when it already is float64 (any strides), a
/// converted copy when it is float32.
pub enum Floats<'py> {
    /// A float64 array, borrowed.
    Borrowed(PyReadonlyArrayDyn<'py, f64>),
    /// A float32 array widened to f64.
    Widened(ArrayD<f64>),
}

impl Floats<'_> {
    /// The values.
    pub fn view(&self) -> ArrayViewD<'_, f64> {
        match self {
            Floats::Borrowed(a) => a.as_array(),
            Floats::Widened(a) => a.view(),
        }
    }
}

/// Reads `obj` (a NumPy array, or anything `numpy.asarray` accepts) as float32/float64.
pub fn floats<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Floats<'py>> {
    let py = obj.py();
    let array = if obj.is_instance_of::<PyUntypedArray>() {
        obj.clone()
    } else {
        py.import("numpy")?
            .call_method1("asarray", (obj,))
            .map_err(|e| {
                PyValueError::new_err(format!("{name} is not an array: {}", e.value(py)))
            })?
    };
    if let Ok(a) = array.cast::<PyArrayDyn<f64>>() {
        return Ok(Floats::Borrowed(
            a.try_readonly()
                .map_err(|e| PyValueError::new_err(format!("{name}: {e}")))?,
        ));
    }
    if let Ok(a) = array.cast::<PyArrayDyn<f32>>() {
        let ro = a
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("{name}: {e}")))?;
        return Ok(Floats::Widened(ro.as_array().mapv(f64::from)));
    }
    let dtype = array
        .cast::<PyUntypedArray>()
        .map(|a| a.dtype().to_string())
        .unwrap_or_else(|_| "unknown".into());
    Err(PyValueError::new_err(format!(
        "{name} has dtype {dtype}; entk accepts float32 or float64 arrays"
    )))
}

/// A `ValueError` (or `MemoryError` for a refused memory estimate) with the engine's message.
pub fn ntk_error(e: NtkError) -> PyErr {
    match e {
        NtkError::OutOfMemory { .. } => PyMemoryError::new_err(e.to_string()),
        e => PyValueError::new_err(e.to_string()),
    }
}

/// [`ntk_error`] for the CLI library's errors.
pub fn cli_error(e: CliError) -> PyErr {
    match e {
        CliError::Ntk(e) => ntk_error(e),
        e => PyValueError::new_err(e.to_string()),
    }
}

/// A `ValueError` with `message`.
pub fn value_error(message: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(message.to_string())
}

/// `(a, b, c)` as Python writes a shape.
pub fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
