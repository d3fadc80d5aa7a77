-- ResidualStore schema 4: the seed of the random token-reduction mask, per video.
-- Reconstruction must drop the same patches ingest chose; before this column the seed was a
-- constant 0, which the default keeps for rows indexed then.
ALTER TABLE videos ADD COLUMN mask_seed INTEGER NOT NULL DEFAULT 0;
