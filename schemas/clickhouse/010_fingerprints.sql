-- An event's content digest (streams/ingest/fingerprint.py): a copy of a stored event that
-- arrives after the dedupe window has forgotten it is told apart from a different event that
-- reuses its id. 0 for events stored before this file was applied (their copies are let through).
ALTER TABLE events ADD COLUMN IF NOT EXISTS fingerprint UInt32 DEFAULT 0 AFTER properties;

-- Recently stored event ids are read by ingestion time (streams.ingest.stored_ids): parts are
-- written in ingestion order, so a minmax index skips all but the newest granules.
ALTER TABLE events ADD INDEX IF NOT EXISTS idx_ingested_at ingested_at TYPE minmax GRANULARITY 1
