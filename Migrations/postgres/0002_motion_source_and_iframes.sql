-- ResidualStore PostgreSQL schema 2: what SQLite's migrations 0005 and 0006 add.
-- motion_source: the signal the motion strategy ranked patches by ('vectors' or 'pixels';
-- NULL, rows written before, means pixels). iframes / shot_starts: fixed I-frames, or
-- adaptive ones that also start at each detected shot cut (shot_starts: varint gaps, NULL
-- for none), grown with each committed chunk.
ALTER TABLE videos ADD COLUMN motion_source TEXT;
ALTER TABLE videos ADD COLUMN iframes TEXT NOT NULL DEFAULT 'fixed' CHECK (iframes IN ('fixed', 'adaptive'));
ALTER TABLE videos ADD COLUMN shot_starts BYTEA;
