-- Generated from ../005_reference.sql by `python -m streams.store.cluster`; do not edit.
-- Macros {cluster}, {shard}, {replica} come from each server's config.

CREATE TABLE IF NOT EXISTS spend_local ON CLUSTER '{cluster}'
(
    day       Date,
    channel   LowCardinality(String) COMMENT 'taxonomy channel, e.g. web/paid-search',
    campaign  String,
    amount    Float64,
    currency  LowCardinality(String),
    loaded_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/spend', '{replica}', loaded_at)
ORDER BY (day, channel, campaign);

CREATE TABLE IF NOT EXISTS spend ON CLUSTER '{cluster}' AS spend_local
ENGINE = Distributed('{cluster}', currentDatabase(), spend_local, rand());

CREATE TABLE IF NOT EXISTS objectives_local ON CLUSTER '{cluster}'
(
    objective  LowCardinality(String) COMMENT 'visibility, amplification, traffic, interaction, satisfaction',
    target     Float64,
    period_days UInt16,
    loaded_at  DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/objectives', '{replica}', loaded_at)
ORDER BY objective;

CREATE TABLE IF NOT EXISTS objectives ON CLUSTER '{cluster}' AS objectives_local
ENGINE = Distributed('{cluster}', currentDatabase(), objectives_local, rand());

CREATE TABLE IF NOT EXISTS flagged_accounts_local ON CLUSTER '{cluster}'
(
    network   LowCardinality(String),
    handle    String,
    reason    LowCardinality(String),
    loaded_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/flagged_accounts', '{replica}', loaded_at)
ORDER BY (network, handle);

CREATE TABLE IF NOT EXISTS flagged_accounts ON CLUSTER '{cluster}' AS flagged_accounts_local
ENGINE = Distributed('{cluster}', currentDatabase(), flagged_accounts_local, rand());

CREATE VIEW IF NOT EXISTS spend_by_channel ON CLUSTER '{cluster}' AS
SELECT toDate(event_time) AS day, 'tv/second-screen' AS channel, spot_id AS campaign, cost AS amount
FROM events_dedup WHERE type = 'spot_aired'
UNION ALL
SELECT toDate(event_time), concat('social/', network, '/paid'), utm_campaign, cost
FROM events_dedup WHERE type = 'post_published' AND cost > 0
UNION ALL
SELECT day, channel, campaign, amount FROM spend FINAL;

CREATE VIEW IF NOT EXISTS social_engagement ON CLUSTER '{cluster}' AS
SELECT e.*, if(f.reason != '', f.reason, '') AS flag_reason
FROM (SELECT * FROM events_dedup WHERE channel = 'social' OR type = 'look_shared') AS e
LEFT JOIN (SELECT network, lower(handle) AS handle, reason FROM flagged_accounts FINAL) AS f
    ON f.network = e.social_network AND f.handle = lower(e.social_handle)
SETTINGS join_use_nulls = 0;
