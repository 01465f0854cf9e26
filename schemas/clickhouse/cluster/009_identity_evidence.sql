-- Generated from ../009_identity_evidence.sql by `python -m streams.store.cluster`; do not edit.
-- Macros {cluster}, {shard}, {replica} come from each server's config.

CREATE TABLE IF NOT EXISTS shared_identifiers_local ON CLUSTER '{cluster}'
(
    identifier  String COMMENT 'device:<id>',
    reason      LowCardinality(String) COMMENT 'flagged, behaviour or loaded',
    kind        LowCardinality(String),
    since       DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/shared_identifiers', '{replica}', since)
ORDER BY identifier;

CREATE TABLE IF NOT EXISTS shared_identifiers ON CLUSTER '{cluster}' AS shared_identifiers_local
ENGINE = Distributed('{cluster}', currentDatabase(), shared_identifiers_local, cityHash64(identifier));

CREATE TABLE IF NOT EXISTS identity_evidence_local ON CLUSTER '{cluster}'
(
    source_id     String COMMENT 'crm:<crm id>',
    groups        Array(Array(String)),
    verified      Array(String) COMMENT 'per group: its verified CRM id, or empty',
    version       UInt64,
    recorded_at   DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/identity_evidence', '{replica}', version)
ORDER BY source_id;

CREATE TABLE IF NOT EXISTS identity_evidence ON CLUSTER '{cluster}' AS identity_evidence_local
ENGINE = Distributed('{cluster}', currentDatabase(), identity_evidence_local, cityHash64(source_id));
