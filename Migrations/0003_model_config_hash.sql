-- ResidualStore schema 3: the model binding covers how the weights are read, not only their
-- bytes. `config` becomes the model's normalised config (canonical sorted-key JSON of the
-- fields that decide how the weights are read); `config_sha256` is its SHA-256. Stores written
-- before have '' here: the first open compares the stored config, normalised, and fills it.

ALTER TABLE models ADD COLUMN config_sha256 TEXT NOT NULL DEFAULT '';
