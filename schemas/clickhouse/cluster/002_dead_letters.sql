-- Generated from ../002_dead_letters.sql by `python -m streams.store.cluster`; do not edit.
-- Macros {cluster}, {shard}, {replica} come from each server's config.

CREATE TABLE IF NOT EXISTS dead_letters_local ON CLUSTER '{cluster}'
(
    dl_id        String,
    reason       LowCardinality(String),
    detail       String,
    source       LowCardinality(String),
    event_id     String COMMENT 'event_id if one could be read, else empty',
    payload      String COMMENT 'original bytes',
    received_at  DateTime64(3, 'UTC'),
    stored_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/dead_letters', '{replica}')
PARTITION BY toYYYYMM(received_at)
ORDER BY dl_id;

CREATE TABLE IF NOT EXISTS dead_letters ON CLUSTER '{cluster}' AS dead_letters_local
ENGINE = Distributed('{cluster}', currentDatabase(), dead_letters_local, cityHash64(dl_id));
