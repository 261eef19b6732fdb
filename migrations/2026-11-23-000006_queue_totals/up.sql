-- The review queue answers with its total. Counting 100,000 accreditations for every page costs
-- 20-110 ms; these counts answer the status and category filters at once. A trigger appends
-- one row per change (-1 for the old status and category, +1 for the new) instead of updating
-- shared counter rows: appending takes no row lock, so registrations and decisions running at
-- once never wait for each other nor deadlock on it. A background loop folds the rows into one
-- per event, status and category (fold_accreditation_counts), so a sum reads a few rows.
CREATE TABLE accreditation_counts (
    id        bigserial PRIMARY KEY,
    event_id  uuid   NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    status    text   NOT NULL,
    category  text   NOT NULL,
    n         bigint NOT NULL
);
CREATE INDEX accreditation_counts_lookup_idx
    ON accreditation_counts (event_id, status, category) INCLUDE (n);

CREATE FUNCTION count_accreditations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' OR TG_OP = 'DELETE' THEN
        INSERT INTO accreditation_counts (event_id, status, category, n)
        VALUES (OLD.event_id, OLD.status, OLD.category, -1);
    END IF;
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
        INSERT INTO accreditation_counts (event_id, status, category, n)
        VALUES (NEW.event_id, NEW.status, NEW.category, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER accreditations_counted
    AFTER INSERT OR DELETE OR UPDATE OF event_id, status, category ON accreditations
    FOR EACH ROW
    EXECUTE FUNCTION count_accreditations();

-- Folds every committed row into one per event, status and category. Safe to run from several
-- instances at once: a row deleted by one is skipped by the other.
CREATE FUNCTION fold_accreditation_counts() RETURNS void LANGUAGE sql AS $$
    WITH folded AS (DELETE FROM accreditation_counts RETURNING event_id, status, category, n)
    INSERT INTO accreditation_counts (event_id, status, category, n)
    SELECT event_id, status, category, sum(n) FROM folded
    GROUP BY event_id, status, category
    HAVING sum(n) <> 0;
$$;

INSERT INTO accreditation_counts (event_id, status, category, n)
SELECT event_id, status, category, count(*) FROM accreditations GROUP BY 1, 2, 3;

-- The queue sorted by name walks this index rather than sorting the whole event.
CREATE INDEX participants_event_sort_idx
    ON participants (event_id, search_key(last_name || ' ' || first_name), id);
CREATE INDEX participants_event_nationality_idx ON participants (event_id, nationality);
