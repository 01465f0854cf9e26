//! Parcours' batch decoder: raw event payloads → the events table's columns, as Arrow buffers.
//!
//! The contract, the Python side and why it exists: `streams/native.py`. In short, it does
//! for most events what `Normalizer._timed` and `_emit` do, in one pass without Python objects per
//! field, and steps aside (leaves the event to the reference path) on anything it is not sure of.

mod check;
mod extract;
mod graph;
mod json;
mod records;
mod screen;
mod spec;

use check::{float_of, parse_datetime, uuid_key, MAX_US, MIN_US};
use json::J;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use rustc_hash::FxHashMap as HashMap;
use sha2::{Digest, Sha256};
use spec::{struct_of, Spec};

/// The events table's text columns this module fills, in this order.
const STR_COLS: [&str; 28] = [
    "event_id",
    "type",
    "channel",
    "anonymous_id",
    "user_id",
    "email_hash",
    "phone_hash",
    "social_network",
    "social_handle",
    "device_id",
    "device_kind",
    "loyalty_id",
    "currency",
    "order_id",
    "store_id",
    "fitting_room_id",
    "session_id",
    "sku",
    "post_id",
    "reply_to_id",
    "network",
    "spot_id",
    "tv_channel",
    "tv_programme",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "properties",
];
/// The identities read as text, in the order the id groups hand them to Python (social apart).
const IDENTITIES: [&str; 6] = [
    "anonymous_id",
    "user_id",
    "email_hash",
    "phone_hash",
    "device_id",
    "loyalty_id",
];
/// 2000-01-01T00:00:00Z: events before it are refused (``eventtime.EARLIEST``).
const EARLIEST_US: i64 = 946_684_800_000_000;
/// Top-level keys left out of an event's content digest: the transport times a retry may add or
/// change, and the id (the digest is compared under it; a retry may write it in upper case).
const TRANSPORT_KEYS: &[&str] = &["sent_at", "received_at", "event_id"];

struct StrCol {
    offsets: Vec<i32>,
    data: Vec<u8>,
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

#[derive(Default)]
struct Out {
    strs: Vec<StrCol>,
    schema_version: Vec<u16>,
    occurred: Vec<i64>,
    sent: Vec<i64>,
    sent_valid: Vec<u8>, // one byte per row here; packed into Arrow's bitmap at the end
    received: Vec<i64>,
    event_time: Vec<i64>,
    event_time_us: Vec<i64>,
    late: Vec<u8>,
    consent: Vec<u8>,
    revenue: Vec<f64>,
    cost: Vec<f64>,
    skus_offsets: Vec<i32>,
    skus: Option<StrCol>,
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

/// The first of two optional texts, else "": Python's ``a or b or ""``.
fn or<'a>(a: Option<&'a str>, b: Option<&'a str>) -> &'a str {
    a.or(b).unwrap_or("")
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
struct Decoder {
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
        for (col, o) in a.strs.iter_mut().zip(b.strs) {
            col.append(o);
        }
        let sku_base = a.skus.as_ref().map_or(0, |s| s.offsets.len() - 1) as i32;
        a.skus_offsets
            .extend(b.skus_offsets[1..].iter().map(|o| o + sku_base));
        if let Some(bs) = b.skus {
            a.skus.get_or_insert_with(StrCol::new).append(bs);
        }
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
            revenue,
            cost,
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
            strs: (0..STR_COLS.len())
                .map(|_| StrCol::with_rows(raws.len()))
                .collect(),
            ..Default::default()
        };
        out.skus_offsets.push(0);
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
        if ahead > self.future || t < EARLIEST_US || !(MIN_US..=MAX_US).contains(&t) {
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
        let prop_float = |name: &str| prop(name).and_then(float_of).unwrap_or(0.0);

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

        // All checks passed: push the row.
        let ident = |name: &str| {
            if consent {
                field(idn, name).unwrap_or("")
            } else {
                ""
            }
        };
        let ctx_text = |name: &str| field(ctx, name).unwrap_or("");
        let values: [&str; 27] = [
            event_id,
            etype,
            channel,
            ident("anonymous_id"),
            ident("user_id"),
            ident("email_hash"),
            ident("phone_hash"),
            if consent { net.unwrap_or("") } else { "" },
            if consent { handle.unwrap_or("") } else { "" },
            ident("device_id"),
            device_kind.unwrap_or(""),
            ident("loyalty_id"),
            or(prop_text("currency"), None),
            or(prop_text("order_id"), None),
            ctx_text("store_id"),
            ctx_text("fitting_room_id"),
            or(prop_text("session_id"), None),
            or(prop_text("sku"), None),
            or(prop_text("post_id"), None),
            or(prop_text("reply_to_id"), prop_text("question_id")),
            or(prop_text("network"), None),
            or(prop_text("spot_id"), field(ctx, "tv_spot_id")),
            or(prop_text("tv_channel"), None),
            or(prop_text("programme"), field(ctx, "tv_programme")),
            ctx_text("utm_source"),
            ctx_text("utm_medium"),
            or(field(ctx, "utm_campaign"), prop_text("campaign")),
        ];
        for (col, v) in out.strs.iter_mut().zip(values) {
            col.push(v);
        }
        out.strs[STR_COLS.len() - 1].push(&out.props); // "properties", the last
        let skus = out.skus.get_or_insert_with(StrCol::new);
        for s in prop("skus").and_then(J::as_array).into_iter().flatten() {
            skus.push(s.as_str().unwrap_or(""));
        }
        out.skus_offsets.push((skus.offsets.len() - 1) as i32);
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
        out.revenue.push(prop_float("revenue"));
        out.cost.push(prop_float("cost") + prop_float("spend"));
        out.id_group.push(id_group);
        out.cls_group.push(cls_group);
        out.keys.push(key);
        // The content identifies a retry (``dedupe``): a keyed SHA-256 of its canonical bytes, without
        // the transport times a retry may add or change (``streams/ingest/fingerprint.py``).
        out.canon.clear();
        json::canonical_object(&ev, TRANSPORT_KEYS, &mut out.canon);
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

fn le_bytes<'py, T: Copy, const N: usize>(
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

fn bitmap(valid: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; valid.len().div_ceil(8)];
    for (i, &v) in valid.iter().enumerate() {
        b[i / 8] |= v << (i % 8);
    }
    b
}

#[pymethods]
impl Decoder {
    #[new]
    #[pyo3(signature = (spec, *, screen, max_skew_us, future_tolerance_us, late_allowance_us, max_correctable_skew_us, junk_values, junk_hashes, digest_key))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        spec: &str,
        screen: &str,
        max_skew_us: i64,
        future_tolerance_us: i64,
        late_allowance_us: i64,
        max_correctable_skew_us: i64,
        junk_values: Vec<String>,
        junk_hashes: Vec<String>,
        digest_key: Vec<u8>,
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
            out,
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
        let cols = PyDict::new(py);
        for (name, c) in STR_COLS.iter().zip(&out.strs) {
            let offsets = le_bytes(py, &c.offsets, i32::to_le_bytes);
            cols.set_item(
                *name,
                PyTuple::new(py, [offsets, PyBytes::new(py, &c.data)])?,
            )?;
        }
        let skus = out.skus.unwrap_or_else(StrCol::new);
        cols.set_item(
            "skus",
            (
                le_bytes(py, &out.skus_offsets, i32::to_le_bytes),
                le_bytes(py, &skus.offsets, i32::to_le_bytes),
                PyBytes::new(py, &skus.data),
            ),
        )?;
        for (name, v) in [
            ("occurred_at", &out.occurred),
            ("received_at", &out.received),
            ("event_time", &out.event_time),
            ("event_time_us", &out.event_time_us),
        ] {
            cols.set_item(name, le_bytes(py, v, i64::to_le_bytes))?;
        }
        cols.set_item(
            "sent_at",
            (
                le_bytes(py, &out.sent, i64::to_le_bytes),
                PyBytes::new(py, &bitmap(&out.sent_valid)),
            ),
        )?;
        cols.set_item(
            "schema_version",
            le_bytes(py, &out.schema_version, u16::to_le_bytes),
        )?;
        cols.set_item("late", PyBytes::new(py, &out.late))?;
        cols.set_item("consent_analytics", PyBytes::new(py, &out.consent))?;
        cols.set_item("revenue", le_bytes(py, &out.revenue, f64::to_le_bytes))?;
        cols.set_item("cost", le_bytes(py, &out.cost, f64::to_le_bytes))?;
        d.set_item("columns", cols)?;
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

/// The dedupe window (``streams.ingest.dedupe``): the last `size` event ids and their bodies'
/// digests, oldest evicted first. ~45 bytes an id, against ~170 in a Python OrderedDict of ints.
#[pyclass]
struct Window {
    size: usize,
    seen: HashMap<u128, u32>,
    order: std::collections::VecDeque<u128>,
}

#[pymethods]
impl Window {
    #[new]
    fn new(size: usize) -> Self {
        Window {
            size,
            seen: HashMap::default(),
            order: std::collections::VecDeque::new(),
        }
    }

    /// One status per id, in order: 0 new (now remembered), 1 duplicate, 2 same id, other body.
    /// ``keys``: 16 bytes an id (little-endian u128), ``digests``: 4 bytes each (little-endian u32).
    fn check<'py>(
        &mut self,
        py: Python<'py>,
        keys: &[u8],
        digests: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let n = digests.len() / 4;
        if digests.len() != 4 * n || keys.len() != 16 * n {
            return Err(PyValueError::new_err("keys and digests differ in count"));
        }
        let mut status = Vec::with_capacity(digests.len() / 4);
        for (k, d) in keys.chunks_exact(16).zip(digests.chunks_exact(4)) {
            let key = u128::from_le_bytes(k.try_into().unwrap_or_default());
            let digest = u32::from_le_bytes(d.try_into().unwrap_or_default());
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
        Ok(PyBytes::new(py, &status))
    }

    /// Set the digests of ids the store holds (the stored event's, after a copy with another body
    /// was refused): a later copy is judged against the original, not against the refused one.
    fn remember(&mut self, keys: &[u8], digests: &[u8]) -> PyResult<()> {
        if digests.len() % 4 != 0 || keys.len() != 4 * digests.len() {
            return Err(PyValueError::new_err("keys and digests differ in count"));
        }
        for (k, d) in keys.chunks_exact(16).zip(digests.chunks_exact(4)) {
            let key = u128::from_le_bytes(k.try_into().unwrap_or_default());
            let digest = u32::from_le_bytes(d.try_into().unwrap_or_default());
            if self.seen.insert(key, digest).is_none() {
                self.order.push_back(key);
            }
        }
        Ok(())
    }

    fn __len__(&self) -> usize {
        self.seen.len()
    }
}

/// A fetched record set (one partition's bytes) → ``(values, timestamps_ms, offsets, next_offset)``,
/// the two arrays as little-endian i64 bytes; None where aiokafka must read it (``records.rs``).
#[pyfunction]
#[pyo3(signature = (set, fetch_offset, *, check_crc))]
fn read_records<'py>(
    py: Python<'py>,
    set: &[u8],
    fetch_offset: i64,
    check_crc: bool,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    // The slice borrows the bytes object the caller holds; bytes are immutable.
    let Some(r) = py.detach(|| records::read(set, fetch_offset, check_crc)) else {
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

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_records, m)?)?;
    m.add_class::<Decoder>()?;
    m.add_class::<Window>()?;
    m.add_class::<graph::Graph>()?;
    Ok(())
}
