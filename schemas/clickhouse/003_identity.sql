-- Versioned identifier -> person map, written only by the identity stage.
-- Latest version wins; events keep the identifiers they arrived with and are
-- stitched at query time, so a later merge re-stitches history without rewriting it.
CREATE TABLE IF NOT EXISTS identity_map
(
    identifier  String,
    person_id   String,
    version     UInt64,
    linked_at   DateTime64(3, 'UTC'),
    rule        LowCardinality(String) COMMENT 'why this identifier maps here',
    verified    UInt8 COMMENT 'a CRM id verified by login (two verified ids never merge)',
    via_event   String COMMENT 'event that caused the (re)mapping'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY identifier;

-- Every link decision: merged, or refused by a guard (an ingestion warning).
CREATE TABLE IF NOT EXISTS identity_links
(
    event_id     String,
    identifier_a String,
    identifier_b String,
    decision     LowCardinality(String),
    person_id    String,
    decided_at   DateTime64(3, 'UTC'),
    event_time   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (event_id, identifier_a, identifier_b);

CREATE VIEW IF NOT EXISTS identity_current AS
SELECT identifier, argMax(person_id, version) AS person_id, max(version) AS map_version
FROM identity_map
GROUP BY identifier;

-- Person of an event = the current map entry of its primary identifier, or the
-- identifier's own singleton person (same hash as streams.identity.graph.singleton_person).
CREATE VIEW IF NOT EXISTS events_stitched AS
SELECT
    e.*,
    if(e.primary_identifier = '', '',
       if(m.person_id != '', m.person_id, concat('p', lower(hex(substring(SHA256(e.primary_identifier), 1, 8))))))
        AS person_id
FROM events_dedup AS e
LEFT JOIN identity_current AS m ON m.identifier = e.primary_identifier
SETTINGS join_use_nulls = 0;
