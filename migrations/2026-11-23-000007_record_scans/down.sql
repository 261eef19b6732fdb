DROP FUNCTION record_scans(uuid[], uuid[], uuid[], uuid[], text[], text[], text[], text[], bytea[]);
