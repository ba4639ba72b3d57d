-- The dashboard's figures kept per month (Stockholm time) and department, in the same
-- transaction as each decision by a trigger, so whole-log stats read a few hundred rows
-- instead of scanning the log (the same totals as SQLite's migration 006).
CREATE TABLE decision_month_stats (
    month text NOT NULL,
    department text NOT NULL,
    total bigint NOT NULL,
    travel bigint NOT NULL,
    digital bigint NOT NULL,
    not_qualified bigint NOT NULL,
    avoided_kg double precision NOT NULL,
    PRIMARY KEY (month, department)
);

CREATE FUNCTION tripcheck_month(at double precision) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_char(to_timestamp(at) AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM');

CREATE FUNCTION decision_month_stats_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE decision_month_stats SET
            total = total - 1,
            travel = travel - (OLD.outcome = 'travel')::int,
            digital = digital - (OLD.outcome = 'digital')::int,
            not_qualified = not_qualified - (OLD.outcome = 'not_qualified')::int,
            avoided_kg = avoided_kg - coalesce(OLD.co2_avoided_kg, 0)
        WHERE month = tripcheck_month(OLD.created_at)
            AND department = coalesce(OLD.department, '');
        DELETE FROM decision_month_stats
        WHERE month = tripcheck_month(OLD.created_at)
            AND department = coalesce(OLD.department, '') AND total <= 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO decision_month_stats AS s
            (month, department, total, travel, digital, not_qualified, avoided_kg)
        VALUES (
            tripcheck_month(NEW.created_at), coalesce(NEW.department, ''), 1,
            (NEW.outcome = 'travel')::int, (NEW.outcome = 'digital')::int,
            (NEW.outcome = 'not_qualified')::int, coalesce(NEW.co2_avoided_kg, 0)
        )
        ON CONFLICT (month, department) DO UPDATE SET
            total = s.total + 1, travel = s.travel + excluded.travel,
            digital = s.digital + excluded.digital,
            not_qualified = s.not_qualified + excluded.not_qualified,
            avoided_kg = s.avoided_kg + excluded.avoided_kg;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER decision_month_stats_insert_delete AFTER INSERT OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION decision_month_stats_apply();
CREATE TRIGGER decision_month_stats_update
    AFTER UPDATE OF created_at, department, outcome, co2_avoided_kg ON decisions
    FOR EACH ROW EXECUTE FUNCTION decision_month_stats_apply();

INSERT INTO decision_month_stats
    (month, department, total, travel, digital, not_qualified, avoided_kg)
SELECT tripcheck_month(created_at), coalesce(department, ''), count(*),
    count(*) FILTER (WHERE outcome = 'travel'), count(*) FILTER (WHERE outcome = 'digital'),
    count(*) FILTER (WHERE outcome = 'not_qualified'), coalesce(sum(co2_avoided_kg), 0)
FROM decisions GROUP BY 1, 2;
