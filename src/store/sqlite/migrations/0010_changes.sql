-- Change history (see src/store/changes.rs and src/domain/changes.rs):
-- one row per write that changed what an attendee plans around in one
-- session (its title, start, end, room or status), written in the same
-- transaction as the change. `kinds` is the comma-separated list of
-- domain::changes::ChangeKind names; the old_* columns are NULL for a new
-- session. Only the newest rows of each conference are kept
-- (domain::changes::KEPT_PER_CONFERENCE), pruned by the write that adds
-- one. Times are Unix seconds, as everywhere in the database.

CREATE TABLE changes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    conference_id INTEGER NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    session_id    INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    kinds         TEXT NOT NULL CHECK (kinds <> ''),
    old_title     TEXT,
    old_start     INTEGER,
    old_end       INTEGER,
    old_room      TEXT,
    old_status    TEXT CHECK (old_status IN ('confirmed', 'cancelled')),
    new_title     TEXT NOT NULL,
    new_start     INTEGER NOT NULL,
    new_end       INTEGER NOT NULL,
    new_room      TEXT,
    new_status    TEXT NOT NULL CHECK (new_status IN ('confirmed', 'cancelled'))
) STRICT;

CREATE INDEX changes_by_conference ON changes (conference_id, id);
CREATE INDEX changes_by_session ON changes (session_id, id);
