-- Change history, the twin of SQLite's 0010 (see src/store/sqlite/changes.rs
-- and src/domain/changes.rs): one row per write that changed what an
-- attendee plans around in one session, written in the same transaction as
-- the change. An identity column never hands out a number twice, as
-- SQLite's AUTOINCREMENT does not: a change's number is part of its Atom
-- entry id.

CREATE TABLE changes (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conference_id BIGINT NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    session_id    BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at            BIGINT NOT NULL,
    kinds         TEXT NOT NULL CHECK (kinds <> ''),
    old_title     TEXT,
    old_start     BIGINT,
    old_end       BIGINT,
    old_room      TEXT,
    old_status    TEXT CHECK (old_status IN ('confirmed', 'cancelled')),
    new_title     TEXT NOT NULL,
    new_start     BIGINT NOT NULL,
    new_end       BIGINT NOT NULL,
    new_room      TEXT,
    new_status    TEXT NOT NULL CHECK (new_status IN ('confirmed', 'cancelled'))
);

CREATE INDEX changes_by_conference ON changes (conference_id, id);
CREATE INDEX changes_by_session ON changes (session_id, id);
