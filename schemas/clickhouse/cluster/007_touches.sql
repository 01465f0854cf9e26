-- Generated from ../007_touches.sql by `python -m streams.store.cluster`; do not edit.
-- Macros {cluster}, {shard}, {replica} come from each server's config.

CREATE TABLE IF NOT EXISTS touches_by_identifier_local ON CLUSTER '{cluster}'
(
    primary_identifier  String,
    event_time          DateTime64(3, 'UTC'),
    event_id            UUID,
    touch_channel       LowCardinality(String),
    is_conversion       UInt8,
    type                LowCardinality(String),
    revenue             Float64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/touches_by_identifier', '{replica}')
PARTITION BY toYYYYMM(event_time)
ORDER BY (primary_identifier, event_time, event_id)
SETTINGS index_granularity = 256;

CREATE TABLE IF NOT EXISTS touches_by_identifier ON CLUSTER '{cluster}' AS touches_by_identifier_local
ENGINE = Distributed('{cluster}', currentDatabase(), touches_by_identifier_local, cityHash64(event_id));

CREATE MATERIALIZED VIEW IF NOT EXISTS touches_by_identifier_mv ON CLUSTER '{cluster}' TO touches_by_identifier_local AS
SELECT primary_identifier, event_time, event_id, touch_channel, is_conversion, type, revenue
FROM events_local
WHERE primary_identifier != '' AND (touch_channel != '' OR is_conversion = 1);

INSERT INTO touches_by_identifier
SELECT primary_identifier, event_time, event_id, touch_channel, is_conversion, type, revenue
FROM events
WHERE primary_identifier != '' AND (touch_channel != '' OR is_conversion = 1);
