-- People: each person's own login with a role, their browser sessions listed, shots
-- shared by a link, and an audit list of changes to the fleet and to accounts.
-- Portable SQL, as for devices. The account made at first start stays the admin.
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
-- 1 until the person has chosen their own password (set by an admin: a new account, a reset).
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;

ALTER TABLE login_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
CREATE INDEX login_sessions_by_user ON login_sessions (username);
CREATE INDEX api_tokens_by_owner ON api_tokens (created_by);

-- A shot anyone with its code may see; withdrawing a share deletes its row, so a
-- withdrawn code and one never made are the same absence.
CREATE TABLE shot_shares (
    code       TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX shot_shares_one_per_shot ON shot_shares (client_id, session_id);
CREATE INDEX shot_shares_by_person ON shot_shares (created_by, created_at);

CREATE TABLE audit (
    id     TEXT PRIMARY KEY,
    at     BIGINT NOT NULL,
    who    TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_newest ON audit (at, id);
