-- Full-text search within one conference costs what that conference holds,
-- not what the database holds: every word is indexed as
-- `{conference id}:{word}` (see src/store/search.rs), so a prefix term of one
-- conference reads only that conference's words and sessions. The words are
-- those the old index had (unicode61, remove_diacritics 2), made by the
-- confcal_search_words function that every connection of confcal's store
-- has; `ascii` with `:` as a word character splits them back unchanged.
-- Contentless (with delete support): the index keeps no copy of the text and
-- claims no content table it would disagree with.

DROP TRIGGER sessions_fts_insert;
DROP TRIGGER sessions_fts_delete;
DROP TRIGGER sessions_fts_update;
DROP TABLE sessions_fts;

CREATE VIRTUAL TABLE session_search USING fts5 (
    title, abstract, speakers,
    content = '', contentless_delete = 1,
    tokenize = "ascii tokenchars ':'"
);

CREATE TRIGGER session_search_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO session_search (rowid, title, abstract, speakers)
    VALUES (new.id,
            confcal_search_words(new.conference_id, new.title),
            confcal_search_words(new.conference_id, new.abstract),
            confcal_search_words(new.conference_id, new.speakers));
END;

-- Needs no function: any connection may delete sessions.
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

INSERT INTO session_search (rowid, title, abstract, speakers)
SELECT id,
       confcal_search_words(conference_id, title),
       confcal_search_words(conference_id, abstract),
       confcal_search_words(conference_id, speakers)
FROM sessions;
