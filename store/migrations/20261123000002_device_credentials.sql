-- Each device's MQTT password for the embedded broker, stored as SHA-256 of its random
-- secret (shown once at registration or rotation). Gone with its device.
CREATE TABLE device_credentials (
    client_id   TEXT PRIMARY KEY REFERENCES devices (client_id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
