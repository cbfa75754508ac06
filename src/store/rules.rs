//! The store's rules that are not SQL, written once for every backend.
//!
//! A backend reads what a write needs (the stored conference, its
//! sessions, an agenda's star count, a source's state) inside its own
//! locked transaction, asks these functions what to do, and writes what
//! they answer. So SQLite and PostgreSQL cannot drift apart on what a
//! sync creates, updates or cancels, when a `sequence` moves, or when a
//! star is refused:
//!
//! - a session's `sequence` and `last_modified` move only when its content
//!   (or the conference's zone or place, which every event renders) really
//!   changed, so re-importing the same schedule changes no feed byte;
//! - a session the schedule no longer lists is cancelled, never deleted;
//! - the conference's `version` moves with every change to it or to any
//!   of its sessions (the caches' stamp);
//! - `last_modified` moves to the time of the change and never back (the
//!   backends write `max(now, last_modified)` in SQL);
//! - every write that changes what an attendee plans around (a session's
//!   title, times, room or status) is told in the change history, in the
//!   same transaction ([`noticed`]: which writes, and what they changed;
//!   [`crate::domain::changes::kinds`]: what counts).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::types::{Held, Outcome, SourceConfig, SyncReport};
use super::{SessionRecord, Status, StoreError};
use crate::domain::changes::{kinds, ChangeKind, SessionState};
use crate::domain::{Conference, ConferenceSlug, SessionData, SessionId};

/// Most stars one agenda may hold: far beyond any person's week, small
/// enough that an agenda feed stays cheap.
pub const MAX_STARS: i64 = 2_000;

/// Refuses a star that would take an agenda holding `count` stars past
/// [`MAX_STARS`].
pub fn check_star_limit(count: i64) -> Result<(), StoreError> {
    if count >= MAX_STARS {
        return Err(StoreError::Limit(format!(
            "an agenda holds at most {MAX_STARS} sessions"
        )));
    }
    Ok(())
}

/// What writing the conference row of a sync does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConferenceChange {
    /// The stored row differs from the schedule's: update it and move the
    /// conference's version (a new name alone changes every feed header).
    pub changed: bool,
    /// Every session's rendered event changes with it (the zone, or the
    /// venue, address or map point, which appear in each event's LOCATION,
    /// GEO and structured location): each one is bumped. The colour is the
    /// calendar's alone: it changes the header, no event.
    pub touch_all: bool,
}

/// Compares the stored conference `old` with the schedule's `new`.
pub fn conference_change(old: &Conference, new: &Conference) -> ConferenceChange {
    ConferenceChange {
        changed: old != new,
        touch_all: old.tz != new.tz
            || old.venue != new.venue
            || old.address != new.address
            || old.geo != new.geo,
    }
}

/// One write a sync makes to a session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionWrite<'a> {
    /// A new session: `sequence` 0, created and last modified now.
    Insert(&'a SessionData),
    /// New content (or a cancelled session listed again): confirmed,
    /// `sequence + 1`.
    Update(&'a SessionData),
    /// The content stays; `sequence + 1`, and cancelled when `cancel`.
    Bump { id: SessionId, cancel: bool },
}

/// Whether the session `s` is written, and how, given what is stored
/// (`old`). `touch`: the conference's rendering changed (see
/// [`ConferenceChange::touch_all`]). `None`: unchanged, nothing written.
pub fn session_write<'a>(
    old: Option<&SessionRecord>,
    s: &'a SessionData,
    touch: bool,
) -> Option<SessionWrite<'a>> {
    match old {
        None => Some(SessionWrite::Insert(s)),
        Some(old) if old.data == *s && old.status == Status::Confirmed && !touch => None,
        Some(_) => Some(SessionWrite::Update(s)),
    }
}

/// The outcome a single-session write reports.
pub fn outcome(w: Option<&SessionWrite<'_>>) -> Outcome {
    match w {
        None => Outcome::Unchanged,
        Some(SessionWrite::Insert(_)) => Outcome::Created,
        Some(SessionWrite::Update(_)) => Outcome::Updated,
        Some(SessionWrite::Bump { cancel: true, .. }) => Outcome::Cancelled,
        Some(SessionWrite::Bump { cancel: false, .. }) => Outcome::Updated,
    }
}

/// Cancelling one stored session: a bump unless it is cancelled already.
pub fn cancel_write(rec: &SessionRecord) -> Option<SessionWrite<'static>> {
    (rec.status != Status::Cancelled).then(|| SessionWrite::Bump {
        id: rec.data.id.clone(),
        cancel: true,
    })
}

/// What a whole-schedule sync writes, and the report it gives.
#[derive(Debug, Default)]
pub struct SyncPlan<'a> {
    pub writes: Vec<SessionWrite<'a>>,
    /// What of it the change history tells (see [`noticed`]).
    pub noticed: Vec<Noticed>,
    pub report: SyncReport,
}

/// A change a write makes that the history tells: the session, what it
/// was (`None`: the write created it) and is now, and how it changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Noticed {
    pub session: SessionId,
    pub before: Option<SessionState>,
    pub after: SessionState,
    pub kinds: Vec<ChangeKind>,
}

/// What the write `w` to a session stored as `old` changes that an
/// attendee would notice, if anything (see
/// [`crate::domain::changes::kinds`]); `conference_is_new` when the same
/// write created the conference (its sessions are not "new" to anyone).
pub fn noticed(
    old: Option<&SessionRecord>,
    w: &SessionWrite<'_>,
    conference_is_new: bool,
) -> Option<Noticed> {
    let before = old.map(SessionState::of_record);
    let (session, after) = match w {
        SessionWrite::Insert(s) | SessionWrite::Update(s) => {
            (s.id.clone(), SessionState::of(s, Status::Confirmed))
        }
        SessionWrite::Bump { id, cancel } => {
            let was = before.clone()?;
            (id.clone(), if *cancel { was.cancelled() } else { was })
        }
    };
    let kinds = kinds(before.as_ref(), &after, conference_is_new);
    (!kinds.is_empty()).then_some(Noticed {
        session,
        before,
        after,
        kinds,
    })
}

/// The sync diff: makes the stored sessions (`existing`, by id) equal to
/// `sessions`. New ones are inserted, changed ones updated, and the ones
/// no longer listed cancelled (a cancelled one stays as it is, unless
/// `touch_all`), in id order. `conference_created` and whether the
/// conference row changed are the caller's: it sets them on the report,
/// and moves the version when [`SyncReport::changed`] says so.
pub fn plan_sync<'a>(
    mut existing: HashMap<String, SessionRecord>,
    sessions: &'a [SessionData],
    touch_all: bool,
    conference_is_new: bool,
) -> SyncPlan<'a> {
    let mut plan = SyncPlan::default();
    for s in sessions {
        let id = s.id.to_string();
        let old = existing.remove(&id);
        let w = session_write(old.as_ref(), s, touch_all);
        match &w {
            Some(SessionWrite::Insert(_)) => plan.report.created.push(id),
            Some(_) => plan.report.updated.push(id),
            None => plan.report.unchanged.push(id),
        }
        if let Some(w) = &w {
            plan.noticed
                .extend(noticed(old.as_ref(), w, conference_is_new));
        }
        plan.writes.extend(w);
    }
    let mut gone: Vec<SessionRecord> = existing.into_values().collect();
    gone.sort_by(|a, b| a.data.id.cmp(&b.data.id));
    for rec in gone {
        let id = rec.data.id.to_string();
        if rec.status == Status::Confirmed {
            let w = SessionWrite::Bump {
                id: rec.data.id.clone(),
                cancel: true,
            };
            plan.noticed.extend(noticed(Some(&rec), &w, false));
            plan.writes.push(w);
            plan.report.cancelled.push(id);
        } else if touch_all {
            plan.writes.push(SessionWrite::Bump {
                id: rec.data.id,
                cancel: false,
            });
            plan.report.updated.push(id);
        } else {
            plan.report.unchanged.push(id);
        }
    }
    plan
}

/// How many of the `confirmed` stored sessions (their ids) a schedule
/// listing `listed` would cancel: what the held-sync rule is asked about.
pub fn would_cancel<'a>(
    confirmed: impl IntoIterator<Item = String>,
    listed: impl IntoIterator<Item = &'a SessionData>,
) -> Held {
    let listed: HashSet<&str> = listed.into_iter().map(|s| s.id.as_str()).collect();
    let mut held = Held {
        would_cancel: 0,
        confirmed: 0,
        sessions: listed.len() as i64,
    };
    for id in confirmed {
        held.confirmed += 1;
        if !listed.contains(id.as_str()) {
            held.would_cancel += 1;
        }
    }
    held
}

/// What setting a source's configuration does to its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceChange {
    /// No source yet: one is created, due now.
    Create,
    /// Only how often changed: the state stays, a fetch is due now.
    Reschedule,
    /// A new URL, format or zone: the state of fetching starts afresh
    /// (validators, errors, a held sync) under a new generation, which
    /// fences off fetches begun before.
    Restart,
}

pub fn source_change(old: Option<&SourceConfig>, new: &SourceConfig) -> SourceChange {
    match old {
        None => SourceChange::Create,
        Some(o) if o.url == new.url && o.format == new.format && o.timezone == new.timezone => {
            SourceChange::Reschedule
        }
        Some(_) => SourceChange::Restart,
    }
}

/// Whether a claim of a source due at `next_due` takes it at `now` (the
/// lease rule: a source whose due time is a lease still running belongs
/// to whoever took it, unless forced).
pub fn may_claim(next_due: DateTime<Utc>, now: DateTime<Utc>, force: bool) -> bool {
    force || next_due <= now
}

/// At most this many short addresses per conference: they are made on page
/// views, so an anonymous client inventing filters must not fill the disk.
/// Far more than the filter combinations real people subscribe to.
pub const MAX_FEED_LINKS: i64 = 10_000;

/// Characters in a code: 16 of base32, 80 bits of SHA-256, so two feeds
/// sharing a code is out of reach (and detected if it happened).
const CODE_LEN: usize = 16;

/// The code of a conference's feed with this canonical query.
pub fn feed_code(slug: &ConferenceSlug, query: &str) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let digest = Sha256::digest(format!("{slug}?{query}").as_bytes());
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = String::with_capacity(CODE_LEN);
    for &b in digest.iter() {
        bits = (bits << 8) | u32::from(b);
        n += 8;
        while n >= 5 && out.len() < CODE_LEN {
            n -= 5;
            out.push(ALPHABET[((bits >> n) & 31) as usize] as char);
        }
        if out.len() == CODE_LEN {
            break;
        }
    }
    out
}

/// Whether `s` has the shape of a code (so a lookup of anything else is a
/// plain 404 without touching the database).
pub fn is_feed_code(s: &str) -> bool {
    s.len() == CODE_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_short_and_distinct() {
        let slug = ConferenceSlug::parse("pycon-us-2012").unwrap();
        let a = feed_code(&slug, "room=E1&room=E2");
        assert_eq!(a, feed_code(&slug, "room=E1&room=E2"));
        assert_eq!(a.len(), CODE_LEN);
        assert!(is_feed_code(&a), "{a}");
        assert_ne!(a, feed_code(&slug, "room=E1"));
        let other = ConferenceSlug::parse("pycon-us-2013").unwrap();
        assert_ne!(a, feed_code(&other, "room=E1&room=E2"));
        assert!(!is_feed_code("ABCDEFGHIJKLMNOP"));
        assert!(!is_feed_code("abc"));
        assert!(!is_feed_code("abcdefghijklmno1"));
    }
}
