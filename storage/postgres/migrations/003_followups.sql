-- What really happened (issue 12), as SQLite's migration 007: the trip's date and the
-- motivation with each decision, the follow-up due-list, the actual outcome, and the month
-- totals extended with follow-ups asked and answered and the CO2e avoided as confirmed.
ALTER TABLE decisions
    ADD COLUMN happens_on text,
    ADD COLUMN happens_precision text,
    ADD COLUMN motivation text,
    ADD COLUMN actual_outcome text,
    ADD COLUMN actual_at double precision,
    ADD COLUMN followed_up_at double precision;

-- One row per dated decision made where the person can be written to later; a claim keeps
-- every other instance from sending the same question (FOR UPDATE SKIP LOCKED when taken).
CREATE TABLE followups (
    decision_id bigint PRIMARY KEY REFERENCES decisions (id) ON DELETE CASCADE,
    channel text NOT NULL,
    chat text NOT NULL,
    user_id text NOT NULL,
    lang text NOT NULL,
    reference text,
    due_at double precision,
    attempts integer NOT NULL DEFAULT 0,
    failures integer NOT NULL DEFAULT 0,
    sent_at double precision,
    answered_at double precision,
    claimed_by text,
    claimed_until double precision
);
CREATE INDEX followups_due_at ON followups (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX followups_conversation ON followups (channel, chat, user_id);

ALTER TABLE decision_month_stats
    ADD COLUMN asked bigint NOT NULL DEFAULT 0,
    ADD COLUMN answered bigint NOT NULL DEFAULT 0,
    ADD COLUMN confirmed_digital bigint NOT NULL DEFAULT 0,
    ADD COLUMN confirmed_avoided_kg double precision NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION decision_month_stats_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO decision_month_stats AS s
            (month, department, total, travel, digital, not_qualified, avoided_kg, asked,
             answered, confirmed_digital, confirmed_avoided_kg)
        SELECT month, department, sum(total), sum(travel), sum(digital), sum(not_qualified),
            sum(avoided_kg), sum(asked), sum(answered), sum(confirmed_digital),
            sum(confirmed_avoided_kg)
        FROM (SELECT tripcheck_month(created_at) AS month, coalesce(department, '') AS department,
                count(*) AS total, count(*) FILTER (WHERE outcome = 'travel') AS travel,
                count(*) FILTER (WHERE outcome = 'digital') AS digital,
                count(*) FILTER (WHERE outcome = 'not_qualified') AS not_qualified,
                coalesce(sum(co2_avoided_kg), 0) AS avoided_kg,
                count(*) FILTER (WHERE followed_up_at IS NOT NULL) AS asked,
                count(*) FILTER (WHERE actual_outcome IS NOT NULL) AS answered,
                count(*) FILTER (WHERE actual_outcome = 'digital') AS confirmed_digital,
                coalesce(sum(coalesce(co2_avoided_kg, co2_planned_kg, 0))
                    FILTER (WHERE actual_outcome = 'digital'), 0) AS confirmed_avoided_kg
            FROM new_rows GROUP BY 1, 2) AS delta
        GROUP BY month, department
        ON CONFLICT (month, department) DO UPDATE SET
            total = s.total + excluded.total, travel = s.travel + excluded.travel,
            digital = s.digital + excluded.digital,
            not_qualified = s.not_qualified + excluded.not_qualified,
            avoided_kg = s.avoided_kg + excluded.avoided_kg,
            asked = s.asked + excluded.asked, answered = s.answered + excluded.answered,
            confirmed_digital = s.confirmed_digital + excluded.confirmed_digital,
            confirmed_avoided_kg = s.confirmed_avoided_kg + excluded.confirmed_avoided_kg;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO decision_month_stats AS s
            (month, department, total, travel, digital, not_qualified, avoided_kg, asked,
             answered, confirmed_digital, confirmed_avoided_kg)
        SELECT month, department, sum(total), sum(travel), sum(digital), sum(not_qualified),
            sum(avoided_kg), sum(asked), sum(answered), sum(confirmed_digital),
            sum(confirmed_avoided_kg)
        FROM (SELECT tripcheck_month(created_at) AS month, coalesce(department, '') AS department,
                -count(*) AS total, -count(*) FILTER (WHERE outcome = 'travel') AS travel,
                -count(*) FILTER (WHERE outcome = 'digital') AS digital,
                -count(*) FILTER (WHERE outcome = 'not_qualified') AS not_qualified,
                -coalesce(sum(co2_avoided_kg), 0) AS avoided_kg,
                -count(*) FILTER (WHERE followed_up_at IS NOT NULL) AS asked,
                -count(*) FILTER (WHERE actual_outcome IS NOT NULL) AS answered,
                -count(*) FILTER (WHERE actual_outcome = 'digital') AS confirmed_digital,
                -coalesce(sum(coalesce(co2_avoided_kg, co2_planned_kg, 0))
                    FILTER (WHERE actual_outcome = 'digital'), 0) AS confirmed_avoided_kg
            FROM old_rows GROUP BY 1, 2) AS delta
        GROUP BY month, department
        ON CONFLICT (month, department) DO UPDATE SET
            total = s.total + excluded.total, travel = s.travel + excluded.travel,
            digital = s.digital + excluded.digital,
            not_qualified = s.not_qualified + excluded.not_qualified,
            avoided_kg = s.avoided_kg + excluded.avoided_kg,
            asked = s.asked + excluded.asked, answered = s.answered + excluded.answered,
            confirmed_digital = s.confirmed_digital + excluded.confirmed_digital,
            confirmed_avoided_kg = s.confirmed_avoided_kg + excluded.confirmed_avoided_kg;
    ELSE
        INSERT INTO decision_month_stats AS s
            (month, department, total, travel, digital, not_qualified, avoided_kg, asked,
             answered, confirmed_digital, confirmed_avoided_kg)
        SELECT month, department, sum(total), sum(travel), sum(digital), sum(not_qualified),
            sum(avoided_kg), sum(asked), sum(answered), sum(confirmed_digital),
            sum(confirmed_avoided_kg)
        FROM (SELECT tripcheck_month(created_at) AS month, coalesce(department, '') AS department,
                count(*) AS total, count(*) FILTER (WHERE outcome = 'travel') AS travel,
                count(*) FILTER (WHERE outcome = 'digital') AS digital,
                count(*) FILTER (WHERE outcome = 'not_qualified') AS not_qualified,
                coalesce(sum(co2_avoided_kg), 0) AS avoided_kg,
                count(*) FILTER (WHERE followed_up_at IS NOT NULL) AS asked,
                count(*) FILTER (WHERE actual_outcome IS NOT NULL) AS answered,
                count(*) FILTER (WHERE actual_outcome = 'digital') AS confirmed_digital,
                coalesce(sum(coalesce(co2_avoided_kg, co2_planned_kg, 0))
                    FILTER (WHERE actual_outcome = 'digital'), 0) AS confirmed_avoided_kg
            FROM new_rows GROUP BY 1, 2
            UNION ALL SELECT tripcheck_month(created_at) AS month, coalesce(department, '') AS department,
                -count(*) AS total, -count(*) FILTER (WHERE outcome = 'travel') AS travel,
                -count(*) FILTER (WHERE outcome = 'digital') AS digital,
                -count(*) FILTER (WHERE outcome = 'not_qualified') AS not_qualified,
                -coalesce(sum(co2_avoided_kg), 0) AS avoided_kg,
                -count(*) FILTER (WHERE followed_up_at IS NOT NULL) AS asked,
                -count(*) FILTER (WHERE actual_outcome IS NOT NULL) AS answered,
                -count(*) FILTER (WHERE actual_outcome = 'digital') AS confirmed_digital,
                -coalesce(sum(coalesce(co2_avoided_kg, co2_planned_kg, 0))
                    FILTER (WHERE actual_outcome = 'digital'), 0) AS confirmed_avoided_kg
            FROM old_rows GROUP BY 1, 2) AS delta
        GROUP BY month, department
        ON CONFLICT (month, department) DO UPDATE SET
            total = s.total + excluded.total, travel = s.travel + excluded.travel,
            digital = s.digital + excluded.digital,
            not_qualified = s.not_qualified + excluded.not_qualified,
            avoided_kg = s.avoided_kg + excluded.avoided_kg,
            asked = s.asked + excluded.asked, answered = s.answered + excluded.answered,
            confirmed_digital = s.confirmed_digital + excluded.confirmed_digital,
            confirmed_avoided_kg = s.confirmed_avoided_kg + excluded.confirmed_avoided_kg;
    END IF;
    DELETE FROM decision_month_stats WHERE total <= 0;
    RETURN NULL;
END;
$$;
