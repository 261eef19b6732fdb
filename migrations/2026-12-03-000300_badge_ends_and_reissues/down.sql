DROP TABLE reissue_requests;
DROP TRIGGER badges_end_is_final ON badges;
DROP FUNCTION badges_end_is_final();
ALTER TABLE badges DROP CONSTRAINT badges_end_reason_with_time;
ALTER TABLE badges DROP COLUMN end_reason;
