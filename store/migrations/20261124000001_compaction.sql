-- Compaction (WAGES_RETENTION_*). Once a session's last reading is old enough, its
-- readings are folded into fixed-width buckets and its summary is kept here, exact as
-- computed from every reading; the summary stays for good, the buckets may expire.
CREATE TABLE session_summaries (
    client_id     TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    ended_at      BIGINT NOT NULL,
    reading_count BIGINT NOT NULL,
    final_weight  DOUBLE PRECISION NOT NULL,
    max_weight    DOUBLE PRECISION NOT NULL,
    peak_flow     DOUBLE PRECISION NOT NULL,
    mean_flow     DOUBLE PRECISION NOT NULL,
    bucket_ms     BIGINT NOT NULL,
    compacted_at  BIGINT NOT NULL,
    -- When the buckets were removed too; NULL while they are kept.
    graph_removed_at BIGINT,
    PRIMARY KEY (client_id, session_id)
);
CREATE INDEX session_summaries_by_end ON session_summaries (ended_at);

CREATE TABLE reading_buckets (
    client_id     TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    -- Start of the bucket, ms since the epoch.
    tstamp        BIGINT NOT NULL,
    reading_count BIGINT NOT NULL,
    min_value     DOUBLE PRECISION NOT NULL,
    max_value     DOUBLE PRECISION NOT NULL,
    mean_value    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (client_id, session_id, tstamp)
);
