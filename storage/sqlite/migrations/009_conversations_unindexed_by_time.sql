-- Every turn moved its conversation's entry in this index (a page or two more written to the
-- WAL on every turn), for the one query that reads by time: the daily retention purge, which
-- scans a table of one row per chat and user, once a day.
DROP INDEX IF EXISTS idx_conversations_updated_at;
