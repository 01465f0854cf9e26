//! The native module's hand-written readers against crates that do the same work, on the same
//! bytes, in one run: `records::read` against kafka-protocol's record-batch decoder, and
//! `json::parse` against simd-json's borrowed values. Prints one JSON object (python -m bench.native).
//!
//! Usage: parcours-native-compare CORPUS_FILE (one event payload a line) [ROUNDS]

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Nanoseconds an item, median of `rounds` timings of `f` over `n` items.
fn time(rounds: usize, n: usize, mut f: impl FnMut() -> usize) -> f64 {
    let mut per = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t0 = Instant::now();
        let got = f();
        assert_eq!(got, n);
        per.push(t0.elapsed().as_nanos() as f64 / n as f64);
    }
    median(per)
}

/// The payloads as Kafka stores them: batches of 500 records (a producer's typical batch).
fn record_set(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for (b, chunk) in payloads.chunks(500).enumerate() {
        let records: Vec<Record> = chunk
            .iter()
            .enumerate()
            .map(|(i, p)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: 7,
                producer_epoch: 0,
                timestamp_type: TimestampType::Creation,
                offset: (b * 500 + i) as i64,
                sequence: (b * 500 + i) as i32,
                timestamp: 1_772_445_600_000 + i as i64,
                key: None,
                value: Some(Bytes::copy_from_slice(p)),
                headers: Default::default(),
            })
            .collect();
        let options = RecordEncodeOptions { version: 2, compression: Compression::None };
        RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encodes");
    }
    buf.to_vec()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read(&args[1]).expect("corpus file");
    let rounds: usize = args.get(2).map_or(7, |r| r.parse().expect("rounds"));
    let payloads: Vec<Vec<u8>> = text
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let n = payloads.len();
    let records_events = n;

    // Kafka record sets: both read the same bytes, CRC checked, and agree on every value.
    let set = record_set(&payloads);
    let ours = _native::records::read(&set, 0, true).expect("ours reads it");
    let mut theirs_buf = Bytes::from(set.clone());
    let mut theirs = Vec::new();
    while !theirs_buf.is_empty() {
        theirs.extend(RecordBatchDecoder::decode(&mut theirs_buf).expect("theirs reads it").records);
    }
    assert_eq!(ours.values.len(), n);
    assert!(ours.values.iter().zip(&theirs).all(|(a, b)| b.value.as_deref() == Some(*a)));
    let records_ours = time(rounds, n, || _native::records::read(&set, 0, true).unwrap().values.len());
    let shared = Bytes::from(set.clone()); // cloned per run as a reference count, not a copy
    let records_theirs = time(rounds, n, || {
        let mut buf = shared.clone();
        let mut count = 0;
        while !buf.is_empty() {
            count += RecordBatchDecoder::decode(&mut buf).unwrap().records.len();
        }
        count
    });

    // JSON: every payload to a borrowed document. simd-json parses in place, so it is handed a copy.
    // Only the payloads the hand-written reader takes (ASCII without escapes: the rest step aside
    // to the reference path before any reader runs), so that both do the same work.
    let payloads: Vec<Vec<u8>> = payloads
        .into_iter()
        .filter(|p| _native::json::parse(p, false).is_some())
        .collect();
    let json_events = payloads.len();
    let n = json_events;
    let json_ours = time(rounds, n, || {
        payloads.iter().filter(|p| _native::json::parse(p, false).is_some()).count()
    });
    let json_theirs = time(rounds, n, || {
        payloads
            .iter()
            .filter(|p| {
                let mut copy = p.to_vec();
                let ok = simd_json::to_borrowed_value(&mut copy).is_ok();
                ok
            })
            .count()
    });
    let json_copy_only = time(rounds, n, || payloads.iter().map(|p| p.to_vec()).filter(|c| !c.is_empty()).count());
    // An event's id and time, as the envelope carries them: the hand-written readers in check.rs
    // against the uuid and jiff crates (which accept more spellings: what the models refuse would
    // need checking around them).
    let texts: Vec<(String, String)> = payloads
        .iter()
        .filter_map(|p| {
            let Some(_native::json::J::Obj(o)) = _native::json::parse(p, false) else {
                return None;
            };
            let text = |k: &str| _native::json::lookup(&o, k).and_then(|v| v.as_str()).map(str::to_owned);
            Some((text("event_id")?, text("occurred_at")?))
        })
        .collect();
    let m = texts.len();
    let uuid_ours = time(rounds, m, || texts.iter().filter(|(id, _)| _native::check::uuid_key(id).is_some()).count());
    let uuid_theirs = time(rounds, m, || {
        texts.iter().filter(|(id, _)| uuid::Uuid::try_parse(id).map(|u| u.as_u128()).is_ok()).count()
    });
    let time_ours = time(rounds, m, || {
        texts.iter().filter(|(_, t)| _native::check::parse_datetime(t).is_some()).count()
    });
    let time_theirs = time(rounds, m, || {
        texts
            .iter()
            .filter(|(_, t)| t.parse::<jiff::Timestamp>().map(|x| x.as_microsecond()).is_ok())
            .count()
    });
    println!(
        "{{\"events\": {records_events}, \"json_events\": {json_events}, \"rounds\": {rounds}, \"ns_per_event\": {{\
         \"records_hand_written\": {records_ours:.1}, \"records_kafka_protocol\": {records_theirs:.1}, \
         \"json_hand_written\": {json_ours:.1}, \"json_simd_json\": {json_theirs:.1}, \
         \"json_copy_of_the_payload\": {json_copy_only:.1}, \
         \"uuid_hand_written\": {uuid_ours:.1}, \"uuid_crate\": {uuid_theirs:.1}, \
         \"rfc3339_hand_written\": {time_ours:.1}, \"rfc3339_jiff\": {time_theirs:.1}}}}}"
    );
}
