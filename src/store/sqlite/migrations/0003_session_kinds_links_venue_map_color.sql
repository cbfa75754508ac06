-- Session kinds and links; the venue's address, map point and the
-- calendar colour of a conference. All optional: rows from before read as
-- "none", and render exactly as they did.

ALTER TABLE conferences ADD COLUMN address TEXT;
-- WGS 84 degrees; both or neither (checked before any write).
ALTER TABLE conferences ADD COLUMN geo_lat REAL;
ALTER TABLE conferences ADD COLUMN geo_lon REAL;
-- '#rrggbb', lowercase.
ALTER TABLE conferences ADD COLUMN color TEXT;

-- 'talk', 'keynote', 'break': [a-z0-9-]{1,40}.
ALTER TABLE sessions ADD COLUMN kind TEXT;
-- JSON array of {"title", "url"}.
ALTER TABLE sessions ADD COLUMN links TEXT NOT NULL DEFAULT '[]';
