//! Numbered schema migrations, applied at start.
//!
//! `PRAGMA user_version` records how many have run; each runs in its own
//! transaction together with the bump, so a crash mid-migration leaves the
//! database at the previous version rather than half-migrated.

use rusqlite::Connection;

use super::StoreError;

/// In order; the number in each file name is its position plus one.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_agendas.sql"),
    include_str!("migrations/0003_session_kinds_links_venue_map_color.sql"),
    include_str!("migrations/0004_agenda_version.sql"),
    include_str!("migrations/0005_feed_links.sql"),
];

pub fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "database schema version {applied} is newer than this confcal ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    Ok(())
}
