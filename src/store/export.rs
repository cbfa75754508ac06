//! A stored conference as a schedule document (`confcal export`).

use super::{Status, Store, StoreError};
use crate::domain::{ConferenceSlug, Schedule, SessionFilter};

impl Store {
    /// A conference as a schedule: its confirmed sessions in start order
    /// (cancelled sessions have no place in a schedule document).
    pub fn export(&self, slug: &ConferenceSlug) -> Result<Schedule, StoreError> {
        let mut sessions = Vec::new();
        let conf = self.each_session(slug, &SessionFilter::default(), |_, s| {
            if s.status == Status::Confirmed {
                sessions.push(s.data);
            }
        })?;
        Ok(Schedule {
            conference: conf.conference,
            sessions,
        })
    }
}
