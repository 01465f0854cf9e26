-- Generated from ../004_attribution.sql by `python -m streams.store.cluster`; do not edit.
-- Macros {cluster}, {shard}, {replica} come from each server's config.

CREATE TABLE IF NOT EXISTS journeys_local ON CLUSTER '{cluster}'
(
    conversion_id    UUID,
    source           LowCardinality(String) COMMENT 'live (stream) or batch',
    person_id        String,
    conversion_type  LowCardinality(String),
    conversion_time  DateTime64(3, 'UTC'),
    revenue          Float64,
    path             Array(LowCardinality(String)),
    path_times       Array(DateTime64(3, 'UTC')),
    touches          UInt16,
    cross_channel    UInt8 COMMENT 'path spans more than one channel family',
    computed_at      DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/journeys', '{replica}', computed_at)
PARTITION BY toYYYYMM(conversion_time)
ORDER BY (source, conversion_id);

CREATE TABLE IF NOT EXISTS journeys ON CLUSTER '{cluster}' AS journeys_local
ENGINE = Distributed('{cluster}', currentDatabase(), journeys_local, cityHash64(conversion_id));

CREATE TABLE IF NOT EXISTS attribution_credits_local ON CLUSTER '{cluster}'
(
    model            LowCardinality(String),
    source           LowCardinality(String),
    conversion_id    UUID,
    person_id        String,
    conversion_time  DateTime64(3, 'UTC'),
    channel          LowCardinality(String),
    credit           Float64,
    revenue_credit   Float64,
    computed_at      DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/attribution_credits', '{replica}', computed_at)
PARTITION BY toYYYYMM(conversion_time)
ORDER BY (model, source, conversion_id, channel);

CREATE TABLE IF NOT EXISTS attribution_credits ON CLUSTER '{cluster}' AS attribution_credits_local
ENGINE = Distributed('{cluster}', currentDatabase(), attribution_credits_local, cityHash64(conversion_id));

CREATE TABLE IF NOT EXISTS attribution_channel_totals_local ON CLUSTER '{cluster}'
(
    run_id        String,
    model         LowCardinality(String),
    period_start  DateTime64(3, 'UTC'),
    period_end    DateTime64(3, 'UTC'),
    channel       LowCardinality(String),
    conversions   Float64,
    revenue       Float64,
    computed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/attribution_channel_totals', '{replica}', computed_at)
ORDER BY (model, period_start, period_end, channel);

CREATE TABLE IF NOT EXISTS attribution_channel_totals ON CLUSTER '{cluster}' AS attribution_channel_totals_local
ENGINE = Distributed('{cluster}', currentDatabase(), attribution_channel_totals_local, rand());
