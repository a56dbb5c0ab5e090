-- People who log in, their browser sessions, and API tokens. Portable SQL, as for devices.
-- Secrets are never stored: passwords as argon2 hashes, session cookies and tokens as
-- SHA-256 of their random secret.
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE login_sessions (
    secret_hash TEXT PRIMARY KEY,
    username    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
