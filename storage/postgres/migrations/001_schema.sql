-- The whole schema as of SQLite migration 5: conversations, profiles, the decision log with its
-- climate columns and search vector, deliveries, reviews, admins, audit and shared state.

-- Search ignores diacritics ("ulea" finds "Uleåborg"). unaccent is a trusted extension, so the
-- database owner may create it; where it is missing, a translate() of the Nordic and common
-- Latin letters stands in (see docs/deploy.md).
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS unaccent;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'unaccent is not available: search falls back to translate()';
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'unaccent') THEN
        EXECUTE $f$
            CREATE FUNCTION tripcheck_unaccent(value text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
            AS $body$ SELECT lower(unaccent('unaccent'::regdictionary, value)) $body$
        $f$;
    ELSE
        EXECUTE $f$
            CREATE FUNCTION tripcheck_unaccent(value text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
            AS $body$ SELECT translate(lower(value),
                'åäöøæéèêëáàâãíìîïóòôõúùûüýÿçñš',
                'aaooaeeeeaaaaiiiioooouuuuyycns') $body$
        $f$;
    END IF;
END
$$;

CREATE TABLE conversations (
    channel text NOT NULL,
    chat text NOT NULL,
    user_id text NOT NULL,
    state text NOT NULL,
    updated_at double precision NOT NULL,
    PRIMARY KEY (channel, chat, user_id)
);
CREATE INDEX conversations_updated_at ON conversations (updated_at);

CREATE TABLE profiles (
    channel text NOT NULL,
    user_id text NOT NULL,
    last_department text,
    updated_at double precision,
    PRIMARY KEY (channel, user_id)
);

CREATE TABLE decisions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at double precision NOT NULL,
    channel text NOT NULL,
    chat text,
    user_id text NOT NULL,
    role text,
    lang text,
    kind text,
    title text,
    department text,
    partner text,
    partner_id text,
    destination text,
    outcome text NOT NULL,
    focus_area text NOT NULL,
    advisories text,
    reasons text,
    guidelines text,
    answers text,
    rules_version text NOT NULL,
    transcript text,
    co2 text,
    co2_distance_km double precision,
    co2_planned_mode text,
    co2_planned_kg double precision,
    co2_lowest_mode text,
    co2_lowest_kg double precision,
    co2_avoided_kg double precision,
    purged_at double precision,
    -- Words as written (for prefixes) plus Swedish and English stems, all without diacritics.
    search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig, tripcheck_unaccent(
            coalesce(title, '') || ' ' || coalesce(department, '') || ' ' ||
            coalesce(partner, '') || ' ' || coalesce(destination, '') || ' ' ||
            coalesce(answers, '')))
        || to_tsvector('swedish'::regconfig, tripcheck_unaccent(
            coalesce(title, '') || ' ' || coalesce(department, '') || ' ' ||
            coalesce(partner, '') || ' ' || coalesce(destination, '') || ' ' ||
            coalesce(answers, '')))
        || to_tsvector('english'::regconfig, tripcheck_unaccent(
            coalesce(title, '') || ' ' || coalesce(department, '') || ' ' ||
            coalesce(partner, '') || ' ' || coalesce(destination, '') || ' ' ||
            coalesce(answers, '')))
    ) STORED
);
CREATE INDEX decisions_created_at ON decisions (created_at);
CREATE INDEX decisions_channel_user_created ON decisions (channel, user_id, created_at);
CREATE INDEX decisions_outcome_created ON decisions (outcome, created_at);
CREATE INDEX decisions_search ON decisions USING gin (search);

CREATE TABLE deliveries (
    source text NOT NULL,
    delivery_id text NOT NULL,
    received_at double precision NOT NULL,
    PRIMARY KEY (source, delivery_id)
);
CREATE INDEX deliveries_received_at ON deliveries (received_at);

CREATE TABLE reviews (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    decision_id bigint NOT NULL REFERENCES decisions (id),
    reviewer text NOT NULL,
    verdict text NOT NULL,
    comment text,
    created_at double precision NOT NULL
);
CREATE INDEX reviews_decision_id ON reviews (decision_id);

CREATE TABLE admins (
    username text PRIMARY KEY,
    password_hash text NOT NULL,
    created_at double precision
);

CREATE TABLE audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at double precision NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    details text
);

CREATE TABLE ended_sessions (session_id text PRIMARY KEY, until double precision NOT NULL);
CREATE INDEX ended_sessions_until ON ended_sessions (until);

CREATE TABLE login_failures (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    first_at double precision NOT NULL,
    last_at double precision NOT NULL
);
CREATE INDEX login_failures_last_at ON login_failures (last_at);

-- Who runs a singleton job (the daily retention purge) until when.
CREATE TABLE leases (name text PRIMARY KEY, holder text NOT NULL, until double precision NOT NULL);
