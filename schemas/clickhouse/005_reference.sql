-- Reference data the dashboards join against, loaded by `parcours spend load` and
-- `parcours community load`.

-- Spend not carried by events (paid search, display, …). TV spot cost and paid social spend
-- come from spot_aired and post_published events.
CREATE TABLE IF NOT EXISTS spend
(
    day       Date,
    channel   LowCardinality(String) COMMENT 'taxonomy channel, e.g. web/paid-search',
    campaign  String,
    amount    Float64,
    currency  LowCardinality(String),
    loaded_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (day, channel, campaign);

-- Community objectives: actual vs target ("return on objectives").
CREATE TABLE IF NOT EXISTS objectives
(
    objective  LowCardinality(String) COMMENT 'visibility, amplification, traffic, interaction, satisfaction',
    target     Float64,
    period_days UInt16,
    loaded_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY objective;

-- Accounts whose engagement is shown apart (fake, internal staff, agencies).
CREATE TABLE IF NOT EXISTS flagged_accounts
(
    network   LowCardinality(String),
    handle    String,
    reason    LowCardinality(String),
    loaded_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (network, handle);

-- Spend per taxonomy channel and day, from events and the spend table.
CREATE VIEW IF NOT EXISTS spend_by_channel AS
SELECT toDate(event_time) AS day, 'tv/second-screen' AS channel, spot_id AS campaign, cost AS amount
FROM events_dedup WHERE type = 'spot_aired'
UNION ALL
SELECT toDate(event_time), concat('social/', network, '/paid'), utm_campaign, cost
FROM events_dedup WHERE type = 'post_published' AND cost > 0
UNION ALL
SELECT day, channel, campaign, amount FROM spend FINAL;

-- Social engagement with its account, and whether the account is flagged (list or rate).
CREATE VIEW IF NOT EXISTS social_engagement AS
SELECT e.*, if(f.reason != '', f.reason, '') AS flag_reason
FROM (SELECT * FROM events_dedup WHERE channel = 'social' OR type = 'look_shared') AS e
LEFT JOIN (SELECT network, lower(handle) AS handle, reason FROM flagged_accounts FINAL) AS f
    ON f.network = e.social_network AND f.handle = lower(e.social_handle)
SETTINGS join_use_nulls = 0;
