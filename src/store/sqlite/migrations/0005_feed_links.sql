-- Short addresses of long feed URLs (see src/store/feed_links.rs): a code
-- digested from the conference and the canonical query, mapped back here.
-- Rows are never changed; they go with their conference.

CREATE TABLE feed_links (
    code          TEXT PRIMARY KEY,
    conference_id INTEGER NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    query         TEXT NOT NULL,
    created       INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX feed_links_by_conference ON feed_links (conference_id);
