-- ResidualStore schema 1: models, videos, and per-video chunks of frame offsets and I-features.
-- Only I-features are stored (P-features are recomputed on demand). Offsets and features are
-- kept as one compressed blob per chunk of consecutive frames: a row per frame would cost more
-- than the features themselves.

CREATE TABLE models (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL,
    config           TEXT    NOT NULL,          -- JSON, for humans and tools
    weights_sha256   TEXT    NOT NULL,          -- SHA-256 of the CLIP weights
    tokenizer_sha256 TEXT    NOT NULL,          -- SHA-256 of the residual tokenizer A ('' = none)
    embed_dim        INTEGER NOT NULL CHECK (embed_dim > 0),
    created_at       REAL    NOT NULL,
    UNIQUE (weights_sha256, tokenizer_sha256)
);

CREATE TABLE videos (
    id             INTEGER PRIMARY KEY,
    path           TEXT    NOT NULL,
    content_hash   TEXT    NOT NULL,
    size           INTEGER NOT NULL,
    mtime          REAL    NOT NULL,
    duration       REAL    NOT NULL,
    time_base_num  INTEGER NOT NULL,
    time_base_den  INTEGER NOT NULL,
    fps            REAL    NOT NULL,            -- sampling rate
    n              INTEGER NOT NULL CHECK (n >= 0),
    p              REAL    NOT NULL CHECK (p >= 0 AND p < 1),
    strategy       TEXT    NOT NULL,
    codec          TEXT    NOT NULL,            -- feature codec of this video's chunks
    model_id       INTEGER NOT NULL REFERENCES models(id),
    status         TEXT    NOT NULL CHECK (status IN ('indexing', 'ready', 'failed')),
    error          TEXT,
    frame_count    INTEGER NOT NULL DEFAULT 0,  -- frames committed so far (all frames once ready)
    info           TEXT    NOT NULL,            -- stream facts, JSON
    created_at     REAL    NOT NULL,
    updated_at     REAL    NOT NULL
);
-- At most one queryable version of a path; a re-index writes a second row beside it.
CREATE UNIQUE INDEX videos_ready_path ON videos (path) WHERE status = 'ready';
CREATE INDEX videos_path ON videos (path, content_hash);

CREATE TABLE chunks (
    video_id    INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    first_frame INTEGER NOT NULL,
    frame_count INTEGER NOT NULL CHECK (frame_count > 0),
    offsets     BLOB    NOT NULL,               -- frame offsets, delta-encoded + LZ4 + CRC
    features    BLOB    NOT NULL,               -- the chunk's I-features, codec + LZ4 + CRC
    PRIMARY KEY (video_id, first_frame)
) WITHOUT ROWID;
