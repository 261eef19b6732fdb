DROP INDEX users_search_idx;
DROP TABLE login_failures;
DROP TABLE refresh_tokens;
DROP TABLE email_tokens;
DROP FUNCTION f_unaccent(text);
