-- Sessions may be of no length (end = start): published schedules have
-- such events (a marker in the programme), and an import keeps them as
-- they are rather than padding or refusing them. SQLite cannot change a
-- CHECK constraint in place, so the table is made anew with the same
-- columns, rows and ids (the procedure of SQLite's "ALTER TABLE" page:
-- the runner turns foreign keys off around migrations, so agenda stars
-- keep pointing at the same ids, and checks them before committing).
-- The search index keeps its rowids, which are those same ids; dropping
-- the old table drops its triggers first, so no row leaves the index.
--
-- The new table also has a session's language(s), `de` or `de, en`, as
-- published schedules give them (none for the rows from before).

CREATE TABLE sessions_new (
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
    -- 'talk', 'keynote', 'break': [a-z0-9-]{1,40}.
    kind          TEXT,
    -- JSON array of {"title", "url"}.
    links         TEXT NOT NULL DEFAULT '[]',
    -- BCP 47 tags, lowercase, joined by ", ".
    language      TEXT,
    UNIQUE (conference_id, slug),
    CHECK (end_utc >= start_utc)
) STRICT;

INSERT INTO sessions_new (id, conference_id, slug, title, speakers, start_utc, end_utc, room,
                          tracks, abstract, notes, url, status, sequence, created, last_modified,
                          kind, links)
SELECT id, conference_id, slug, title, speakers, start_utc, end_utc, room, tracks, abstract,
       notes, url, status, sequence, created, last_modified, kind, links
FROM sessions;

-- Drops the old table's index and triggers with it (the triggers first:
-- none fires).
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;

CREATE INDEX sessions_by_start ON sessions (conference_id, start_utc, end_utc, slug);

-- The search index's triggers, as 0007 made them (the index keeps its
-- rows: they are keyed by the same ids).
CREATE TRIGGER session_search_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO session_search (rowid, title, abstract, speakers)
    VALUES (new.id,
            confcal_search_words(new.conference_id, new.title),
            confcal_search_words(new.conference_id, new.abstract),
            confcal_search_words(new.conference_id, new.speakers));
END;

CREATE TRIGGER session_search_delete AFTER DELETE ON sessions BEGIN
    DELETE FROM session_search WHERE rowid = old.id;
END;

CREATE TRIGGER session_search_update
AFTER UPDATE OF conference_id, title, abstract, speakers ON sessions BEGIN
    DELETE FROM session_search WHERE rowid = old.id;
    INSERT INTO session_search (rowid, title, abstract, speakers)
    VALUES (new.id,
            confcal_search_words(new.conference_id, new.title),
            confcal_search_words(new.conference_id, new.abstract),
            confcal_search_words(new.conference_id, new.speakers));
END;
