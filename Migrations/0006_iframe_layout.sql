-- ResidualStore schema 6: where a video's I-frames are. 'fixed' is the paper's every N+1
-- sampled frames; 'adaptive' also starts a new I-frame run at every detected shot cut, and
-- shot_starts lists those frames (varint deltas, written with each chunk's commit). Rows
-- indexed before this column are fixed layouts with no shot starts, exactly as they were.
ALTER TABLE videos ADD COLUMN iframes TEXT NOT NULL DEFAULT 'fixed' CHECK (iframes IN ('fixed', 'adaptive'));
ALTER TABLE videos ADD COLUMN shot_starts BLOB;
