-- Generated from ../008_erased_persons.sql by `python -m streams.store.cluster`; do not edit.
-- Macros {cluster}, {shard}, {replica} come from each server's config.

ALTER TABLE erasures_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS root_person_id String DEFAULT person_id;

ALTER TABLE erasures ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS root_person_id String DEFAULT person_id;

DROP VIEW IF EXISTS events_stitched ON CLUSTER '{cluster}';

CREATE VIEW IF NOT EXISTS events_stitched ON CLUSTER '{cluster}' AS
WITH
    (SELECT (groupArray(root_person_id), groupArray(erasure_id))
     FROM (SELECT root_person_id, argMax(erasure_id, requested_at) AS erasure_id
           FROM erasures FINAL GROUP BY root_person_id)) AS erased,
    concat('p', lower(hex(substring(SHA256(e.primary_identifier), 1, 8)))) AS singleton
SELECT
    e.*,
    if(e.primary_identifier = '', '',
       if(m.person_id != '', m.person_id,
          if(has(erased.1, singleton),
             concat('p', lower(hex(substring(SHA256(concat(singleton, '|', transform(singleton, erased.1, erased.2, ''))), 1, 8)))),
             singleton)))
        AS person_id
FROM events_dedup AS e
LEFT JOIN identity_current AS m ON m.identifier = e.primary_identifier
SETTINGS join_use_nulls = 0;
