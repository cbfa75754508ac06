CREATE TABLE feed_links (
    code          TEXT COLLATE "C" PRIMARY KEY,
    conference_id BIGINT NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    query         TEXT NOT NULL,
    created       BIGINT NOT NULL
);

CREATE INDEX feed_links_by_conference ON feed_links (conference_id);
