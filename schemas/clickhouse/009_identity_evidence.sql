-- Devices shared by several customers (a fitting-room mirror, a kiosk, a till, a family tablet):
-- never an identifier that links. Loaded (`parcours load devices`) or learnt by the identity stage
-- (an event flagged the device as shared, or it was seen with many customers in a short time).
CREATE TABLE IF NOT EXISTS shared_identifiers
(
    identifier  String COMMENT 'device:<id>',
    reason      LowCardinality(String) COMMENT 'flagged, behaviour or loaded',
    kind        LowCardinality(String),
    since       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(since)
ORDER BY identifier;

-- Identity evidence that is not an event (a CRM record): what it linked, so that a record
-- deleted or changed can be taken back and the persons it alone held together split.
CREATE TABLE IF NOT EXISTS identity_evidence
(
    source_id     String COMMENT 'crm:<crm id>',
    groups        Array(Array(String)),
    verified      Array(String) COMMENT 'per group: its verified CRM id, or empty',
    version       UInt64,
    recorded_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY source_id
