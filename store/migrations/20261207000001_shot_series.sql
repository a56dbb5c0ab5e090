-- What a shot measures beside the weight (pressure, flow, temperatures, water dispensed),
-- one row per point: the series' name, ms since the epoch on the shot's clock, and the
-- value in the series' unit (bar, ml/s, °C, ml).
CREATE TABLE shot_series (
    client_id  TEXT NOT NULL,
    session_id TEXT NOT NULL,
    series     TEXT NOT NULL,
    tstamp     BIGINT NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (client_id, session_id, series, tstamp)
);
