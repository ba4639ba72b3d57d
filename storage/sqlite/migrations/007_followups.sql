-- What really happened (issue 12): the trip's date and the person's motivation with each
-- decision; the follow-up due-list; the actual outcome the person answered; and the month
-- totals kept by triggers (migration 006) extended with follow-ups asked and answered and
-- the CO2e avoided as confirmed (the planned trip's, for each meeting that did go digital).
ALTER TABLE decisions ADD COLUMN happens_on TEXT;
ALTER TABLE decisions ADD COLUMN happens_precision TEXT;
ALTER TABLE decisions ADD COLUMN motivation TEXT;
ALTER TABLE decisions ADD COLUMN actual_outcome TEXT;
ALTER TABLE decisions ADD COLUMN actual_at FLOAT;
ALTER TABLE decisions ADD COLUMN followed_up_at FLOAT;
-- One row per dated decision made where the person can be written to later. `reference` is
-- what the channel needs besides the conversation (JSON; Teams: serviceUrl, conversation,
-- tenant). `due_at` NULL: nothing more to send. A claim (claimed_by until claimed_until)
-- keeps every other instance from sending the same question.
CREATE TABLE followups (
    decision_id INTEGER PRIMARY KEY REFERENCES decisions (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    chat TEXT NOT NULL,
    user_id TEXT NOT NULL,
    lang TEXT NOT NULL,
    reference TEXT,
    due_at FLOAT,
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    sent_at FLOAT,
    answered_at FLOAT,
    claimed_by TEXT,
    claimed_until FLOAT
);
CREATE INDEX idx_followups_due_at ON followups (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX idx_followups_conversation ON followups (channel, chat, user_id);
ALTER TABLE decision_month_stats ADD COLUMN asked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE decision_month_stats ADD COLUMN answered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE decision_month_stats ADD COLUMN confirmed_digital INTEGER NOT NULL DEFAULT 0;
ALTER TABLE decision_month_stats ADD COLUMN confirmed_avoided_kg FLOAT NOT NULL DEFAULT 0;
DROP TRIGGER decision_month_stats_insert;
DROP TRIGGER decision_month_stats_delete;
DROP TRIGGER decision_month_stats_update;
CREATE TRIGGER decision_month_stats_insert AFTER INSERT ON decisions BEGIN
    INSERT INTO decision_month_stats
        (month, department, total, travel, digital, not_qualified, avoided_kg, asked, answered,
         confirmed_digital, confirmed_avoided_kg)
    VALUES (
        strftime('%Y-%m', new.created_at + CASE WHEN CAST(strftime('%m', new.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch'),
        coalesce(new.department, ''), 1, new.outcome = 'travel', new.outcome = 'digital',
        new.outcome = 'not_qualified', coalesce(new.co2_avoided_kg, 0),
        new.followed_up_at IS NOT NULL, new.actual_outcome IS NOT NULL,
        coalesce(new.actual_outcome = 'digital', 0), CASE WHEN new.actual_outcome = 'digital' THEN coalesce(new.co2_avoided_kg, new.co2_planned_kg, 0) ELSE 0 END
    )
    ON CONFLICT (month, department) DO UPDATE SET
        total = total + 1, travel = travel + excluded.travel,
        digital = digital + excluded.digital,
        not_qualified = not_qualified + excluded.not_qualified,
        avoided_kg = avoided_kg + excluded.avoided_kg,
        asked = asked + excluded.asked, answered = answered + excluded.answered,
        confirmed_digital = confirmed_digital + excluded.confirmed_digital,
        confirmed_avoided_kg = confirmed_avoided_kg + excluded.confirmed_avoided_kg;
END;
CREATE TRIGGER decision_month_stats_delete AFTER DELETE ON decisions BEGIN
    UPDATE decision_month_stats SET
        total = total - 1, travel = travel - (old.outcome = 'travel'),
        digital = digital - (old.outcome = 'digital'),
        not_qualified = not_qualified - (old.outcome = 'not_qualified'),
        avoided_kg = avoided_kg - coalesce(old.co2_avoided_kg, 0),
        asked = asked - (old.followed_up_at IS NOT NULL),
        answered = answered - (old.actual_outcome IS NOT NULL),
        confirmed_digital = confirmed_digital - coalesce(old.actual_outcome = 'digital', 0),
        confirmed_avoided_kg = confirmed_avoided_kg - CASE WHEN old.actual_outcome = 'digital' THEN coalesce(old.co2_avoided_kg, old.co2_planned_kg, 0) ELSE 0 END
    WHERE month = strftime('%Y-%m', old.created_at + CASE WHEN CAST(strftime('%m', old.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch')
        AND department = coalesce(old.department, '');
    DELETE FROM decision_month_stats WHERE total <= 0 AND month = strftime('%Y-%m', old.created_at + CASE WHEN CAST(strftime('%m', old.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch')
        AND department = coalesce(old.department, '');
END;
CREATE TRIGGER decision_month_stats_update
AFTER UPDATE OF created_at, department, outcome, co2_avoided_kg, co2_planned_kg, actual_outcome,
    followed_up_at ON decisions BEGIN
    UPDATE decision_month_stats SET
        total = total - 1, travel = travel - (old.outcome = 'travel'),
        digital = digital - (old.outcome = 'digital'),
        not_qualified = not_qualified - (old.outcome = 'not_qualified'),
        avoided_kg = avoided_kg - coalesce(old.co2_avoided_kg, 0),
        asked = asked - (old.followed_up_at IS NOT NULL),
        answered = answered - (old.actual_outcome IS NOT NULL),
        confirmed_digital = confirmed_digital - coalesce(old.actual_outcome = 'digital', 0),
        confirmed_avoided_kg = confirmed_avoided_kg - CASE WHEN old.actual_outcome = 'digital' THEN coalesce(old.co2_avoided_kg, old.co2_planned_kg, 0) ELSE 0 END
    WHERE month = strftime('%Y-%m', old.created_at + CASE WHEN CAST(strftime('%m', old.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch')
        AND department = coalesce(old.department, '');
    DELETE FROM decision_month_stats WHERE total <= 0 AND month = strftime('%Y-%m', old.created_at + CASE WHEN CAST(strftime('%m', old.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch')
        AND department = coalesce(old.department, '');
    INSERT INTO decision_month_stats
        (month, department, total, travel, digital, not_qualified, avoided_kg, asked, answered,
         confirmed_digital, confirmed_avoided_kg)
    VALUES (
        strftime('%Y-%m', new.created_at + CASE WHEN CAST(strftime('%m', new.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch'),
        coalesce(new.department, ''), 1, new.outcome = 'travel', new.outcome = 'digital',
        new.outcome = 'not_qualified', coalesce(new.co2_avoided_kg, 0),
        new.followed_up_at IS NOT NULL, new.actual_outcome IS NOT NULL,
        coalesce(new.actual_outcome = 'digital', 0), CASE WHEN new.actual_outcome = 'digital' THEN coalesce(new.co2_avoided_kg, new.co2_planned_kg, 0) ELSE 0 END
    )
    ON CONFLICT (month, department) DO UPDATE SET
        total = total + 1, travel = travel + excluded.travel,
        digital = digital + excluded.digital,
        not_qualified = not_qualified + excluded.not_qualified,
        avoided_kg = avoided_kg + excluded.avoided_kg,
        asked = asked + excluded.asked, answered = answered + excluded.answered,
        confirmed_digital = confirmed_digital + excluded.confirmed_digital,
        confirmed_avoided_kg = confirmed_avoided_kg + excluded.confirmed_avoided_kg;
END;
