//! The domain: what a conference and a session are, and the rules for the
//! data people send us. Nothing here knows about SQL or HTTP.

pub mod agenda;
pub mod changes;
pub mod feed_options;
pub mod filter;
pub mod ids;
pub mod localtime;
pub mod records;
pub mod schedule;
pub mod timetable;
pub mod urls;

pub use feed_options::FeedOptions;
pub use filter::SessionFilter;
pub use ids::{ConferenceSlug, SessionId};
pub use records::{AgendaRecord, AgendaView, ConferenceRecord, SessionRecord, Status};
pub use schedule::{Conference, Geo, Link, Schedule, ScheduleDocument, SessionData};
pub use urls::Site;

/// A rule broken by input, with the path of the offending field
/// (`sessions[3].start`) so the person who wrote it can find it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Prefixes the field with its container (`start` → `sessions[3].start`)
    /// and, where known, names the session in the message.
    pub fn within(self, prefix: &str, session: Option<&str>) -> Self {
        let field = if self.field.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.field)
        };
        let message = match session {
            Some(id) if !id.is_empty() => format!("session {id:?}: {}", self.message),
            _ => self.message,
        };
        ValidationError { field, message }
    }
}
