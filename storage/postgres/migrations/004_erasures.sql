-- Every erasure as a keyed hash of the erased user id (HMAC-SHA256 with TRIPCHECK_ERASURE_KEY),
-- never the id itself: what `tripcheck db reapply-erasures` applies again to a database
-- restored from a backup older than the erasure (the same table as SQLite's migration 008).
CREATE TABLE erasures (mark text PRIMARY KEY, erased_at double precision NOT NULL);
