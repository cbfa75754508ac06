//! Health and statistics for operators: the ping behind `/healthz` and
//! the counts and size behind `/metrics`.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{SqliteStore, Status, StoreError};
use crate::store::DbStats;

impl SqliteStore {
    /// One round trip through the pool: `SELECT 1`.
    pub fn ping(&self) -> Result<(), StoreError> {
        // Reads the schema page, so a database file that became unreadable
        // fails here, not only a pool that cannot hand out a connection.
        let tables: i64 =
            self.conn()?
                .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        debug_assert!(tables > 0);
        Ok(())
    }

    /// Counts and size, read in one snapshot.
    pub fn stats(&self) -> Result<DbStats, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let mut stats = DbStats {
            conferences: tx.query_row("SELECT count(*) FROM conferences", [], |r| r.get(0))?,
            agendas: tx.query_row("SELECT count(*) FROM agendas", [], |r| r.get(0))?,
            ..DbStats::default()
        };
        {
            let mut stmt =
                tx.prepare_cached("SELECT status, count(*) FROM sessions GROUP BY status")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let status: String = row.get(0)?;
                let n: i64 = row.get(1)?;
                match status.as_str() {
                    s if s == Status::Confirmed.as_str() => stats.sessions_confirmed = n,
                    s if s == Status::Cancelled.as_str() => stats.sessions_cancelled = n,
                    _ => {}
                }
            }
        }
        let pages: i64 = tx.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let page_size: i64 = tx.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let wal = main_file(&tx)?
            .and_then(|p| fs::metadata(wal_path(&p)).ok())
            .map_or(0, |m| m.len());
        drop(tx);
        stats.size_bytes = (pages.max(0) as u64) * (page_size.max(0) as u64) + wal;
        Ok(stats)
    }
}

/// The path of the main database file of `conn` (`None` for in-memory).
fn main_file(conn: &Connection) -> Result<Option<PathBuf>, rusqlite::Error> {
    let file: Option<String> = conn.query_row(
        "SELECT file FROM pragma_database_list WHERE name = 'main'",
        [],
        |r| r.get(0),
    )?;
    Ok(file.filter(|f| !f.is_empty()).map(PathBuf::from))
}

pub(super) fn wal_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}
