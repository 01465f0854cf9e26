//! The dedupe window (``streams.ingest.dedupe``): the last `size` event ids and their bodies'
//! digests, oldest evicted first, in a fraction of the memory a Python dict takes an id.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;

#[pyclass]
pub struct Window {
    size: usize,
    seen: HashMap<u128, u32>,
    order: VecDeque<u128>,
}

/// ``keys``: 16 bytes an id (little-endian u128), ``digests``: 4 bytes each (little-endian u32).
fn pairs<'a>(
    keys: &'a [u8],
    digests: &'a [u8],
) -> Result<impl Iterator<Item = (u128, u32)> + 'a, &'static str> {
    let n = digests.len() / 4;
    if digests.len() != 4 * n || keys.len() != 16 * n {
        return Err("keys and digests differ in count");
    }
    Ok(keys
        .chunks_exact(16)
        .zip(digests.chunks_exact(4))
        .map(|(k, d)| {
            (
                u128::from_le_bytes(k.try_into().unwrap_or_default()),
                u32::from_le_bytes(d.try_into().unwrap_or_default()),
            )
        }))
}

impl Window {
    fn statuses(&mut self, keys: &[u8], digests: &[u8]) -> Result<Vec<u8>, &'static str> {
        let mut status = Vec::with_capacity(digests.len() / 4);
        for (key, digest) in pairs(keys, digests)? {
            status.push(match self.seen.get(&key) {
                Some(&prev) => 1 + (prev != digest) as u8,
                None => {
                    self.seen.insert(key, digest);
                    self.order.push_back(key);
                    if self.order.len() > self.size {
                        if let Some(old) = self.order.pop_front() {
                            self.seen.remove(&old);
                        }
                    }
                    0
                }
            });
        }
        Ok(status)
    }

    fn learn(&mut self, keys: &[u8], digests: &[u8]) -> Result<(), &'static str> {
        for (key, digest) in pairs(keys, digests)? {
            if self.seen.insert(key, digest).is_none() {
                self.order.push_back(key);
            }
        }
        Ok(())
    }
}

#[pymethods]
impl Window {
    #[new]
    fn new(size: usize) -> Self {
        Window {
            size,
            seen: HashMap::default(),
            order: VecDeque::new(),
        }
    }

    /// One status per id, in order: 0 new (now remembered), 1 duplicate, 2 same id, other body.
    fn check<'py>(
        &mut self,
        py: Python<'py>,
        keys: &[u8],
        digests: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let status = self
            .statuses(keys, digests)
            .map_err(PyValueError::new_err)?;
        Ok(PyBytes::new(py, &status))
    }

    /// Set the digests of ids the store holds (the stored event's, after a copy with another body
    /// was refused): a later copy is judged against the original, not against the refused one.
    fn remember(&mut self, keys: &[u8], digests: &[u8]) -> PyResult<()> {
        self.learn(keys, digests).map_err(PyValueError::new_err)
    }

    fn __len__(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(ids: &[(u128, u32)]) -> (Vec<u8>, Vec<u8>) {
        let keys = ids.iter().flat_map(|(k, _)| k.to_le_bytes()).collect();
        let digests = ids.iter().flat_map(|(_, d)| d.to_le_bytes()).collect();
        (keys, digests)
    }

    #[test]
    fn a_repeat_is_a_duplicate_and_another_body_a_conflict_until_evicted() {
        let mut w = Window::new(2);
        let (k, d) = bytes(&[(1, 10), (1, 10), (1, 11), (2, 20), (3, 30), (1, 11)]);
        assert_eq!(w.statuses(&k, &d).unwrap(), [0, 1, 2, 0, 0, 0]);
        assert_eq!(w.seen.len(), 2, "the window holds its size");
    }

    #[test]
    fn remembered_digests_judge_later_copies() {
        let mut w = Window::new(10);
        let (k, d) = bytes(&[(7, 1)]);
        w.statuses(&k, &d).unwrap();
        let (k, d) = bytes(&[(7, 2)]);
        w.learn(&k, &d).unwrap();
        assert_eq!(w.statuses(&k, &d).unwrap(), [1]);
    }

    #[test]
    fn keys_and_digests_must_pair() {
        let mut w = Window::new(1);
        assert!(w.statuses(&[0; 16], &[0; 8]).is_err());
    }
}
