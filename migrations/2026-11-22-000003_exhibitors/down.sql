DROP TABLE accreditations;
DROP TABLE participants;
DROP TABLE exhibitors;
DROP TABLE pavilions;
DROP FUNCTION search_key(text);
