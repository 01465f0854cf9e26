-- An erased person's id never comes back. Person ids derive from the smallest identifier, so a
-- forgotten identifier seen again would get the erased id; instead it gets a fresh one salted with
-- the latest erasure of that derivation (its root), here and in the identity stage alike
-- (streams.identity.fresh). root_person_id: the id the erased person's ids derived from (its own id,
-- unless it was itself a fresh id of an earlier erasure).
ALTER TABLE erasures ADD COLUMN IF NOT EXISTS root_person_id String DEFAULT person_id;

DROP VIEW IF EXISTS events_stitched;

-- Person of an event = the current map entry of its primary identifier, or the identifier's own
-- singleton person (same hash as streams.identity.identifiers.singleton_person), or, when that
-- singleton was erased, its fresh id (streams.identity.fresh.fresh_person).
CREATE VIEW IF NOT EXISTS events_stitched AS
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
