-- Every valid event, once per event_id in query results.
-- Idempotency: ReplacingMergeTree on the sort key event_id; read through events_dedup
-- (FINAL) so redeliveries that are not merged yet still count once.
CREATE TABLE IF NOT EXISTS events
(
    event_id            UUID,
    type                LowCardinality(String),
    channel             LowCardinality(String),
    schema_version      UInt16,
    occurred_at         DateTime64(3, 'UTC'),
    sent_at             Nullable(DateTime64(3, 'UTC')),
    received_at         DateTime64(3, 'UTC'),
    event_time          DateTime64(3, 'UTC') COMMENT 'skew-corrected event time',
    late                UInt8 COMMENT 'arrived after the lateness allowance',
    primary_identifier  String COMMENT 'kind:value of the strongest identifier, resolved through identity_map',
    identifiers         Array(String),
    anonymous_id        String,
    user_id             String,
    email_hash          String,
    phone_hash          String,
    social_network      LowCardinality(String),
    social_handle       String,
    device_id           String,
    device_kind         LowCardinality(String),
    loyalty_id          String,
    consent_analytics   UInt8,
    touch_channel       LowCardinality(String) COMMENT 'taxonomy channel; empty when not a touchpoint',
    is_conversion       UInt8,
    revenue             Float64,
    cost                Float64,
    currency            LowCardinality(String),
    order_id            String,
    store_id            LowCardinality(String),
    fitting_room_id     String,
    session_id          String,
    sku                 String,
    skus                Array(String),
    post_id             String,
    reply_to_id         String,
    network             LowCardinality(String),
    spot_id             String,
    tv_channel          LowCardinality(String),
    tv_programme        String,
    utm_source          LowCardinality(String),
    utm_medium          LowCardinality(String),
    utm_campaign        String,
    properties          String COMMENT 'the typed properties as JSON',
    ingested_at         DateTime64(3, 'UTC'),
    -- a bloom filter on the identifier, for reads of one person's events (live credits read touches_by_identifier)
    INDEX idx_primary_identifier primary_identifier TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY event_id;

CREATE VIEW IF NOT EXISTS events_dedup AS SELECT * FROM events FINAL;
