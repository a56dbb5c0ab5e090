-- Readings, when WAGES_TIMESERIES=sql. Portable SQL, as for devices.
-- The key makes storage idempotent: a redelivered reading is stored once.
CREATE TABLE readings (
    client_id  TEXT NOT NULL,
    session_id TEXT NOT NULL,
    tstamp     BIGINT NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (client_id, session_id, tstamp)
);
