-- Generated from ../010_fingerprints.sql by `python -m streams.store.cluster`; do not edit.
-- Macros {cluster}, {shard}, {replica} come from each server's config.

ALTER TABLE events_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS fingerprint UInt32 DEFAULT 0 AFTER properties;

ALTER TABLE events ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS fingerprint UInt32 DEFAULT 0 AFTER properties;

ALTER TABLE events_local ON CLUSTER '{cluster}' ADD INDEX IF NOT EXISTS idx_ingested_at ingested_at TYPE minmax GRANULARITY 1;
