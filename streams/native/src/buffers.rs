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

/// One validity bit per row, least significant first.
pub fn bitmap(valid: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; valid.len().div_ceil(8)];
    for (i, &v) in valid.iter().enumerate() {
        b[i / 8] |= v << (i % 8);
    }
    b
}
