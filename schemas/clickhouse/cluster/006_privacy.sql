-- Generated from ../006_privacy.sql by `python -m streams.store.cluster`; do not edit.
-- Macros {cluster}, {shard}, {replica} come from each server's config.

CREATE TABLE IF NOT EXISTS erasures_local ON CLUSTER '{cluster}'
(
    erasure_id        String,
    person_id         String,
    identifier_hashes Array(String),
    requested_at      DateTime64(3, 'UTC'),
    done_at           DateTime64(3, 'UTC'),
    rows_deleted      UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/erasures', '{replica}', done_at)
ORDER BY erasure_id;

CREATE TABLE IF NOT EXISTS erasures ON CLUSTER '{cluster}' AS erasures_local
ENGINE = Distributed('{cluster}', currentDatabase(), erasures_local, rand());
