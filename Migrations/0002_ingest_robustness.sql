-- ResidualStore schema 2: ingest robustness.
-- * fingerprint: SHA-256 of the file's first and last MiB plus its size (hex), checked with
--   size and mtime before any pixel of a stored video is read ('' for rows indexed before it).
-- * damage: JSON report of concealed corruption / truncation found while indexing (NULL: clean).
-- * lease_*: which process is indexing an `indexing` row, and until when (heartbeat extends it).
ALTER TABLE videos ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE videos ADD COLUMN damage TEXT;
ALTER TABLE videos ADD COLUMN lease_owner TEXT;
ALTER TABLE videos ADD COLUMN lease_heartbeat_at REAL;
ALTER TABLE videos ADD COLUMN lease_expires_at REAL;
