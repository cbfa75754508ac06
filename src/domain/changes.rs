//! What changed: the rules that tell, from a session's record before and
//! after a write, what an attendee would call the change (moved, new,
//! cancelled, renamed, room changed), and the record of one change that
//! the store keeps and the changes pages and Atom feeds show.
//!
//! Pure, so that every storage backend records the same history from the
//! same writes: the store calls [`kinds`] inside the write's transaction
//! and inserts a row only when it answers something.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{ConferenceRecord, SessionData, SessionId, SessionRecord, Status};

/// The fields of a session an attendee plans around: a change to one of
/// them is worth telling. (Abstracts, speakers' spelling, links and notes
/// change often and move nobody's day, so they are not history.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionState {
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub room: Option<String>,
    pub status: Status,
}

impl SessionState {
    /// A stored session as it is.
    pub fn of_record(r: &SessionRecord) -> Self {
        SessionState::of(&r.data, r.status)
    }

    /// A session's content with a status.
    pub fn of(d: &SessionData, status: Status) -> Self {
        SessionState {
            title: d.title.clone(),
            start: d.start,
            end: d.end,
            room: d.room.clone(),
            status,
        }
    }

    /// The same session, cancelled.
    pub fn cancelled(mut self) -> Self {
        self.status = Status::Cancelled;
        self
    }
}

/// One kind of change. A write can be several at once (moved to another
/// room at another time), in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A session added to a conference that already existed.
    New,
    Cancelled,
    /// A cancelled session that is on again.
    Reinstated,
    /// Its start or end moved.
    Moved,
    RoomChanged,
    Renamed,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 6] = [
        ChangeKind::New,
        ChangeKind::Cancelled,
        ChangeKind::Reinstated,
        ChangeKind::Moved,
        ChangeKind::RoomChanged,
        ChangeKind::Renamed,
    ];

    /// Its name in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::New => "new",
            ChangeKind::Cancelled => "cancelled",
            ChangeKind::Reinstated => "reinstated",
            ChangeKind::Moved => "moved",
            ChangeKind::RoomChanged => "room_changed",
            ChangeKind::Renamed => "renamed",
        }
    }

    /// What a person reads: "Moved", "Room changed".
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::New => "New",
            ChangeKind::Cancelled => "Cancelled",
            ChangeKind::Reinstated => "On again",
            ChangeKind::Moved => "Moved",
            ChangeKind::RoomChanged => "Room changed",
            ChangeKind::Renamed => "Renamed",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a write did to one session, as an attendee sees it; empty when it
/// changed nothing they plan around (then nothing is recorded).
///
/// `before` is `None` for a session the write created. A session created
/// together with its conference (a first import, the seed) is not "new"
/// to anyone: nobody had seen the conference before, and a history of a
/// thousand "new" entries would bury the changes that matter. The caller
/// says so with `conference_is_new`.
pub fn kinds(
    before: Option<&SessionState>,
    after: &SessionState,
    conference_is_new: bool,
) -> Vec<ChangeKind> {
    let Some(before) = before else {
        return if conference_is_new {
            Vec::new()
        } else {
            vec![ChangeKind::New]
        };
    };
    let mut out = Vec::new();
    match (before.status, after.status) {
        (Status::Confirmed, Status::Cancelled) => out.push(ChangeKind::Cancelled),
        (Status::Cancelled, Status::Confirmed) => out.push(ChangeKind::Reinstated),
        _ => {}
    }
    if before.start != after.start || before.end != after.end {
        out.push(ChangeKind::Moved);
    }
    if before.room != after.room {
        out.push(ChangeKind::RoomChanged);
    }
    if before.title != after.title {
        out.push(ChangeKind::Renamed);
    }
    out
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The store's number for it: increasing, never reused, the stable
    /// part of its Atom entry id.
    pub id: i64,
    pub session: SessionId,
    pub kinds: Vec<ChangeKind>,
    /// `None` for a new session.
    pub before: Option<SessionState>,
    pub after: SessionState,
    pub at: DateTime<Utc>,
}

/// Changes across conferences (an agenda's), newest first, each with its
/// conference's slug, and the conferences they are of.
#[derive(Debug, Clone, Default)]
pub struct ChangeLog {
    pub conferences: HashMap<String, ConferenceRecord>,
    pub changes: Vec<(String, Change)>,
}

/// How many changes the store keeps per conference: the newest. Bounded
/// by number, not age, because what bounds the table must hold however
/// often a followed source flaps (an age bound would keep every change of
/// a source that changes every minute); a thousand is more than a
/// conference's whole reshuffle, and far more than the pages show.
pub const KEPT_PER_CONFERENCE: usize = 1000;

/// How many the changes pages, the Atom feeds and the API show: the newest.
pub const SHOWN: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn state() -> SessionState {
        SessionState {
            title: "Dismantling Jinja".into(),
            start: Utc.with_ymd_and_hms(2012, 3, 9, 22, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2012, 3, 9, 22, 40, 0).unwrap(),
            room: Some("E2".into()),
            status: Status::Confirmed,
        }
    }

    #[test]
    fn nothing_an_attendee_plans_around_is_no_change() {
        assert!(kinds(Some(&state()), &state(), false).is_empty());
        let c = state().cancelled();
        assert!(kinds(Some(&c), &c, false).is_empty());
    }

    #[test]
    fn a_new_session_is_new_unless_its_conference_is() {
        assert_eq!(kinds(None, &state(), false), vec![ChangeKind::New]);
        assert!(kinds(None, &state(), true).is_empty());
    }

    #[test]
    fn each_field_has_its_kind() {
        let b = state();
        let mut moved = b.clone();
        moved.start += chrono::Duration::hours(1);
        moved.end += chrono::Duration::hours(1);
        assert_eq!(kinds(Some(&b), &moved, false), vec![ChangeKind::Moved]);
        let mut longer = b.clone();
        longer.end += chrono::Duration::minutes(10);
        assert_eq!(kinds(Some(&b), &longer, false), vec![ChangeKind::Moved]);
        let mut room = b.clone();
        room.room = Some("E3".into());
        assert_eq!(kinds(Some(&b), &room, false), vec![ChangeKind::RoomChanged]);
        let mut no_room = b.clone();
        no_room.room = None;
        assert_eq!(
            kinds(Some(&b), &no_room, false),
            vec![ChangeKind::RoomChanged]
        );
        let mut renamed = b.clone();
        renamed.title = "Jinja, dismantled".into();
        assert_eq!(kinds(Some(&b), &renamed, false), vec![ChangeKind::Renamed]);
        assert_eq!(
            kinds(Some(&b), &b.clone().cancelled(), false),
            vec![ChangeKind::Cancelled]
        );
        assert_eq!(
            kinds(Some(&b.clone().cancelled()), &b, false),
            vec![ChangeKind::Reinstated]
        );
    }

    #[test]
    fn several_at_once_in_a_fixed_order() {
        let b = state().cancelled();
        let mut a = state();
        a.title = "New title".into();
        a.room = Some("E1".into());
        a.start -= chrono::Duration::days(1);
        a.end -= chrono::Duration::days(1);
        assert_eq!(
            kinds(Some(&b), &a, true),
            vec![
                ChangeKind::Reinstated,
                ChangeKind::Moved,
                ChangeKind::RoomChanged,
                ChangeKind::Renamed
            ]
        );
    }

    #[test]
    fn kind_names_round_trip() {
        for k in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ChangeKind::parse("deleted"), None);
    }
}
