-- The dashboard's figures kept per month (Stockholm time) and department, in the same
-- transaction as each decision by triggers, so whole-log stats read a few hundred rows
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

-- Statement-level, over the transition tables: a bulk insert (COPY) or a purge updates each
-- month and department once, not once per row.
CREATE FUNCTION decision_month_stats_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO decision_month_stats AS s
            (month, department, total, travel, digital, not_qualified, avoided_kg)
        SELECT month, department, sum(total), sum(travel), sum(digital), sum(not_qualified),
            sum(avoided_kg)
        FROM (SELECT tripcheck_month(created_at) AS month, coalesce(department, '') AS department,
                count(*) AS total, count(*) FILTER (WHERE outcome = 'travel') AS travel,
                count(*) FILTER (WHERE outcome = 'digital') AS digital,
                count(*) FILTER (WHERE outcome = 'not_qualified') AS not_qualified,
                coalesce(sum(co2_avoided_kg), 0) AS avoided_kg
            FROM new_rows GROUP BY 1, 2) AS delta
        GROUP BY month, department
        ON CONFLICT (month, department) DO UPDATE SET
            total = s.total + excluded.total, travel = s.travel + excluded.travel,
            digital = s.digital + excluded.digital,
            not_qualified = s.not_qualified + excluded.not_qualified,
            avoided_kg = s.avoided_kg + excluded.avoided_kg;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO decision_month_stats AS s
            (month, department, total, travel, digital, not_qualified, avoided_kg)
        SELECT month, department, sum(total), sum(travel), sum(digital), sum(not_qualified),
            sum(avoided_kg)
        FROM (SELECT tripcheck_month(created_at) AS month, coalesce(department, '') AS department,
                -count(*) AS total, -count(*) FILTER (WHERE outcome = 'travel') AS travel,
                -count(*) FILTER (WHERE outcome = 'digital') AS digital,
                -count(*) FILTER (WHERE outcome = 'not_qualified') AS not_qualified,
                -coalesce(sum(co2_avoided_kg), 0) AS avoided_kg
            FROM old_rows GROUP BY 1, 2) AS delta
        GROUP BY month, department
        ON CONFLICT (month, department) DO UPDATE SET
            total = s.total + excluded.total, travel = s.travel + excluded.travel,
            digital = s.digital + excluded.digital,
            not_qualified = s.not_qualified + excluded.not_qualified,
            avoided_kg = s.avoided_kg + excluded.avoided_kg;
    ELSE
        INSERT INTO decision_month_stats AS s
            (month, department, total, travel, digital, not_qualified, avoided_kg)
        SELECT month, department, sum(total), sum(travel), sum(digital), sum(not_qualified),
            sum(avoided_kg)
        FROM (SELECT tripcheck_month(created_at) AS month, coalesce(department, '') AS department,
                count(*) AS total, count(*) FILTER (WHERE outcome = 'travel') AS travel,
                count(*) FILTER (WHERE outcome = 'digital') AS digital,
                count(*) FILTER (WHERE outcome = 'not_qualified') AS not_qualified,
                coalesce(sum(co2_avoided_kg), 0) AS avoided_kg
            FROM new_rows GROUP BY 1, 2
            UNION ALL SELECT tripcheck_month(created_at) AS month, coalesce(department, '') AS department,
                -count(*) AS total, -count(*) FILTER (WHERE outcome = 'travel') AS travel,
                -count(*) FILTER (WHERE outcome = 'digital') AS digital,
                -count(*) FILTER (WHERE outcome = 'not_qualified') AS not_qualified,
                -coalesce(sum(co2_avoided_kg), 0) AS avoided_kg
            FROM old_rows GROUP BY 1, 2) AS delta
        GROUP BY month, department
        ON CONFLICT (month, department) DO UPDATE SET
            total = s.total + excluded.total, travel = s.travel + excluded.travel,
            digital = s.digital + excluded.digital,
            not_qualified = s.not_qualified + excluded.not_qualified,
            avoided_kg = s.avoided_kg + excluded.avoided_kg;
    END IF;
    DELETE FROM decision_month_stats WHERE total <= 0;
    RETURN NULL;
END;
$$;

CREATE TRIGGER decision_month_stats_insert AFTER INSERT ON decisions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION decision_month_stats_apply();
CREATE TRIGGER decision_month_stats_delete AFTER DELETE ON decisions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION decision_month_stats_apply();
CREATE TRIGGER decision_month_stats_update AFTER UPDATE ON decisions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION decision_month_stats_apply();

INSERT INTO decision_month_stats
    (month, department, total, travel, digital, not_qualified, avoided_kg)
SELECT tripcheck_month(created_at), coalesce(department, ''), count(*),
    count(*) FILTER (WHERE outcome = 'travel'), count(*) FILTER (WHERE outcome = 'digital'),
    count(*) FILTER (WHERE outcome = 'not_qualified'), coalesce(sum(co2_avoided_kg), 0)
FROM decisions GROUP BY 1, 2;
