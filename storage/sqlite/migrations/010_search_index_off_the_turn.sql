-- The full-text index was written inside every save turn, by a trigger: a fifth of that
-- turn's work and a new FTS5 segment per decision. Decisions are now indexed in batches, off
-- the turn path (storage/sqlite/search_index.py): those up to `up_to` are in the index, the
-- rest are added before any search reads it. Until then an updated decision is indexed as it
-- is then, so the update trigger leaves the decisions not yet indexed alone; and it fires only
-- when an indexed column changes (a follow-up's answer re-indexed the decision every time).
-- Tripcheck never deletes a decision, but a hand-run DELETE of the newest would let the next
-- one take its id, so the delete trigger lowers `up_to` to the newest decision left.
CREATE TABLE search_indexed (up_to INTEGER NOT NULL);
INSERT INTO search_indexed (up_to) SELECT coalesce(max(id), 0) FROM decisions;
DROP TRIGGER decisions_fts_insert;
DROP TRIGGER decisions_fts_update;
CREATE TRIGGER decisions_fts_update
AFTER UPDATE OF title, department, partner, destination, answers ON decisions
WHEN old.id <= (SELECT up_to FROM search_indexed) BEGIN
    DELETE FROM decisions_fts WHERE rowid = old.id;
    INSERT INTO decisions_fts (rowid, title, department, partner, destination, answers)
    VALUES (new.id, new.title, new.department, new.partner, new.destination, new.answers);
END;
DROP TRIGGER decisions_fts_delete;
CREATE TRIGGER decisions_fts_delete AFTER DELETE ON decisions BEGIN
    DELETE FROM decisions_fts WHERE rowid = old.id;
    UPDATE search_indexed SET up_to = (SELECT coalesce(max(id), 0) FROM decisions)
    WHERE up_to > (SELECT coalesce(max(id), 0) FROM decisions);
END;
