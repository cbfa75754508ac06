-- SQLite's 0007 split its search index by conference. The PostgreSQL
-- index (0001's session_words) was per conference from the start, so
-- this migration has nothing to change: it keeps the numbers in step.
SELECT 1;
