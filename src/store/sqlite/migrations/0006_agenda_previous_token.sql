-- The hash of the token an agenda had before its last rotation, so that a
-- rotation whose answer was lost can be sent again: a retry naming the old
-- token and the same proposed new one finds the agenda by both hashes and
-- answers as the first call did (see Store::rotate_agenda). Only hashes are
-- kept, never a token; the old token itself matches nothing any more.

ALTER TABLE agendas ADD COLUMN previous_token_hash BLOB;
