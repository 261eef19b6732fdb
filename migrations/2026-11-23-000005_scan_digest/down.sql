ALTER TABLE scans DROP COLUMN qr_digest;
