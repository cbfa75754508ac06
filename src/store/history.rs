//! The change history's rows as both backends store them (see
//! `sqlite/changes.rs`, `postgres/changes.rs` and migration 0010), read
//! back into [`Change`]s in one place: the columns are the same on both,
//! and so is what they mean.

use crate::domain::changes::{Change, ChangeKind, SessionState};
use crate::domain::SessionId;
use crate::store::types::from_ts;
use crate::store::{Status, StoreError};

/// A session's title, start, end, room and status before a change, as
/// stored: all `None` for a new session.
pub type StoredBefore = (
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// One stored row: the change's number, the session's slug, when, the
/// comma-separated kinds, and the session's title, start, end, room and
/// status before and after.
pub struct StoredChange {
    pub id: i64,
    pub session: String,
    pub at: i64,
    pub kinds: String,
    pub old: StoredBefore,
    pub new: (String, i64, i64, Option<String>, String),
}

fn status(s: &str) -> Result<Status, StoreError> {
    match s {
        "confirmed" => Ok(Status::Confirmed),
        "cancelled" => Ok(Status::Cancelled),
        other => Err(StoreError::Corrupt(format!("unknown status {other:?}"))),
    }
}

impl StoredChange {
    pub fn into_change(self) -> Result<Change, StoreError> {
        let kinds = self
            .kinds
            .split(',')
            .map(|n| {
                ChangeKind::parse(n)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown change kind {n:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let before = match self.old {
            (Some(title), Some(start), Some(end), room, Some(st)) => Some(SessionState {
                title,
                start: from_ts(start)?,
                end: from_ts(end)?,
                room,
                status: status(&st)?,
            }),
            _ => None,
        };
        let (title, start, end, room, st) = self.new;
        Ok(Change {
            id: self.id,
            session: SessionId::parse(&self.session).map_err(StoreError::Corrupt)?,
            kinds,
            before,
            after: SessionState {
                title,
                start: from_ts(start)?,
                end: from_ts(end)?,
                room,
                status: status(&st)?,
            },
            at: from_ts(self.at)?,
        })
    }
}
