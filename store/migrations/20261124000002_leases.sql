-- Roles only one node may hold at a time, such as running the embedded MQTT broker
-- against this database. The holder renews its lease while it runs and drops it when
-- it stops; a lease not renewed runs out.
CREATE TABLE leases (
    role       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    address    TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
