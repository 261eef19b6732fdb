-- An open event `bench` (today and the next two days) with :accreditations participants and
-- their pending accreditations, made in a few seconds with generate_series; used by the load
-- scripts. Needs the admin account of `bamex create-admin` (it registers them) and psql's
-- variable `accreditations`:
--   psql -v accreditations=100000 -f benches/accreditations.sql DATABASE
-- Names vary per row (the name order and `q` have real work to do; the first name numbers the
-- person), organizations repeat every 500 rows, except that the first 500 people work for "The
-- Peak Defense Pavilion" (one filter selects a batch of 500 badges), nationalities cycle
-- through eight countries, categories are drawn by hash.
INSERT INTO events (id, slug, name, venue, starts_on, ends_on, status, public_days, vetting_categories)
VALUES (gen_random_uuid(), 'bench', 'Bench', 'Bamako', current_date, current_date + 2, 'open', '{}', '{}');
INSERT INTO participants (id, event_id, registered_by, first_name, last_name, organization, nationality,
                          date_of_birth, id_document_type, id_document_ciphertext, id_document_nonce,
                          id_document_key_id, id_document_hash)
SELECT gen_random_uuid(), e.id, u.id, 'Prénom' || g, 'Nom' || md5(g::text),
       CASE WHEN g <= 500 THEN 'The Peak Defense Pavilion' ELSE 'Organisation ' || (g % 500) END,
       (ARRAY['ML', 'TR', 'FR', 'SN', 'CN', 'BF', 'NE', 'MA'])[1 + g % 8], date '1980-01-01' + (g % 9000),
       'passport', decode(md5(g::text), 'hex'), decode(substr(md5(g::text), 1, 24), 'hex'), 'dev1',
       decode(md5((g * 3)::text), 'hex')
FROM generate_series(1, :accreditations) g, events e, (SELECT id FROM users ORDER BY created_at LIMIT 1) u
WHERE e.slug = 'bench';
INSERT INTO accreditations (id, event_id, participant_id, category)
SELECT gen_random_uuid(), p.event_id, p.id,
       (ARRAY['trade_visitor', 'exhibitor_staff', 'public_visitor', 'contractor'])[1 + (abs(hashtext(p.id::text)) % 4)]
FROM participants p JOIN events e ON e.id = p.event_id
WHERE e.slug = 'bench';
ANALYZE;
