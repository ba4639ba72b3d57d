-- The dashboard's figures kept per month (Stockholm time) and department, in the same
-- transaction as each decision by triggers, so whole-log stats read a few hundred rows
-- instead of scanning the log. The month is computed in SQL (so any connection can insert):
-- Stockholm is UTC+1, and UTC+2 from April to October, the only months whose first midnight
-- falls in summer time (DST starts in late March and ends in late October); a test checks
-- it against Python's zoneinfo at every month boundary.
CREATE TABLE decision_month_stats (
    month TEXT NOT NULL,
    department TEXT NOT NULL,
    total INTEGER NOT NULL,
    travel INTEGER NOT NULL,
    digital INTEGER NOT NULL,
    not_qualified INTEGER NOT NULL,
    avoided_kg FLOAT NOT NULL,
    PRIMARY KEY (month, department)
) WITHOUT ROWID;
CREATE TRIGGER decision_month_stats_insert AFTER INSERT ON decisions BEGIN
    INSERT INTO decision_month_stats
        (month, department, total, travel, digital, not_qualified, avoided_kg)
    VALUES (
        strftime('%Y-%m', new.created_at + CASE WHEN CAST(strftime('%m', new.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch'),
        coalesce(new.department, ''), 1, new.outcome = 'travel', new.outcome = 'digital',
        new.outcome = 'not_qualified', coalesce(new.co2_avoided_kg, 0)
    )
    ON CONFLICT (month, department) DO UPDATE SET
        total = total + 1, travel = travel + excluded.travel,
        digital = digital + excluded.digital,
        not_qualified = not_qualified + excluded.not_qualified,
        avoided_kg = avoided_kg + excluded.avoided_kg;
END;
CREATE TRIGGER decision_month_stats_delete AFTER DELETE ON decisions BEGIN
    UPDATE decision_month_stats SET
        total = total - 1, travel = travel - (old.outcome = 'travel'),
        digital = digital - (old.outcome = 'digital'),
        not_qualified = not_qualified - (old.outcome = 'not_qualified'),
        avoided_kg = avoided_kg - coalesce(old.co2_avoided_kg, 0)
    WHERE month = strftime('%Y-%m', old.created_at + CASE WHEN CAST(strftime('%m', old.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch')
        AND department = coalesce(old.department, '');
    DELETE FROM decision_month_stats WHERE total <= 0 AND month = strftime('%Y-%m', old.created_at + CASE WHEN CAST(strftime('%m', old.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch')
        AND department = coalesce(old.department, '');
END;
CREATE TRIGGER decision_month_stats_update
AFTER UPDATE OF created_at, department, outcome, co2_avoided_kg ON decisions BEGIN
    UPDATE decision_month_stats SET
        total = total - 1, travel = travel - (old.outcome = 'travel'),
        digital = digital - (old.outcome = 'digital'),
        not_qualified = not_qualified - (old.outcome = 'not_qualified'),
        avoided_kg = avoided_kg - coalesce(old.co2_avoided_kg, 0)
    WHERE month = strftime('%Y-%m', old.created_at + CASE WHEN CAST(strftime('%m', old.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch')
        AND department = coalesce(old.department, '');
    DELETE FROM decision_month_stats WHERE total <= 0 AND month = strftime('%Y-%m', old.created_at + CASE WHEN CAST(strftime('%m', old.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch')
        AND department = coalesce(old.department, '');
    INSERT INTO decision_month_stats
        (month, department, total, travel, digital, not_qualified, avoided_kg)
    VALUES (
        strftime('%Y-%m', new.created_at + CASE WHEN CAST(strftime('%m', new.created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch'),
        coalesce(new.department, ''), 1, new.outcome = 'travel', new.outcome = 'digital',
        new.outcome = 'not_qualified', coalesce(new.co2_avoided_kg, 0)
    )
    ON CONFLICT (month, department) DO UPDATE SET
        total = total + 1, travel = travel + excluded.travel,
        digital = digital + excluded.digital,
        not_qualified = not_qualified + excluded.not_qualified,
        avoided_kg = avoided_kg + excluded.avoided_kg;
END;
INSERT INTO decision_month_stats
    (month, department, total, travel, digital, not_qualified, avoided_kg)
SELECT strftime('%Y-%m', created_at + CASE WHEN CAST(strftime('%m', created_at + 7200, 'unixepoch') AS INTEGER) BETWEEN 4 AND 10 THEN 7200 ELSE 3600 END, 'unixepoch'), coalesce(department, ''), count(*),
    sum(outcome = 'travel'), sum(outcome = 'digital'), sum(outcome = 'not_qualified'),
    coalesce(sum(co2_avoided_kg), 0)
FROM decisions GROUP BY 1, 2;
