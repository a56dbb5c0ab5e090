-- Brews: the beans library, each scale's current recipe, and one row per shot (session)
-- with its summary, kept by the pipeline as it stores readings, and what was brewed.
-- Portable SQL, as for devices. Times are ms since the epoch; booleans 0 or 1.
CREATE TABLE beans (
    id          BIGINT PRIMARY KEY,
    roaster     TEXT NOT NULL,
    name        TEXT NOT NULL,
    origin      TEXT,
    process     TEXT,
    roast_level TEXT,
    -- YYYY-MM-DD
    roast_date  TEXT,
    notes       TEXT,
    archived    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE device_recipes (
    client_id     TEXT PRIMARY KEY REFERENCES devices (client_id) ON DELETE CASCADE,
    method        TEXT,
    beans_id      BIGINT,
    grinder       TEXT,
    grind_setting TEXT,
    dose          DOUBLE PRECISION,
    target_yield  DOUBLE PRECISION,
    set_by        TEXT,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE shots (
    client_id     TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    -- The summary, from every stored reading.
    started_at    BIGINT NOT NULL,
    ended_at      BIGINT NOT NULL,
    reading_count BIGINT NOT NULL,
    first_weight  DOUBLE PRECISION NOT NULL,
    final_weight  DOUBLE PRECISION NOT NULL,
    max_weight    DOUBLE PRECISION NOT NULL,
    -- NULL until worked out for sessions stored before this table existed.
    peak_flow     DOUBLE PRECISION,
    -- What was brewed: the scale's recipe when the shot started, then edited.
    method        TEXT,
    beans_id      BIGINT,
    grinder       TEXT,
    grind_setting TEXT,
    dose          DOUBLE PRECISION,
    target_yield  DOUBLE PRECISION,
    yield_grams   DOUBLE PRECISION,
    water_temp    DOUBLE PRECISION,
    tds           DOUBLE PRECISION,
    rating        BIGINT,
    notes         TEXT,
    -- ',tag one,tag two,' so that one tag is found with LIKE '%,tag,%'.
    tags          TEXT NOT NULL DEFAULT '',
    starred       BIGINT NOT NULL DEFAULT 0,
    brewed_by     TEXT,
    edited_by     TEXT,
    edited_at     BIGINT,
    PRIMARY KEY (client_id, session_id)
);
CREATE INDEX shots_newest ON shots (started_at, client_id, session_id);
CREATE INDEX shots_by_beans ON shots (beans_id, started_at);
CREATE INDEX shots_by_scale ON shots (client_id, started_at, session_id);
CREATE INDEX shots_starred ON shots (started_at, client_id, session_id) WHERE starred = 1;

-- Each shot's tags again, one row each, so that a rare tag is found without a scan.
CREATE TABLE shot_tags (
    tag        TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    session_id TEXT NOT NULL,
    PRIMARY KEY (tag, client_id, session_id)
);

-- Shots of sessions stored before: compacted ones from their kept summaries, the rest
-- from their readings (peak flows are worked out at the next start).
INSERT INTO shots (client_id, session_id, started_at, ended_at, reading_count, first_weight, final_weight, max_weight, peak_flow)
SELECT client_id, session_id, started_at, ended_at, reading_count,
       final_weight - mean_flow * (ended_at - started_at) / 1000.0, final_weight, max_weight, peak_flow
FROM session_summaries;

INSERT INTO shots (client_id, session_id, started_at, ended_at, reading_count, first_weight, final_weight, max_weight)
SELECT r.client_id, r.session_id, MIN(r.tstamp), MAX(r.tstamp), COUNT(*),
       (SELECT f.value FROM readings f WHERE f.client_id = r.client_id AND f.session_id = r.session_id ORDER BY f.tstamp LIMIT 1),
       (SELECT l.value FROM readings l WHERE l.client_id = r.client_id AND l.session_id = r.session_id ORDER BY l.tstamp DESC LIMIT 1),
       MAX(r.value)
FROM readings r
WHERE NOT EXISTS (SELECT 1 FROM shots s WHERE s.client_id = r.client_id AND s.session_id = r.session_id)
GROUP BY r.client_id, r.session_id;
