-- Personal agendas: a set of starred sessions behind a secret token.
-- Only the token's SHA-256 is stored.

CREATE TABLE agendas (
    id            INTEGER PRIMARY KEY,
    token_hash    BLOB NOT NULL UNIQUE,
    name          TEXT,
    created       INTEGER NOT NULL,
    last_modified INTEGER NOT NULL
) STRICT;

CREATE TABLE agenda_stars (
    agenda_id  INTEGER NOT NULL REFERENCES agendas (id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    starred    INTEGER NOT NULL,
    PRIMARY KEY (agenda_id, session_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX agenda_stars_by_session ON agenda_stars (session_id);
