-- Generated from ../003_identity.sql by `python -m streams.store.cluster`; do not edit.
-- Macros {cluster}, {shard}, {replica} come from each server's config.

CREATE TABLE IF NOT EXISTS identity_map_local ON CLUSTER '{cluster}'
(
    identifier  String,
    person_id   String,
    version     UInt64,
    linked_at   DateTime64(3, 'UTC'),
    rule        LowCardinality(String) COMMENT 'why this identifier maps here',
    verified    UInt8 COMMENT 'a CRM id verified by login (two verified ids never merge)',
    via_event   String COMMENT 'event that caused the (re)mapping'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/identity_map', '{replica}', version)
ORDER BY identifier;

CREATE TABLE IF NOT EXISTS identity_map ON CLUSTER '{cluster}' AS identity_map_local
ENGINE = Distributed('{cluster}', currentDatabase(), identity_map_local, cityHash64(identifier));

CREATE TABLE IF NOT EXISTS identity_links_local ON CLUSTER '{cluster}'
(
    event_id     String,
    identifier_a String,
    identifier_b String,
    decision     LowCardinality(String),
    person_id    String,
    decided_at   DateTime64(3, 'UTC'),
    event_time   DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/identity_links', '{replica}')
PARTITION BY toYYYYMM(event_time)
ORDER BY (event_id, identifier_a, identifier_b);

CREATE TABLE IF NOT EXISTS identity_links ON CLUSTER '{cluster}' AS identity_links_local
ENGINE = Distributed('{cluster}', currentDatabase(), identity_links_local, cityHash64(event_id));

CREATE VIEW IF NOT EXISTS identity_current ON CLUSTER '{cluster}' AS
SELECT identifier, argMax(person_id, version) AS person_id, max(version) AS map_version
FROM identity_map
GROUP BY identifier;

CREATE VIEW IF NOT EXISTS events_stitched ON CLUSTER '{cluster}' AS
SELECT
    e.*,
    if(e.primary_identifier = '', '',
       if(m.person_id != '', m.person_id, concat('p', lower(hex(substring(SHA256(e.primary_identifier), 1, 8))))))
        AS person_id
FROM events_dedup AS e
LEFT JOIN identity_current AS m ON m.identifier = e.primary_identifier
SETTINGS join_use_nulls = 0;
