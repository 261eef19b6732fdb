DROP TABLE outbox;
DROP TABLE audit_records;
DROP TABLE events;
DROP TABLE users;
