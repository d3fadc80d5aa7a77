-- ResidualStore PostgreSQL schema 1: the SQLite schema 1-4 in PostgreSQL's dialect, plus what a
-- library shared by many machines needs: a generation counter that readers poll, and a queue of
-- files to index served by `rstore worker`. Blobs (offsets, features) are byte-identical to the
-- SQLite store's, so `rstore store copy` moves them without re-encoding.

CREATE TABLE models (
    id               BIGSERIAL PRIMARY KEY,
    name             TEXT    NOT NULL,
    config           TEXT    NOT NULL,          -- normalised JSON (see ModelConfig)
    weights_sha256   TEXT    NOT NULL,
    tokenizer_sha256 TEXT    NOT NULL,
    embed_dim        BIGINT  NOT NULL CHECK (embed_dim > 0),
    created_at       DOUBLE PRECISION NOT NULL,
    config_sha256    TEXT    NOT NULL DEFAULT '',
    UNIQUE (weights_sha256, tokenizer_sha256)
);

CREATE TABLE videos (
    id                 BIGSERIAL PRIMARY KEY,
    path               TEXT    NOT NULL,
    content_hash       TEXT    NOT NULL,
    size               BIGINT  NOT NULL,
    mtime              DOUBLE PRECISION NOT NULL,
    duration           DOUBLE PRECISION NOT NULL,
    time_base_num      BIGINT  NOT NULL,
    time_base_den      BIGINT  NOT NULL,
    fps                DOUBLE PRECISION NOT NULL,
    n                  BIGINT  NOT NULL CHECK (n >= 0),
    p                  DOUBLE PRECISION NOT NULL CHECK (p >= 0 AND p < 1),
    strategy           TEXT    NOT NULL,
    codec              TEXT    NOT NULL,
    model_id           BIGINT  NOT NULL REFERENCES models(id),
    status             TEXT    NOT NULL CHECK (status IN ('indexing', 'ready', 'failed')),
    error              TEXT,
    frame_count        BIGINT  NOT NULL DEFAULT 0,
    info               TEXT    NOT NULL,
    mask_seed          BIGINT  NOT NULL DEFAULT 0,
    created_at         DOUBLE PRECISION NOT NULL,
    updated_at         DOUBLE PRECISION NOT NULL,
    fingerprint        TEXT    NOT NULL DEFAULT '',
    damage             TEXT,
    lease_owner        TEXT,
    lease_heartbeat_at DOUBLE PRECISION,
    lease_expires_at   DOUBLE PRECISION
);
CREATE UNIQUE INDEX videos_ready_path ON videos (path) WHERE status = 'ready';
CREATE INDEX videos_path ON videos (path, content_hash);

CREATE TABLE chunks (
    video_id    BIGINT  NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    first_frame BIGINT  NOT NULL,
    frame_count BIGINT  NOT NULL CHECK (frame_count > 0),
    offsets     BYTEA   NOT NULL,
    features    BYTEA   NOT NULL,
    PRIMARY KEY (video_id, first_frame)
);

-- Bumped in the transaction that makes a video ready (or replaces a ready one): a search server
-- polls one row to know whether its stage-1 matrix is current.
CREATE TABLE library_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT  NOT NULL
);
INSERT INTO library_state (id, generation) VALUES (1, 0);

-- Files to index, relative to a named library root (`--root archive=/mnt/videos`) so machines
-- that mount the archive in different places agree. Workers claim jobs with
-- FOR UPDATE SKIP LOCKED under a lease; a job whose lease expired is claimed again.
CREATE TABLE index_queue (
    id               BIGSERIAL PRIMARY KEY,
    root             TEXT    NOT NULL,
    path             TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('queued', 'claimed', 'done', 'failed')),
    lease_owner      TEXT,
    lease_expires_at DOUBLE PRECISION,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    error            TEXT,
    enqueued_at      DOUBLE PRECISION NOT NULL,
    updated_at       DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX index_queue_open ON index_queue (root, path) WHERE status IN ('queued', 'claimed');
CREATE INDEX index_queue_status ON index_queue (status, id);
