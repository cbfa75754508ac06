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
];

/// Applies the migrations `conn`'s database lacks, and says how many it
/// applied. `path` is the database file, for the check that it has not
/// lost its data.
pub fn run(conn: &mut Connection, path: &Path) -> Result<usize, StoreError> {
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
        tx.pragma_update(None, "user_version", applied as i64 + 1)?;
        tx.commit()?;
        ran += 1;
        tracing::info!(version = applied + 1, "applied database migration");
    }
}
