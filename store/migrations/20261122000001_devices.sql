-- The device registry. Portable SQL: the same file runs on SQLite and PostgreSQL.
-- Times are milliseconds since the Unix epoch; `online` is 0 or 1.
CREATE TABLE devices (
    client_id        TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    online           BIGINT NOT NULL DEFAULT 0,
    last_seen_at     BIGINT,
    firmware_version TEXT
);

CREATE INDEX devices_name ON devices (name);
