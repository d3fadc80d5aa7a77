-- ResidualStore schema 5: where the motion token reduction's per-patch scores come from, per
-- video: 'vectors' (the codec's motion vectors, pixel difference only for spans without any)
-- or 'pixels' (mean |frame - anchor| of the model inputs). Reconstruction must pick the
-- patches ingest picked. NULL: indexed before this column, when the pixel difference was the
-- only signal; such rows keep being reconstructed with it.
ALTER TABLE videos ADD COLUMN motion_source TEXT;
