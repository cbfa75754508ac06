-- Sessions of no length (end = start), and a session's language.
ALTER TABLE sessions DROP CONSTRAINT sessions_end_after_start;
ALTER TABLE sessions ADD CONSTRAINT sessions_end_not_before_start CHECK (end_utc >= start_utc);
ALTER TABLE sessions ADD COLUMN language TEXT;
