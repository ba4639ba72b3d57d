-- Admin review: full-text search, reviews, web admin accounts, an audit trail, purging.
CREATE VIRTUAL TABLE decisions_fts USING fts5(
    title, department, partner, destination, answers,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER decisions_fts_insert AFTER INSERT ON decisions BEGIN
    INSERT INTO decisions_fts (rowid, title, department, partner, destination, answers)
    VALUES (new.id, new.title, new.department, new.partner, new.destination, new.answers);
END;
CREATE TRIGGER decisions_fts_update AFTER UPDATE ON decisions BEGIN
    DELETE FROM decisions_fts WHERE rowid = old.id;
    INSERT INTO decisions_fts (rowid, title, department, partner, destination, answers)
    VALUES (new.id, new.title, new.department, new.partner, new.destination, new.answers);
END;
CREATE TRIGGER decisions_fts_delete AFTER DELETE ON decisions BEGIN
    DELETE FROM decisions_fts WHERE rowid = old.id;
END;
INSERT INTO decisions_fts (rowid, title, department, partner, destination, answers)
    SELECT id, title, department, partner, destination, answers FROM decisions;
ALTER TABLE decisions ADD COLUMN purged_at FLOAT;
CREATE INDEX idx_decisions_outcome_created_at ON decisions (outcome, created_at);
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    reviewer TEXT NOT NULL,
    verdict TEXT NOT NULL,
    comment TEXT,
    created_at FLOAT NOT NULL
);
CREATE INDEX idx_reviews_decision_id ON reviews (decision_id);
CREATE TABLE admins (username TEXT PRIMARY KEY, password_hash TEXT, created_at FLOAT);
CREATE TABLE audit (id INTEGER PRIMARY KEY, at FLOAT, actor TEXT, action TEXT, details TEXT);
