-- Every refused input with its typed reason and the original bytes.
-- dl_id is the Kafka coordinate (topic/partition/offset) or the collector's request id,
-- so a redelivered dead letter replaces itself.
CREATE TABLE IF NOT EXISTS dead_letters
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
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY dl_id;
