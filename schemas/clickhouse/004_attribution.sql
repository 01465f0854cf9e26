-- One row per conversion: its ordered channel path within the lookback window.
CREATE TABLE IF NOT EXISTS journeys
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
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(conversion_time)
ORDER BY (source, conversion_id);

-- Credits per model, conversion and channel. Sum over a model = conversions / revenue
-- attributed (participation excepted: it credits every channel fully).
CREATE TABLE IF NOT EXISTS attribution_credits
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
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(conversion_time)
ORDER BY (model, source, conversion_id, channel);

-- Data-driven models credit channels over the whole period, not per conversion.
CREATE TABLE IF NOT EXISTS attribution_channel_totals
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
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (model, period_start, period_end, channel);
