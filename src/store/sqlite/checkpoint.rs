//! WAL checkpoints: the one at shutdown, bounded in time, and the passive
//! one the file checks run.

use std::time::Duration;

use super::{SqliteStore, StoreError};
use crate::store::Checkpoint;

impl SqliteStore {
    /// Copies every page of the WAL back into the database file and
    /// truncates the WAL to zero bytes, or fails saying it could not.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let c = self.checkpoint_within(Duration::from_secs(10))?;
        if c.complete {
            Ok(())
        } else {
            Err(StoreError::Busy(format!(
                "the WAL checkpoint could not finish: {} of {} frames copied",
                c.copied, c.wal_frames
            )))
        }
    }

    /// `PRAGMA wal_checkpoint(TRUNCATE)` waiting at most `wait` for other
    /// connections (another process's read transaction, a long query):
    /// past it SQLite goes on as a passive checkpoint, copying every frame
    /// no reader still needs, and returns. So a stop that checkpoints never
    /// waits longer than `wait` whatever other processes do; what is left
    /// in the WAL is not lost, only copied at the next open.
    ///
    /// Runs on the probe connection: no pooled connection is needed, so a
    /// pool held by long queries or a long write cannot delay it.
    pub fn checkpoint_within(&self, wait: Duration) -> Result<Checkpoint, StoreError> {
        self.checkpoint_mode("TRUNCATE", wait)
    }

    /// `PRAGMA wal_checkpoint(PASSIVE)`: copies what it can without waiting
    /// for anyone (see [`SqliteStore::health`]).
    pub(super) fn checkpoint_passive(&self) -> Result<Checkpoint, StoreError> {
        self.checkpoint_mode("PASSIVE", Duration::ZERO)
    }

    fn checkpoint_mode(&self, mode: &str, wait: Duration) -> Result<Checkpoint, StoreError> {
        let conn = self.probe.lock().unwrap_or_else(|e| e.into_inner());
        conn.busy_timeout(wait)?;
        let row = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        // The probe's own reads wait as every reader does.
        conn.busy_timeout(super::READ_BUSY_TIMEOUT)?;
        let (busy, log, done) = match row {
            // Another connection (another server on the same file, say) is
            // checkpointing right now: SQLite answers SQLITE_BUSY at once
            // rather than in the result row. Not done yet, like busy = 1.
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                (1, -1, -1)
            }
            row => row?,
        };
        Ok(Checkpoint {
            complete: busy == 0 && log == done,
            wal_frames: log,
            copied: done,
        })
    }
}
