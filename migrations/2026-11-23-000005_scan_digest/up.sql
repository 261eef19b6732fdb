-- What a retry must repeat: the QR it carried, as a SHA-256 digest (a badge's token, or whatever
-- was scanned, readable or not). Cleared with the badge link when an event's data is purged.
ALTER TABLE scans ADD COLUMN qr_digest bytea
    CONSTRAINT scans_qr_digest_length CHECK (octet_length(qr_digest) = 32);
