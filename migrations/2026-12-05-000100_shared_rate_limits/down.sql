DROP FUNCTION take_rate_limit(bytea, double precision, integer);
DROP TABLE rate_limits;
