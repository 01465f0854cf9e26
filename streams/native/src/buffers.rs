//! Columns handed to Python as little-endian bytes (Arrow's buffer layout).

use pyo3::prelude::*;
use pyo3::types::PyBytes;

pub fn le_bytes<'py, T: Copy, const N: usize>(
    py: Python<'py>,
    v: &[T],
    f: impl Fn(T) -> [u8; N],
) -> Bound<'py, PyBytes> {
    let mut b = Vec::with_capacity(v.len() * N);
    for &x in v {
        b.extend_from_slice(&f(x));
    }
    PyBytes::new(py, &b)
}
