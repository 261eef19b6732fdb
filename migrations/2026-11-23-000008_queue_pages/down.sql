DROP FUNCTION duplicate_flags(uuid[]);
DROP INDEX accreditations_status_order_idx;
