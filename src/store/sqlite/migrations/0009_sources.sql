-- Followed schedule sources (see src/store/sources.rs): the URL a
-- conference's schedule is fetched from, how it is read and how often,
-- and the state of following it. Keyed by the conference's slug, not its
-- id: a source may be set before its first fetch creates the conference.
-- Times are Unix seconds, as everywhere in the database.

CREATE TABLE sources (
    conference     TEXT PRIMARY KEY,
    url            TEXT NOT NULL,
    format         TEXT NOT NULL,
    timezone       TEXT,
    every_seconds  INTEGER NOT NULL CHECK (every_seconds > 0),
    -- Moves whenever url, format or timezone change: a fetch begun under
    -- an older generation is discarded rather than applied.
    generation     INTEGER NOT NULL DEFAULT 1,
    created        INTEGER NOT NULL,
    -- When the next fetch is due; while one runs, the end of its lease
    -- (so another server on the same file does not fetch it too).
    next_due       INTEGER NOT NULL,
    -- The upstream's validators of the schedule last applied, sent back
    -- as If-None-Match / If-Modified-Since.
    etag           TEXT,
    last_modified  TEXT,
    last_attempt   INTEGER,
    -- 'ok', 'not_modified', 'error' or 'held'; NULL before the first.
    last_outcome   TEXT CHECK (last_outcome IN ('ok', 'not_modified', 'error', 'held')),
    -- Last fetch after which the served schedule was the upstream's (a
    -- 200 applied, or a 304).
    last_success   INTEGER,
    -- Last sync that changed the stored schedule.
    last_change    INTEGER,
    last_error     TEXT,
    http_status    INTEGER,
    failures       INTEGER NOT NULL DEFAULT 0,
    -- What the last applied sync did.
    created_count   INTEGER,
    updated_count   INTEGER,
    cancelled_count INTEGER,
    unchanged_count INTEGER,
    -- A held sync: how many confirmed sessions it would cancel, of how
    -- many, and how many sessions the upstream listed.
    held_cancel    INTEGER,
    held_confirmed INTEGER,
    held_sessions  INTEGER,
    -- The format last read (what 'auto' found) and its warnings (JSON).
    format_read    TEXT,
    warnings       TEXT NOT NULL DEFAULT '[]'
) STRICT, WITHOUT ROWID;

CREATE INDEX sources_by_due ON sources (next_due);
