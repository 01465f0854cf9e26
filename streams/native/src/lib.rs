//! Parcours' native module, one Rust module per owner: the batch decoder (`decoder`, with the JSON
//! reader, checks, PII screen, identity extraction and spec it uses), Kafka record sets
//! (`records`), the dedupe window (`window`) and the identity graph (`graph`). The typed edge
//! Python sees: `streams/native/_native.pyi`.

mod buffers;
pub mod check;
mod decoder;
mod extract;
mod graph;
pub mod json;
pub mod records;
mod screen;
mod spec;
mod window;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(records::read_records, m)?)?;
    m.add_class::<decoder::Decoder>()?;
    m.add_class::<window::Window>()?;
    m.add_class::<graph::Graph>()?;
    Ok(())
}
