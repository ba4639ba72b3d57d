-- A full-text search counted from an index alone (issue 16). The GIN index finds the decisions
-- whose search vector holds a word, but counting them reads every match's row from the table
-- (for a common word: most of its pages). This table keeps, for each lexeme of the search
-- vectors and each run of 256 decision ids, one bit per decision whose vector holds the lexeme;
-- statement-level triggers keep it in the same transaction as every change to a decision. A
-- search alone is counted by OR-ing the runs of each word's lexemes, AND-ing the words and
-- adding up the bits: a few thousand short rows instead of the decisions themselves.
CREATE TABLE decision_search_terms (
    term text COLLATE "C" NOT NULL,
    chunk bigint NOT NULL,
    bits bit(256) NOT NULL,
    PRIMARY KEY (term, chunk)
);

CREATE FUNCTION tripcheck_search_bit(id bigint) RETURNS bit(256)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN set_bit(0::bit(256), (id % 256)::integer, 1);

-- Lexemes that went are cleared (a run left empty is dropped), then lexemes that came are set
-- in one statement in key order, so writers adding decisions at the same time lock the shared
-- rows in one order. An update that leaves the search vector as it was changes nothing here.
CREATE FUNCTION decision_search_terms_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO decision_search_terms AS t (term, chunk, bits)
        SELECT lexeme, id / 256, bit_or(tripcheck_search_bit(id))
        FROM new_rows, unnest(tsvector_to_array(search)) AS lexeme
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (term, chunk) DO UPDATE SET bits = t.bits | excluded.bits;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE decision_search_terms t SET bits = t.bits & ~gone.bits
        FROM (SELECT lexeme AS term, id / 256 AS chunk, bit_or(tripcheck_search_bit(id)) AS bits
            FROM old_rows, unnest(tsvector_to_array(search)) AS lexeme GROUP BY 1, 2) AS gone
        WHERE t.term = gone.term AND t.chunk = gone.chunk;
        DELETE FROM decision_search_terms t WHERE t.bits = 0::bit(256)
            AND (t.term, t.chunk) IN (SELECT lexeme, id / 256
                FROM old_rows, unnest(tsvector_to_array(search)) AS lexeme);
    ELSE
        UPDATE decision_search_terms t SET bits = t.bits & ~gone.bits
        FROM (SELECT term, id / 256 AS chunk, bit_or(tripcheck_search_bit(id)) AS bits
            FROM (SELECT lexeme AS term, o.id
                    FROM old_rows o JOIN new_rows n USING (id),
                        unnest(tsvector_to_array(o.search)) AS lexeme
                    WHERE o.search IS DISTINCT FROM n.search
                EXCEPT SELECT lexeme, n.id
                    FROM old_rows o JOIN new_rows n USING (id),
                        unnest(tsvector_to_array(n.search)) AS lexeme
                    WHERE o.search IS DISTINCT FROM n.search) AS went
            GROUP BY 1, 2) AS gone
        WHERE t.term = gone.term AND t.chunk = gone.chunk;
        DELETE FROM decision_search_terms t WHERE t.bits = 0::bit(256)
            AND (t.term, t.chunk) IN (SELECT lexeme, o.id / 256
                FROM old_rows o JOIN new_rows n USING (id),
                    unnest(tsvector_to_array(o.search)) AS lexeme
                WHERE o.search IS DISTINCT FROM n.search);
        INSERT INTO decision_search_terms AS t (term, chunk, bits)
        SELECT term, id / 256, bit_or(tripcheck_search_bit(id))
        FROM (SELECT lexeme AS term, n.id
                FROM old_rows o JOIN new_rows n USING (id),
                    unnest(tsvector_to_array(n.search)) AS lexeme
                WHERE o.search IS DISTINCT FROM n.search
            EXCEPT SELECT lexeme, o.id
                FROM old_rows o JOIN new_rows n USING (id),
                    unnest(tsvector_to_array(o.search)) AS lexeme
                WHERE o.search IS DISTINCT FROM n.search) AS came
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (term, chunk) DO UPDATE SET bits = t.bits | excluded.bits;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER decision_search_terms_insert AFTER INSERT ON decisions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION decision_search_terms_apply();
CREATE TRIGGER decision_search_terms_delete AFTER DELETE ON decisions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION decision_search_terms_apply();
CREATE TRIGGER decision_search_terms_update AFTER UPDATE ON decisions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION decision_search_terms_apply();

INSERT INTO decision_search_terms (term, chunk, bits)
SELECT lexeme, id / 256, bit_or(tripcheck_search_bit(id))
FROM decisions, unnest(tsvector_to_array(search)) AS lexeme
GROUP BY 1, 2;
