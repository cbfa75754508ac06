//! The records the store returns: what is stored about conferences,
//! sessions and agendas besides their content (versions, change times,
//! status). Domain types, so that what renders them (the calendars, the
//! pages, the API) depends on the domain alone, and any storage backend
//! returns the same.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Conference, SessionData};

/// Whether a session is on. Cancelled sessions are kept, never deleted, so
/// feeds can tell calendars about the cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Confirmed,
    Cancelled,
}

impl Status {
    /// Its name in the API and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Confirmed => "confirmed",
            Status::Cancelled => "cancelled",
        }
    }
}

/// A stored conference.
#[derive(Debug, Clone)]
pub struct ConferenceRecord {
    pub conference: Conference,
    /// Changes whenever the conference or any of its sessions changes.
    pub version: i64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub session_count: i64,
    pub first_start: Option<DateTime<Utc>>,
    pub last_end: Option<DateTime<Utc>>,
}

/// A stored session: its content plus what calendars need to order changes.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub data: SessionData,
    pub status: Status,
    /// iCalendar SEQUENCE: incremented on every change to the content.
    pub sequence: i64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AgendaRecord {
    pub name: Option<String>,
    pub created: DateTime<Utc>,
    /// Moves on every star, unstar and rotation.
    pub last_modified: DateTime<Utc>,
}

/// An agenda with its starred sessions (in start order) and their
/// conferences.
#[derive(Debug, Clone)]
pub struct AgendaView {
    pub agenda: AgendaRecord,
    pub conferences: HashMap<String, ConferenceRecord>,
    pub sessions: Vec<(String, SessionRecord)>,
}

impl AgendaView {
    /// The feed's Last-Modified: the latest of the agenda's own changes
    /// and its sessions' changes.
    pub fn last_modified(&self) -> DateTime<Utc> {
        self.sessions
            .iter()
            .map(|(_, s)| s.last_modified)
            .chain([self.agenda.last_modified])
            .max()
            .unwrap_or(self.agenda.last_modified)
    }
}
