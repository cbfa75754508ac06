-- An agenda's own change counter, the stamp its cached feed is checked
-- against: its last_modified is whole seconds and may no longer run ahead
-- of the clock to stay unique, so it cannot tell two changes in one second
-- apart.

ALTER TABLE agendas ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
