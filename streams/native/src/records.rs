//! Kafka record sets (a fetch's bytes for one partition) → payloads, timestamps and offsets.
//!
//! Why: aiokafka builds a `ConsumerRecord` per message in Python (docs/decisions/whole-record-sets.md).
//! The ingest consumer hands whole record sets here instead (`streams/ingest/fetch.py`). Only the common case is read: message format v2,
//! uncompressed, not read-committed. Anything else (older formats, compression, a bad CRC, a
//! malformed record) returns `None` and aiokafka reads that record set as before, raising its own
//! errors. Layout: the Kafka protocol's "Record Batch" (magic 2), KIP-98.

use crate::buffers::le_bytes;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

/// One record set's records at or after the fetch offset.
pub struct Records<'a> {
    pub values: Vec<&'a [u8]>,
    pub timestamps_ms: Vec<i64>,
    pub offsets: Vec<i64>,
    /// Where the next fetch starts: after the last complete batch (compaction may leave gaps).
    pub next_offset: i64,
}

const HEADER: usize = 61; // base offset .. record count
const LOG_OVERHEAD: usize = 12; // base offset, batch length
const CRC_FROM: usize = 21; // the CRC covers attributes .. end
const COMPRESSION: i16 = 0x07;
const LOG_APPEND_TIME: i16 = 0x08;
const CONTROL: i16 = 0x20;

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

/// A zigzag varint (protobuf's encoding, as the record format uses); None past the end.
fn varint(b: &[u8], at: &mut usize) -> Option<i64> {
    let mut raw: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        raw |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
    }
    None
}

/// A length-prefixed field (-1: null); returns its bytes, empty for null.
fn field<'a>(b: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let len = varint(b, at)?;
    if len < 0 {
        return (len == -1).then_some(&b[..0]);
    }
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    let out = b.get(*at..end)?;
    *at = end;
    Some(out)
}

/// The records of ``set`` at or after ``fetch_offset``; None where aiokafka must read it.
pub fn read(set: &[u8], fetch_offset: i64, check_crc: bool) -> Option<Records<'_>> {
    let mut out = Records {
        values: Vec::new(),
        timestamps_ms: Vec::new(),
        offsets: Vec::new(),
        next_offset: fetch_offset,
    };
    let mut pos = 0;
    let mut complete = 0;
    // A fetch may end inside a batch (the broker cuts at the byte limit): that tail is not ours.
    while set.len() - pos >= LOG_OVERHEAD {
        let size = LOG_OVERHEAD + usize::try_from(i32_at(set, pos + 8)).ok()?;
        let Some(batch) = set.get(pos..pos + size) else {
            break;
        };
        if batch.len() < HEADER || batch[16] != 2 {
            return None;
        }
        if check_crc
            && crc32c::crc32c(&batch[CRC_FROM..])
                != u32::from_be_bytes(batch[17..21].try_into().unwrap())
        {
            return None;
        }
        let attributes = i16_at(batch, 21);
        if attributes & COMPRESSION != 0 {
            return None;
        }
        let base_offset = i64_at(batch, 0);
        let next = base_offset + i64::from(i32_at(batch, 23)) + 1;
        if attributes & CONTROL == 0 {
            let first_ts = i64_at(batch, 27);
            let max_ts = i64_at(batch, 35);
            let count = i32_at(batch, 57);
            let mut at = HEADER;
            for _ in 0..count {
                let len = usize::try_from(varint(batch, &mut at)?).ok()?;
                let end = at.checked_add(len)?;
                let record = batch.get(..end)?;
                at += 1; // attributes, unused
                let ts_delta = varint(record, &mut at)?;
                let offset = base_offset + varint(record, &mut at)?;
                field(record, &mut at)?; // key
                let value = field(record, &mut at)?;
                for _ in 0..varint(record, &mut at)? {
                    field(record, &mut at)?; // header key
                    field(record, &mut at)?; // header value
                }
                if at != end {
                    return None;
                }
                if offset >= fetch_offset {
                    out.values.push(value);
                    out.timestamps_ms
                        .push(if attributes & LOG_APPEND_TIME != 0 {
                            max_ts
                        } else {
                            first_ts + ts_delta
                        });
                    out.offsets.push(offset);
                }
            }
            if at != batch.len() {
                return None;
            }
        }
        out.next_offset = out.next_offset.max(next);
        complete += 1;
        pos += size;
    }
    (complete > 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zigzag(v: i64, out: &mut Vec<u8>) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        loop {
            let byte = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn batch(base: i64, first_ts: i64, values: &[Option<&[u8]>], attributes: i16) -> Vec<u8> {
        let mut records = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let mut r = vec![0u8];
            zigzag(i as i64 * 3, &mut r);
            zigzag(i as i64, &mut r);
            zigzag(-1, &mut r);
            match v {
                Some(v) => {
                    zigzag(v.len() as i64, &mut r);
                    r.extend_from_slice(v);
                }
                None => zigzag(-1, &mut r),
            }
            zigzag(1, &mut r);
            zigzag(1, &mut r);
            r.push(b'h');
            zigzag(-1, &mut r);
            zigzag(r.len() as i64, &mut records);
            records.extend(r);
        }
        let mut tail = Vec::new(); // attributes .. records
        tail.extend(attributes.to_be_bytes());
        tail.extend((values.len() as i32 - 1).to_be_bytes());
        tail.extend(first_ts.to_be_bytes());
        tail.extend((first_ts + 99).to_be_bytes());
        tail.extend((-1i64).to_be_bytes());
        tail.extend((-1i16).to_be_bytes());
        tail.extend((-1i32).to_be_bytes());
        tail.extend((values.len() as i32).to_be_bytes());
        tail.extend(records);
        let mut b = Vec::new();
        b.extend(base.to_be_bytes());
        b.extend((4 + 1 + 4 + tail.len() as i32).to_be_bytes());
        b.extend(0i32.to_be_bytes());
        b.push(2);
        b.extend(crc32c::crc32c(&tail).to_be_bytes());
        b.extend(tail);
        b
    }

    #[test]
    fn reads_values_times_and_offsets_from_the_fetch_offset() {
        let mut set = batch(10, 1_000, &[Some(b"a"), None, Some(b"ccc")], 0);
        set.extend(batch(13, 2_000, &[Some(b"d")], LOG_APPEND_TIME));
        let r = read(&set, 11, true).unwrap();
        assert_eq!(r.values, vec![&b""[..], b"ccc", b"d"]);
        assert_eq!(r.offsets, vec![11, 12, 13]);
        assert_eq!(r.timestamps_ms, vec![1_003, 1_006, 2_099]);
        assert_eq!(r.next_offset, 14);
    }

    #[test]
    fn a_cut_last_batch_is_left_for_the_next_fetch() {
        let mut set = batch(0, 5, &[Some(b"x")], 0);
        let second = batch(1, 5, &[Some(b"y")], 0);
        set.extend(&second[..second.len() - 3]);
        let r = read(&set, 0, true).unwrap();
        assert_eq!((r.values.len(), r.next_offset), (1, 1));
        assert!(read(&second[..second.len() - 3], 1, true).is_none());
    }

    #[test]
    fn steps_aside_on_what_aiokafka_must_read() {
        let good = batch(0, 5, &[Some(b"x")], 0);
        let mut bad_crc = good.clone();
        *bad_crc.last_mut().unwrap() ^= 1;
        assert!(read(&bad_crc, 0, true).is_none());
        assert!(read(&bad_crc, 0, false).is_some());
        assert!(read(&batch(0, 5, &[Some(b"x")], 1), 0, true).is_none()); // gzip
        let mut old = good.clone();
        old[16] = 1;
        assert!(read(&old, 0, false).is_none());
        let control = batch(0, 5, &[Some(b"x")], CONTROL);
        let r = read(&control, 0, true).unwrap();
        assert_eq!((r.values.len(), r.next_offset), (0, 1));
    }
}

/// A fetched record set (one partition's bytes) → ``(values, timestamps_ms, offsets, next_offset)``,
/// the two arrays as little-endian i64 bytes; None where aiokafka must read it (``records.rs``).
#[pyfunction]
#[pyo3(signature = (set, fetch_offset, *, check_crc))]
pub fn read_records<'py>(
    py: Python<'py>,
    set: &[u8],
    fetch_offset: i64,
    check_crc: bool,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    // The slice borrows the bytes object the caller holds; bytes are immutable.
    let Some(r) = py.detach(|| read(set, fetch_offset, check_crc)) else {
        return Ok(None);
    };
    let values = PyList::new(py, r.values.iter().map(|v| PyBytes::new(py, v)))?;
    let out = (
        values,
        le_bytes(py, &r.timestamps_ms, i64::to_le_bytes),
        le_bytes(py, &r.offsets, i64::to_le_bytes),
        r.next_offset,
    );
    Ok(Some(out.into_pyobject(py)?))
}
