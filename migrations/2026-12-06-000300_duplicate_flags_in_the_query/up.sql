-- The duplicate warnings are now a statement of the service's (`duplicate_flags` in
-- src/accreditations/store.rs): a call of this function cost the database 0.3 ms more than the
-- same query sent as the statement.
DROP FUNCTION duplicate_flags(uuid[]);
