-- The review queue answers with its total. Counting 100,000 accreditations for every page costs
-- ~20 ms; these counters, kept by a trigger in the same transactions, answer the status and
-- category filters at once.
CREATE TABLE accreditation_counts (
    event_id  uuid   NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    status    text   NOT NULL,
    category  text   NOT NULL,
    n         bigint NOT NULL CONSTRAINT accreditation_counts_not_negative CHECK (n >= 0),
    PRIMARY KEY (event_id, status, category)
);

CREATE FUNCTION count_accreditations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
        INSERT INTO accreditation_counts (event_id, status, category, n)
        VALUES (NEW.event_id, NEW.status, NEW.category, 0)
        ON CONFLICT DO NOTHING;
    END IF;
    -- Both counters of a change are locked in one order (by status), so that two transactions
    -- moving accreditations in opposite directions cannot deadlock.
    IF TG_OP = 'UPDATE' THEN
        PERFORM 1 FROM accreditation_counts
         WHERE (event_id, status, category) IN ((OLD.event_id, OLD.status, OLD.category),
                                                (NEW.event_id, NEW.status, NEW.category))
         ORDER BY event_id, category, status
           FOR UPDATE;
    END IF;
    IF TG_OP = 'UPDATE' OR TG_OP = 'DELETE' THEN
        UPDATE accreditation_counts SET n = n - 1
         WHERE event_id = OLD.event_id AND status = OLD.status AND category = OLD.category;
    END IF;
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
        UPDATE accreditation_counts SET n = n + 1
         WHERE event_id = NEW.event_id AND status = NEW.status AND category = NEW.category;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER accreditations_counted
    AFTER INSERT OR DELETE OR UPDATE OF event_id, status, category ON accreditations
    FOR EACH ROW EXECUTE FUNCTION count_accreditations();

INSERT INTO accreditation_counts (event_id, status, category, n)
SELECT event_id, status, category, count(*) FROM accreditations GROUP BY 1, 2, 3;

-- The queue sorted by name walks this index rather than sorting the whole event.
CREATE INDEX participants_event_sort_idx
    ON participants (event_id, search_key(last_name || ' ' || first_name), id);
CREATE INDEX participants_event_nationality_idx ON participants (event_id, nationality);
