-- Conferences and their sessions. Instants are UTC seconds since the epoch;
-- the conference's IANA zone is kept beside them, and local times are only
-- ever computed from the two.

CREATE TABLE conferences (
    id            INTEGER PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    timezone      TEXT NOT NULL,
    venue         TEXT,
    url           TEXT,
    -- Bumped inside every write transaction that changes the conference or
    -- any of its sessions: the key that rendered-feed caches check.
    version       INTEGER NOT NULL DEFAULT 1,
    created       INTEGER NOT NULL,
    last_modified INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    conference_id INTEGER NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    slug          TEXT NOT NULL,
    title         TEXT NOT NULL,
    speakers      TEXT NOT NULL,  -- JSON array of names
    start_utc     INTEGER NOT NULL,
    end_utc       INTEGER NOT NULL,
    room          TEXT,
    tracks        TEXT NOT NULL,  -- JSON array of track names
    abstract      TEXT NOT NULL,
    notes         TEXT,
    url           TEXT,
    status        TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
    sequence      INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    UNIQUE (conference_id, slug),
    CHECK (end_utc > start_utc)
) STRICT;

CREATE INDEX sessions_by_start ON sessions (conference_id, start_utc, end_utc, slug);

-- Full-text search over title, abstract and speakers, kept in step with
-- `sessions` by triggers (an external-content FTS5 table stores no copy).
CREATE VIRTUAL TABLE sessions_fts USING fts5 (
    title, abstract, speakers,
    content = 'sessions', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER sessions_fts_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO sessions_fts (rowid, title, abstract, speakers)
    VALUES (new.id, new.title, new.abstract, new.speakers);
END;

CREATE TRIGGER sessions_fts_delete AFTER DELETE ON sessions BEGIN
    INSERT INTO sessions_fts (sessions_fts, rowid, title, abstract, speakers)
    VALUES ('delete', old.id, old.title, old.abstract, old.speakers);
END;

CREATE TRIGGER sessions_fts_update AFTER UPDATE OF title, abstract, speakers ON sessions BEGIN
    INSERT INTO sessions_fts (sessions_fts, rowid, title, abstract, speakers)
    VALUES ('delete', old.id, old.title, old.abstract, old.speakers);
    INSERT INTO sessions_fts (rowid, title, abstract, speakers)
    VALUES (new.id, new.title, new.abstract, new.speakers);
END;
