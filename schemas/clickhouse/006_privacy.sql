-- Erasures performed (GDPR art. 17). Identifiers are kept only as SHA-256, to prove what was
-- erased without keeping it.
CREATE TABLE IF NOT EXISTS erasures
(
    erasure_id        String,
    person_id         String,
    identifier_hashes Array(String),
    requested_at      DateTime64(3, 'UTC'),
    done_at           DateTime64(3, 'UTC'),
    rows_deleted      UInt64
)
ENGINE = ReplacingMergeTree(done_at)
ORDER BY erasure_id;
