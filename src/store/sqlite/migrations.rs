//! Numbered schema migrations, applied at start.
//!
//! `PRAGMA user_version` records how many have run; each runs in its own
//! transaction together with the bump, so a crash mid-migration leaves the
//! database at the previous version rather than half-migrated.
//!
//! Several processes may open a new or old database at the same moment
//! (two servers started together, a server and `confcal import`). Each
//! migration therefore takes the write lock first (`BEGIN IMMEDIATE`) and
//! reads `user_version` only then, inside the transaction: whoever comes
//! second waits, then finds the migration done and skips it. Reading the
//! version before taking the lock is what let two starters both run 0001
//! ("table conferences already exists").

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::{files, StoreError};

/// In order; the number in each file name is its position plus one.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_agendas.sql"),
    include_str!("migrations/0003_session_kinds_links_venue_map_color.sql"),
    include_str!("migrations/0004_agenda_version.sql"),
    include_str!("migrations/0005_feed_links.sql"),
    include_str!("migrations/0006_agenda_previous_token.sql"),
    include_str!("migrations/0007_search_per_conference.sql"),
    include_str!("migrations/0008_sessions_of_no_length_language.sql"),
    include_str!("migrations/0009_sources.sql"),
    include_str!("migrations/0010_changes.sql"),
];

/// Applies the migrations `conn`'s database lacks, and says how many it
/// applied. `path` is the database file, for the check that it has not
/// lost its data.
pub fn run(conn: &mut Connection, path: &Path) -> Result<usize, StoreError> {
    // Off while migrating, as SQLite's procedure for remaking a table has
    // it: dropping a table that rows of another refer to would otherwise
    // delete those rows (ON DELETE CASCADE). Each migration checks the
    // references before it commits instead. (The pragma is a no-op inside
    // a transaction, so it is set here, outside every one.)
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = run_each(conn, path);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    result
}

fn run_each(conn: &mut Connection, path: &Path) -> Result<usize, StoreError> {
    let mut ran = 0;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let applied: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if applied == 0 {
            // Checked under the lock too: no other starter can be between
            // "schema committed" and "marker written" unseen.
            files::refuse_if_lost(path, Some(0))?;
        }
        let applied = usize::try_from(applied).unwrap_or(usize::MAX);
        if applied > MIGRATIONS.len() {
            return Err(StoreError::Corrupt(format!(
                "database schema version {applied} is newer than this confcal ({})",
                MIGRATIONS.len()
            )));
        }
        let Some(sql) = MIGRATIONS.get(applied) else {
            return Ok(ran);
        };
        tx.execute_batch(sql)?;
        let broken: i64 =
            tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
        if broken > 0 {
            return Err(StoreError::Corrupt(format!(
                "migration {} would leave {broken} rows referring to rows that do not exist",
                applied + 1
            )));
        }
        tx.pragma_update(None, "user_version", applied as i64 + 1)?;
        tx.commit()?;
        ran += 1;
        tracing::info!(version = applied + 1, "applied database migration");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database at version 7 with a session, an agenda that stars it and
    /// its search index: after 0008 the same rows are there under the same
    /// ids, the star still points at the session, search still finds it
    /// (and finds it renamed after an update: the triggers are back), and
    /// a session of no length can be written.
    #[test]
    fn remaking_the_sessions_table_keeps_rows_stars_and_search() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v7.db");
        let mut conn = Connection::open(&path).unwrap();
        super::super::search::register(&conn).unwrap();
        // Up to 0007: the database 0008 remakes the sessions table of.
        let before = 7;
        for sql in &MIGRATIONS[..before] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(&format!(
            "INSERT INTO conferences (slug, name, timezone, created, last_modified)
                 VALUES ('c', 'C', 'UTC', 1, 1);
             INSERT INTO sessions (id, conference_id, slug, title, speakers, start_utc, end_utc,
                 tracks, abstract, status, created, last_modified, kind, links)
                 VALUES (41, 1, 'talk', 'Searchable title', '[]', 3600, 7200, '[]', 'abc',
                 'confirmed', 1, 1, 'talk', '[]');
             INSERT INTO agendas (id, token_hash, created, last_modified) VALUES (1, x'00', 1, 1);
             INSERT INTO agenda_stars (agenda_id, session_id, starred) VALUES (1, 41, 1);
             PRAGMA user_version = {before};"
        ))
        .unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        assert_eq!(run(&mut conn, &path).unwrap(), MIGRATIONS.len() - before);
        let fk: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert!(fk, "foreign keys are on again");
        let (id, title): (i64, String) = conn
            .query_row(
                "SELECT id, title FROM sessions WHERE slug = 'talk'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((id, title.as_str()), (41, "Searchable title"));
        let star: i64 = conn
            .query_row("SELECT session_id FROM agenda_stars", [], |r| r.get(0))
            .unwrap();
        assert_eq!(star, 41);
        let found = |word: &str| -> Vec<i64> {
            let mut stmt = conn
                .prepare("SELECT rowid FROM session_search WHERE session_search MATCH ?1")
                .unwrap();
            let q = format!("\"1:{word}\"");
            stmt.query_map([q], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(found("searchable"), [41]);
        conn.execute("UPDATE sessions SET end_utc = start_utc WHERE id = 41", [])
            .unwrap();
        assert!(conn
            .execute(
                "UPDATE sessions SET end_utc = start_utc - 1 WHERE id = 41",
                []
            )
            .is_err());
        conn.execute("UPDATE sessions SET title = 'Renamed' WHERE id = 41", [])
            .unwrap();
        assert_eq!(found("renamed"), [41]);
        assert!(found("searchable").is_empty());
        conn.execute("UPDATE sessions SET language = 'de, en' WHERE id = 41", [])
            .unwrap();
    }
}
