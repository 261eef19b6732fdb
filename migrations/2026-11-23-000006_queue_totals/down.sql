DROP INDEX participants_event_nationality_idx;
DROP INDEX participants_event_sort_idx;
DROP TRIGGER accreditations_counted ON accreditations;
DROP FUNCTION count_accreditations();
DROP FUNCTION fold_accreditation_counts();
DROP TABLE accreditation_counts;
