ALTER TABLE agendas ADD COLUMN previous_token_hash BYTEA;
