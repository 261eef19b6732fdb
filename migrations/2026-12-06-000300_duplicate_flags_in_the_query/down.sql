-- The function as migration 2026-11-23-000008 created it.
CREATE FUNCTION duplicate_flags(participant_ids uuid[])
RETURNS TABLE (participant_id uuid, same_document boolean, same_person boolean,
               previously_rejected boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT p.id,
           bool_or(o.id_document_hash = p.id_document_hash),
           bool_or(o.id_document_hash IS DISTINCT FROM p.id_document_hash),
           bool_or(a.status = 'rejected')
    FROM participants p
    CROSS JOIN LATERAL (
        SELECT o.id, o.id_document_hash FROM participants o
        WHERE o.event_id = p.event_id AND o.id_document_hash = p.id_document_hash
          AND o.id <> p.id AND o.anonymized_at IS NULL
        UNION
        SELECT o.id, o.id_document_hash FROM participants o
        WHERE o.event_id = p.event_id
          AND search_key(o.last_name || ' ' || o.first_name)
                = search_key(p.last_name || ' ' || p.first_name)
          AND o.date_of_birth = p.date_of_birth
          AND o.id <> p.id AND o.anonymized_at IS NULL) o
    JOIN accreditations a ON a.participant_id = o.id
    WHERE p.id = ANY(participant_ids) AND p.anonymized_at IS NULL
    GROUP BY p.id;
END
$$;
