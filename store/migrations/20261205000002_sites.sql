-- Sites: the shops of a cafe company. A scale belongs to at most one; a person with
-- rows in person_sites sees only those sites' scales, one without sees every scale.
CREATE TABLE sites (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    time_zone  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
ALTER TABLE devices ADD COLUMN site_id TEXT;
CREATE INDEX devices_by_site ON devices (site_id, client_id);
CREATE TABLE person_sites (
    username TEXT NOT NULL,
    site_id  TEXT NOT NULL,
    PRIMARY KEY (username, site_id)
);
