//! The batch decoder: raw event payloads → the events table's columns, as Arrow buffers.
//!
//! The contract, the Python side and why it exists: `streams/ingest/decoder.py`. In short, it does
//! for most events what the reference path (`Normalizer._timed` and `_emit`) does, in one pass
//! without Python objects per field, and steps aside (leaves the event to the reference path) on
//! anything it is not sure of. The columns it fills and where each value comes from are the row
//! map's (`streams/store/layout.py`), handed over in the spec.

use arrow_array::{
    Array, ArrayRef, Float64Array, ListArray, RecordBatch, StringArray, StructArray,
    TimestampMillisecondArray, UInt16Array, UInt8Array,
};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer};
use arrow_data::ffi::FFI_ArrowArray;
use arrow_schema::ffi::FFI_ArrowSchema;
use arrow_schema::{ArrowError, DataType, Field};
use std::sync::Arc;

use crate::buffers::le_bytes;
use crate::check::{float_of, parse_datetime, uuid_key, MAX_US, MIN_US};
use crate::json::{self, J};
use crate::spec::{struct_of, ColKind, Spec};
use crate::{extract, screen};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyDict, PyList, PyTuple};
use rustc_hash::FxHashMap as HashMap;
use sha2::{Digest, Sha256};

/// The identities read as text, in the order the id groups hand them to Python (social apart).
const IDENTITIES: [&str; 6] = [
    "anonymous_id",
    "user_id",
    "email_hash",
    "phone_hash",
    "device_id",
    "loyalty_id",
];
struct StrCol {
    offsets: Vec<i32>,
    data: Vec<u8>,
}

impl Default for StrCol {
    fn default() -> Self {
        StrCol::new()
    }
}

impl StrCol {
    fn new() -> Self {
        StrCol {
            offsets: vec![0],
            data: Vec::new(),
        }
    }
    fn with_rows(n: usize) -> Self {
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        StrCol {
            offsets,
            data: Vec::with_capacity(16 * n),
        }
    }
    fn push(&mut self, s: &str) {
        self.data.extend_from_slice(s.as_bytes());
        self.offsets.push(self.data.len() as i32);
    }
}

/// A column of the row map, as it fills (``spec::ColKind``).
enum ColOut {
    Str(StrCol),
    F64 { values: Vec<f64>, valid: Vec<u8> },
    StrList { lists: Vec<i32>, items: StrCol },
}

impl ColOut {
    fn new(kind: ColKind, rows: usize) -> Self {
        match kind {
            ColKind::Str => ColOut::Str(StrCol::with_rows(rows)),
            ColKind::F64 => ColOut::F64 {
                values: Vec::with_capacity(rows),
                valid: Vec::with_capacity(rows),
            },
            ColKind::StrList => ColOut::StrList {
                lists: vec![0],
                items: StrCol::new(),
            },
        }
    }

    fn append(&mut self, other: ColOut) {
        match (self, other) {
            (ColOut::Str(a), ColOut::Str(b)) => a.append(b),
            (
                ColOut::F64 { values, valid },
                ColOut::F64 {
                    values: v,
                    valid: ok,
                },
            ) => {
                values.extend(v);
                valid.extend(ok);
            }
            (ColOut::StrList { lists, items }, ColOut::StrList { lists: l, items: b }) => {
                let base = (items.offsets.len() - 1) as i32;
                lists.extend(l[1..].iter().map(|o| o + base));
                items.append(b);
            }
            _ => unreachable!("columns are built from one spec"),
        }
    }
}

#[derive(Default)]
struct Out {
    cols: Vec<ColOut>,
    properties: StrCol,
    schema_version: Vec<u16>,
    occurred: Vec<i64>,
    sent: Vec<i64>,
    sent_valid: Vec<u8>, // one byte per row here; packed into Arrow's bitmap at the end
    received: Vec<i64>,
    event_time: Vec<i64>,
    event_time_us: Vec<i64>,
    late: Vec<u8>,
    consent: Vec<u8>,
    id_group: Vec<i32>,
    cls_group: Vec<i32>,
    keys: Vec<u128>,
    digests: Vec<u32>,
    /// Reused for each row: a group's key, the properties' JSON, the event's canonical bytes.
    key: String,
    props: String,
    canon: Vec<u8>,
}

/// Distinct values of a key within a batch, numbered in order of first appearance.
struct Groups<T> {
    index: HashMap<String, i32>,
    values: Vec<T>,
}

impl<T> Groups<T> {
    fn new() -> Self {
        Groups {
            index: HashMap::default(),
            values: Vec::new(),
        }
    }
    /// The key's number; a new key is copied (most rows repeat a group, and allocate nothing).
    fn id(&mut self, key: &str, make: impl FnOnce() -> T) -> i32 {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let next = self.values.len() as i32;
        self.values.push(make());
        self.index.insert(key.to_owned(), next);
        next
    }
}

type Ids = extract::Extracted;
type Class = [Option<String>; 6]; // type, property network, social network, utm_medium, utm_source, referrer

fn text<'a>(v: Option<&J<'a>>) -> Option<&'a str> {
    v.and_then(J::as_str)
}

/// A non-empty text field of a sub-struct (``getattr(x, name) or ""`` reads empty as absent).
type Sub<'a> = (Option<&'a [(&'a str, J<'a>)]>, usize);

fn field<'a>(spec: &'a Spec, (o, i): Sub<'a>, name: &str) -> Option<&'a str> {
    o.and_then(|o| text(spec.get(o, i, name)))
        .filter(|s| !s.is_empty())
}

/// ``parts`` as one text into ``k`` (cleared first), absent parts distinct from empty ones.
fn key_of<'k>(k: &'k mut String, parts: &[Option<&str>]) -> &'k str {
    k.clear();
    for p in parts {
        match p {
            Some(s) => {
                k.push('\u{1}');
                k.push_str(s);
            }
            None => k.push('\u{2}'),
        }
    }
    k.as_str()
}

#[pyclass(frozen)]
pub struct Decoder {
    spec: Spec,
    /// Payloads the PII scrub could change or this path would step aside for: they take the
    /// reference path, scrubbed (``normalize._SCREEN``; bytes, not UTF-8, as RE2 reads them there).
    screen: screen::Screen,
    max_skew: i64,
    future: i64,
    late: i64,
    max_correctable: i64,
    junk: extract::Junk,
    /// The secret the content digest is keyed with (the PII pepper): a producer cannot craft a
    /// different body with a stored event's digest.
    digest_key: Vec<u8>,
    /// Top-level keys left out of the content digest (``fingerprint.TRANSPORT_KEYS``).
    transport_keys: Vec<String>,
    /// Events before it are refused (``eventtime.EARLIEST``), µs since the epoch.
    earliest: i64,
}

/// Batches of at least this many payloads are read in runs on several threads (below it, on one:
/// starting a thread costs about what reading a few dozen events does).
const SPLIT_AT: usize = 1024;

/// What one thread reads of a batch: rows, their groups, and the per-payload flags.
struct Part {
    out: Out,
    ids: Groups<Ids>,
    cls: Groups<Class>,
    native: Vec<u8>,
    flagged: Vec<u8>,
}

impl StrCol {
    fn append(&mut self, other: StrCol) {
        let base = self.data.len() as i32;
        self.offsets
            .extend(other.offsets[1..].iter().map(|o| o + base));
        self.data.extend_from_slice(&other.data);
    }
}

impl<T> Groups<T> {
    /// Takes ``other``'s groups in; returns where each of its numbers went (first appearance
    /// order is kept: ours, then its new ones in its order).
    fn absorb(&mut self, other: Groups<T>) -> Vec<i32> {
        let mut keys = vec![String::new(); other.values.len()];
        for (k, i) in other.index {
            keys[i as usize] = k;
        }
        keys.into_iter()
            .zip(other.values)
            .map(|(k, v)| {
                if let Some(&i) = self.index.get(&k) {
                    return i;
                }
                let next = self.values.len() as i32;
                self.values.push(v);
                self.index.insert(k, next);
                next
            })
            .collect()
    }
}

impl Part {
    /// ``other``'s rows after ours, its group numbers renumbered into ours.
    fn append(&mut self, other: Part) {
        let (a, b) = (&mut self.out, other.out);
        for (col, o) in a.cols.iter_mut().zip(b.cols) {
            col.append(o);
        }
        a.properties.append(b.properties);
        // The per-row columns that need no renumbering.
        macro_rules! rows {
            ($($col:ident),*) => { $(a.$col.extend(b.$col);)* };
        }
        rows!(
            schema_version,
            occurred,
            sent,
            sent_valid,
            received,
            event_time,
            event_time_us,
            late,
            consent,
            keys,
            digests
        );
        let ids = self.ids.absorb(other.ids);
        a.id_group.extend(
            b.id_group
                .iter()
                .map(|&g| if g < 0 { g } else { ids[g as usize] }),
        );
        let cls = self.cls.absorb(other.cls);
        a.cls_group
            .extend(b.cls_group.iter().map(|&g| cls[g as usize]));
        self.native.extend(other.native);
        self.flagged.extend(other.flagged);
    }
}

impl Decoder {
    /// A run of payloads, in order, on the calling thread.
    fn part(&self, raws: &[&[u8]], arrived_us: &[i64]) -> Part {
        let mut out = Out {
            cols: (self.spec.columns.iter())
                .map(|c| ColOut::new(c.kind, raws.len()))
                .collect(),
            properties: StrCol::with_rows(raws.len()),
            ..Default::default()
        };
        let mut ids = Groups::<Ids>::new();
        let mut cls = Groups::<Class>::new();
        let mut native = Vec::with_capacity(raws.len());
        let mut flagged = Vec::with_capacity(raws.len());
        for (raw, &at) in raws.iter().zip(arrived_us) {
            let f = self.screen.is_match(raw);
            flagged.push(f as u8);
            native.push((!f && self.one(raw, at, &mut out, &mut ids, &mut cls)) as u8);
        }
        Part {
            out,
            ids,
            cls,
            native,
            flagged,
        }
    }

    /// One event into ``out``; false (and nothing pushed) when it steps aside. ``raw`` has passed
    /// the screen.
    fn one(
        &self,
        raw: &[u8],
        arrived: i64,
        out: &mut Out,
        ids: &mut Groups<Ids>,
        cls: &mut Groups<Class>,
    ) -> bool {
        let spec = &self.spec;
        if raw.len() > spec.max_bytes {
            return false;
        }
        let Some(J::Obj(ev)) = json::parse(raw, self.screen.implies_plain()) else {
            return false;
        };
        let Some(etype) = text(json::lookup(&ev, "type")) else {
            return false;
        };
        let Some(es) = spec.events.get(etype) else {
            return false;
        };
        if !es.native || !spec.valid_struct(&ev, es.st) {
            return false;
        }
        let st = es.st;
        let get = |name: &str| spec.get(&ev, st, name);
        let sub = |name: &str| -> Sub {
            let s = &spec.structs[st];
            let i = struct_of(&s.fields[s.index[name]].ty).unwrap_or(0);
            (get(name).and_then(J::as_object), i)
        };
        let field = |at, name: &str| field(spec, at, name);
        let (idn, ctx, consent_o) = (sub("identities"), sub("context"), sub("consent"));
        let channel = text(get("channel")).unwrap_or("");
        // The store events' model validator: a store event names its store.
        if channel == "store" && field(ctx, "store_id").is_none() {
            return false;
        }
        let Some(event_id) = text(get("event_id")) else {
            return false;
        };
        let Some(key) = uuid_key(event_id) else {
            return false;
        };

        // Times, as ``eventtime.derive``; any refusal steps aside so the reference path names it.
        let dt = |name: &str| text(get(name)).map(parse_datetime);
        let Some(Some(occurred)) = dt("occurred_at") else {
            return false;
        };
        let sent = match dt("sent_at") {
            Some(None) => return false,
            Some(Some(x)) => Some(x),
            None => None,
        };
        let received = match dt("received_at") {
            Some(None) => return false,
            Some(Some(x)) => x,
            None => arrived,
        };
        let mut t = occurred;
        if let Some(s) = sent {
            let skew = received - s;
            if skew.abs() > self.max_correctable {
                return false;
            }
            if skew.abs() > self.max_skew {
                t = occurred + skew;
            }
        }
        let mut ahead = t - received;
        if ahead > self.future || t < self.earliest || !(MIN_US..=MAX_US).contains(&t) {
            return false;
        }
        if ahead > 0 {
            (t, ahead) = (received, 0);
        }

        // Properties: the columns they feed, and their JSON as the model dumps it.
        let props_ty = &spec.structs[st].fields[spec.structs[st].index["properties"]].ty;
        let props_v = get("properties");
        let mut props_json = std::mem::take(&mut out.props);
        props_json.clear();
        let encoded = spec.encode(props_v, props_ty, &mut props_json);
        out.props = props_json;
        if !encoded {
            return false;
        }
        let props_o = props_v.and_then(J::as_object);
        let prop = |name: &str| -> Option<&J> {
            let (o, p) = (props_o?, es.props?);
            spec.get(o, p, name)
        };
        let prop_text = |name: &str| text(prop(name)).filter(|s| !s.is_empty());

        let consent = consent_o
            .0
            .and_then(|o| spec.get(o, consent_o.1, "analytics"))
            .and_then(J::as_bool);
        let Some(consent) = consent else { return false };
        let social_o = idn
            .0
            .and_then(|o| spec.get(o, idn.1, "social"))
            .and_then(J::as_object);
        let social_i = {
            let s = &spec.structs[idn.1];
            s.index
                .get("social")
                .and_then(|&i| struct_of(&s.fields[i].ty))
                .unwrap_or(0)
        };
        let social_text = |name: &str| social_o.and_then(|o| text(spec.get(o, social_i, name)));
        let (net, handle) = (social_text("network"), social_text("handle"));
        let device_kind = field(ctx, "device_kind");
        let shared = device_kind.is_some_and(|k| spec.shared_kinds.iter().any(|s| s == k));

        // Identity: one group per distinct set of identities in the batch (Python extracts once).
        let id_group = if consent {
            let raw_ids: [Option<&str>; 6] =
                IDENTITIES.map(|n| idn.0.and_then(|o| text(spec.get(o, idn.1, n))));
            let verified = idn
                .0
                .and_then(|o| spec.get(o, idn.1, "crm_verified"))
                .and_then(J::as_bool)
                .unwrap_or(false);
            let [a, b, c, d, e, f] = raw_ids;
            let parts = [
                a,
                b,
                c,
                d,
                e,
                f,
                net,
                handle,
                Some(if verified { "v" } else { "-" }),
                Some(if shared { "s" } else { "-" }),
            ];
            ids.id(key_of(&mut out.key, &parts), || {
                let [anon, user, email, phone, device, loyalty] =
                    [0, 1, 2, 3, 4, 5].map(|i| raw_ids[i]);
                self.junk.extract(
                    [user, loyalty, email, phone, device, anon],
                    net.zip(handle),
                    verified,
                    shared,
                )
            })
        } else {
            -1
        };
        let class_parts = [
            Some(etype),
            prop_text("network"),
            net,
            field(ctx, "utm_medium"),
            field(ctx, "utm_source"),
            field(ctx, "referrer"),
        ];
        let cls_group = cls.id(key_of(&mut out.key, &class_parts), || {
            class_parts.map(|x| x.map(str::to_owned))
        });

        // All checks passed: push the row. The row map's columns, each from its sources in order.
        for (c, col) in spec.columns.iter().zip(out.cols.iter_mut()) {
            let hidden = c.personal && !consent;
            let values = c
                .sources
                .iter()
                .filter_map(|path| spec.at(&ev, st, path))
                .filter(|_| !hidden);
            match col {
                ColOut::Str(s) => {
                    s.push(
                        values
                            .filter_map(J::as_str)
                            .find(|t| !t.is_empty())
                            .unwrap_or(""),
                    );
                }
                ColOut::F64 { values: v, valid } => {
                    let mut floats = values.filter_map(float_of);
                    let x = if c.sum {
                        Some(floats.fold(0.0, |acc, x| acc + x))
                    } else {
                        floats.next()
                    };
                    v.push(x.unwrap_or(0.0));
                    valid.push((x.is_some() || !c.nullable) as u8);
                }
                ColOut::StrList { lists, items } => {
                    for s in values.filter_map(J::as_array).next().into_iter().flatten() {
                        items.push(s.as_str().unwrap_or(""));
                    }
                    lists.push((items.offsets.len() - 1) as i32);
                }
            }
        }
        out.properties.push(&out.props);
        let version = get("schema_version").and_then(J::as_i64).unwrap_or(1);
        out.schema_version.push(version as u16);
        // The table keeps milliseconds; Python's conversion truncates, as integer division does here
        // (times are after 2000, so positive).
        out.occurred.push(occurred / 1000);
        out.sent.push(sent.unwrap_or(0) / 1000);
        out.sent_valid.push(sent.is_some() as u8);
        out.received.push(received / 1000);
        out.event_time.push(t / 1000);
        out.event_time_us.push(t);
        out.late.push((-ahead > self.late) as u8);
        out.consent.push(consent as u8);
        out.id_group.push(id_group);
        out.cls_group.push(cls_group);
        out.keys.push(key);
        // The content identifies a retry (``dedupe``): a keyed SHA-256 of its canonical bytes, without
        // the transport times a retry may add or change (``streams/ingest/fingerprint.py``).
        out.canon.clear();
        json::canonical_object(&ev, &self.transport_keys, &mut out.canon);
        let digest = Sha256::new()
            .chain_update(&self.digest_key)
            .chain_update(&out.canon)
            .finalize();
        out.digests.push(u32::from_le_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]));
        true
    }
}

#[pymethods]
impl Decoder {
    #[new]
    #[pyo3(signature = (spec, *, screen, max_skew_us, future_tolerance_us, late_allowance_us, max_correctable_skew_us, earliest_us, junk_values, junk_hashes, digest_key, transport_keys))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        spec: &str,
        screen: &str,
        max_skew_us: i64,
        future_tolerance_us: i64,
        late_allowance_us: i64,
        max_correctable_skew_us: i64,
        earliest_us: i64,
        junk_values: Vec<String>,
        junk_hashes: Vec<String>,
        digest_key: Vec<u8>,
        transport_keys: Vec<String>,
    ) -> PyResult<Self> {
        Ok(Decoder {
            spec: Spec::parse(spec).map_err(PyValueError::new_err)?,
            screen: screen::Screen::new(screen).map_err(PyValueError::new_err)?,
            max_skew: max_skew_us,
            future: future_tolerance_us,
            late: late_allowance_us,
            max_correctable: max_correctable_skew_us,
            junk: extract::Junk {
                values: junk_values.into_iter().collect(),
                hashes: junk_hashes.into_iter().collect(),
            },
            digest_key,
            transport_keys,
            earliest: earliest_us,
        })
    }

    /// True when the screen is the hand-written scanner (for the pattern Python sends today) rather
    /// than a compiled regex.
    #[getter]
    fn hand_screen(&self) -> bool {
        self.screen.implies_plain()
    }

    /// Decode a batch: ``payloads[i]`` arrived at ``arrived_us[i]`` (our clock, µs since the epoch).
    /// ``threads``: how many runs a batch of at least ``SPLIT_AT`` payloads is read in at once; the
    /// result does not depend on it.
    #[pyo3(signature = (payloads, arrived_us, *, threads = 2))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        payloads: Vec<Bound<'py, PyBytes>>,
        arrived_us: Vec<i64>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        if payloads.len() != arrived_us.len() {
            return Err(PyValueError::new_err(
                "payloads and arrived_us differ in length",
            ));
        }
        // Read the batch without the GIL: the identity stage's thread and the store's run meanwhile.
        // The slices borrow bytes objects that `payloads` keeps alive, and bytes are immutable.
        let raws: Vec<&[u8]> = payloads.iter().map(|p| p.as_bytes()).collect();
        let Part {
            mut out,
            ids,
            cls,
            native,
            flagged,
        } = py.detach(|| {
            let parts = if raws.len() >= SPLIT_AT {
                threads.max(1)
            } else {
                1
            };
            let chunk = raws.len().div_ceil(parts).max(1);
            // Runs of a batch on threads of their own, joined in order: the loop thread waits here
            // with the GIL released, so the other core (often idle at this point) reads half.
            let mut runs = raws.chunks(chunk).zip(arrived_us.chunks(chunk));
            let (r0, a0) = runs.next().unwrap_or_default();
            std::thread::scope(|scope| {
                let others: Vec<_> = runs
                    .map(|(r, a)| {
                        // Named, so that per-thread CPU (bench/cpu.py) is not counted as Python's.
                        // A run no thread could be started for is read here, after the first.
                        std::thread::Builder::new()
                            .name("parcours-decode".into())
                            .spawn_scoped(scope, move || self.part(r, a))
                            .map_err(|_| (r, a))
                    })
                    .collect();
                let mut whole = self.part(r0, a0);
                for run in others {
                    whole.append(match run {
                        Ok(h) => h.join().expect("decoder thread panicked"),
                        Err((r, a)) => self.part(r, a),
                    });
                }
                whole
            })
        });
        let d = PyDict::new(py);
        d.set_item("native", PyBytes::new(py, &native))?;
        d.set_item("flagged", PyBytes::new(py, &flagged))?;
        d.set_item("rows", out.keys.len())?;
        d.set_item("keys", le_bytes(py, &out.keys, u128::to_le_bytes))?;
        d.set_item("digests", le_bytes(py, &out.digests, u32::to_le_bytes))?;
        d.set_item(
            "event_time_us",
            le_bytes(py, &out.event_time_us, i64::to_le_bytes),
        )?;
        let batch = columns_batch(&self.spec, &mut out)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        d.set_item("columns", arrow_capsules(py, batch)?)?;
        d.set_item("id_group", le_bytes(py, &out.id_group, i32::to_le_bytes))?;
        d.set_item("cls_group", le_bytes(py, &out.cls_group, i32::to_le_bytes))?;
        // Per group, and one more (empty) for rows without analytics consent: the events table's
        // identifier columns and whether its events link, so that Python does nothing per group.
        let mut lists = vec![0i32];
        let (mut idents, mut primary) = (StrCol::new(), StrCol::new());
        let mut linked = Vec::with_capacity(ids.values.len() + 1);
        for (kept, refused, _) in &ids.values {
            for k in kept {
                idents.push(k);
            }
            lists.push((idents.offsets.len() - 1) as i32);
            primary.push(kept.first().map_or("", String::as_str));
            linked.push((kept.len() > 1 || !refused.is_empty()) as u8);
        }
        lists.push((idents.offsets.len() - 1) as i32);
        primary.push("");
        linked.push(0);
        d.set_item(
            "group_identifiers",
            (
                le_bytes(py, &lists, i32::to_le_bytes),
                le_bytes(py, &idents.offsets, i32::to_le_bytes),
                PyBytes::new(py, &idents.data),
            ),
        )?;
        d.set_item(
            "group_primary",
            (
                le_bytes(py, &primary.offsets, i32::to_le_bytes),
                PyBytes::new(py, &primary.data),
            ),
        )?;
        d.set_item("group_linked", PyBytes::new(py, &linked))?;
        let id_groups = PyList::empty(py);
        for (kept, refused, verified) in ids.values {
            id_groups.append((
                PyTuple::new(py, kept)?,
                PyTuple::new(py, refused)?,
                verified,
            ))?;
        }
        d.set_item("id_groups", id_groups)?;
        let cls_groups = PyList::empty(py);
        for parts in cls.values {
            cls_groups.append(PyTuple::new(py, parts)?)?;
        }
        d.set_item("cls_groups", cls_groups)?;
        Ok(d)
    }
}

/// The events table's columns the decoder fills, as one Arrow record batch: the row map's
/// (``spec.columns``) and its own (times, version, flags, the properties' JSON).
fn columns_batch(spec: &Spec, out: &mut Out) -> Result<RecordBatch, ArrowError> {
    let mut columns: Vec<(&str, ArrayRef)> = Vec::with_capacity(spec.columns.len() + 8);
    for (c, col) in spec.columns.iter().zip(std::mem::take(&mut out.cols)) {
        let array: ArrayRef = match col {
            ColOut::Str(s) => strings(s),
            ColOut::F64 { values, valid } => {
                let nulls = c
                    .nullable
                    .then(|| NullBuffer::from_iter(valid.iter().map(|&v| v == 1)));
                Arc::new(Float64Array::new(values.into(), nulls))
            }
            ColOut::StrList { lists, items } => Arc::new(ListArray::try_new(
                Arc::new(Field::new("item", DataType::Utf8, true)),
                OffsetBuffer::new(lists.into()),
                strings(items),
                None,
            )?),
        };
        columns.push((&c.name, array));
    }
    let ms = |v: &mut Vec<i64>, nulls: Option<NullBuffer>| -> ArrayRef {
        Arc::new(
            TimestampMillisecondArray::new(std::mem::take(v).into(), nulls).with_timezone("UTC"),
        )
    };
    let sent_nulls = NullBuffer::from_iter(out.sent_valid.iter().map(|&v| v == 1));
    columns.push(("properties", strings(std::mem::take(&mut out.properties))));
    columns.push(("occurred_at", ms(&mut out.occurred, None)));
    columns.push(("sent_at", ms(&mut out.sent, Some(sent_nulls))));
    columns.push(("received_at", ms(&mut out.received, None)));
    columns.push(("event_time", ms(&mut out.event_time, None)));
    let version = std::mem::take(&mut out.schema_version);
    columns.push((
        "schema_version",
        Arc::new(UInt16Array::new(version.into(), None)),
    ));
    columns.push((
        "late",
        Arc::new(UInt8Array::new(std::mem::take(&mut out.late).into(), None)),
    ));
    let consent = std::mem::take(&mut out.consent);
    columns.push((
        "consent_analytics",
        Arc::new(UInt8Array::new(consent.into(), None)),
    ));
    RecordBatch::try_from_iter(columns)
}

fn strings(c: StrCol) -> ArrayRef {
    // SAFETY: offsets start at 0 and grow with every push of a &str, so they are in bounds and
    // each value is valid UTF-8.
    Arc::new(unsafe {
        StringArray::new_unchecked(
            OffsetBuffer::new_unchecked(c.offsets.into()),
            Buffer::from_vec(c.data),
            None,
        )
    })
}

/// A record batch as the Arrow PyCapsule interface hands it over: ("arrow_schema", "arrow_array")
/// capsules that pyarrow imports without a copy (``RecordBatch._import_from_c_capsule``). A capsule
/// pyarrow did not take releases its data when it is dropped.
fn arrow_capsules<'py>(py: Python<'py>, batch: RecordBatch) -> PyResult<Bound<'py, PyTuple>> {
    let data = StructArray::from(batch).into_data();
    let schema = FFI_ArrowSchema::try_from(data.data_type())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let array = FFI_ArrowArray::new(&data);
    let schema =
        PyCapsule::new_with_destructor(py, schema, Some(c"arrow_schema".into()), |_, _| {})?;
    let array = PyCapsule::new_with_destructor(py, array, Some(c"arrow_array".into()), |_, _| {})?;
    PyTuple::new(py, [schema.into_any(), array.into_any()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::tests::visit_spec;

    fn decoder() -> Decoder {
        let cols = r#"[
            {"name":"z","kind":"f64","sources":[["properties","x"],["context","y_num"]],"nullable":true},
            {"name":"where","kind":"str","sources":[["context","y"],["type"]]},
            {"name":"anon","kind":"str","sources":[["identities","anonymous_id"]],"personal":true}
        ]"#;
        Decoder::new(
            &visit_spec(cols),
            "@",
            300_000_000,
            60_000_000,
            3_600_000_000,
            86_400_000_000,
            946_684_800_000_000,
            vec![],
            vec![],
            b"key".to_vec(),
            vec!["sent_at".into(), "received_at".into(), "event_id".into()],
        )
        .unwrap()
    }

    fn event(extra: &str) -> Vec<u8> {
        format!(
            r#"{{"event_id":"6f9619ff-8b86-d011-b42d-00c04fc964ff","type":"visit",
                "occurred_at":"2026-03-02T10:00:00Z"{extra}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn each_column_takes_its_first_present_source_and_identifiers_need_consent() {
        let d = decoder();
        let raws = [
            event(
                r#","properties":{"x":2},"context":{"y":"paris"},"identities":{"anonymous_id":"ck"}"#,
            ),
            event(r#","identities":{"anonymous_id":"ck"},"consent":{"analytics":false}"#),
        ];
        let refs: Vec<&[u8]> = raws.iter().map(Vec::as_slice).collect();
        let arrived = 1_772_445_600_000_000; // 2026-03-02T10:00:00Z
        let part = d.part(&refs, &[arrived, arrived]);
        assert_eq!(part.native, [1, 1]);
        let ColOut::F64 { values, valid } = &part.out.cols[0] else {
            panic!()
        };
        assert_eq!(
            (values.as_slice(), valid.as_slice()),
            ([2.0, 0.0].as_slice(), [1, 0].as_slice())
        );
        let ColOut::Str(place) = &part.out.cols[1] else {
            panic!()
        };
        assert_eq!(
            place.data, b"parisvisit",
            "the second falls back to the type"
        );
        let ColOut::Str(anon) = &part.out.cols[2] else {
            panic!()
        };
        assert_eq!(anon.data, b"ck", "no identifier without analytics consent");
    }

    #[test]
    fn an_event_it_is_unsure_of_steps_aside_and_leaves_no_row() {
        let d = decoder();
        let raws = [event(r#","properties":{"x":"two"}"#), b"not json".to_vec()];
        let refs: Vec<&[u8]> = raws.iter().map(Vec::as_slice).collect();
        let part = d.part(&refs, &[0, 0]);
        assert_eq!(part.native, [0, 0]);
        assert!(part.out.keys.is_empty());
    }
}
