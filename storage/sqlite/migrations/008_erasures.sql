-- Every erasure as a keyed hash of the erased user id (HMAC-SHA256 with TRIPCHECK_ERASURE_KEY),
-- never the id itself: what `tripcheck db reapply-erasures` applies again to a database
-- restored from a backup older than the erasure (docs/operations.md).
CREATE TABLE erasures (mark TEXT PRIMARY KEY, erased_at FLOAT NOT NULL);
