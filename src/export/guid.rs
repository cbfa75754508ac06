//! Identifiers the schedule apps key on: a UUID per event and per room, and
//! the numeric event id the format still requires.
//!
//! Apps keep favourites and alarms by these, so they must never change
//! while the session exists: both are derived from the conference slug and
//! the session's stable id (a room's from its name), never from a position
//! in the document or a database row.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::domain::SessionId;
use crate::store::SessionRecord;

/// The namespace of every UUID confcal derives: a fixed random UUID (never
/// to change, or every app would see every event as new).
const NAMESPACE: [u8; 16] = [
    0x54, 0xb9, 0x9a, 0x8c, 0x7e, 0xde, 0x40, 0xfc, 0xbd, 0x3d, 0xd0, 0x1d, 0x1c, 0x7c, 0x6c, 0x55,
];

/// A name-based UUID in RFC 9562's version 8 layout for SHA-256
/// (Appendix B.2): the first 128 bits of SHA-256(namespace ‖ name), with the
/// version and variant bits set. Version 5 is the same construction with
/// SHA-1, which confcal does not otherwise link; SHA-256 is already here
/// (agenda tokens), and any reader can recompute the value with a few lines
/// of code (`scripts/check_exports.py` does).
pub fn name_uuid(name: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(NAMESPACE);
    h.update(name.as_bytes());
    let digest = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    b
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase.
pub fn format_uuid(b: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    s
}

/// The event guid of a session. Session ids contain no `/`, so the name
/// cannot collide with a room's.
pub fn session_guid(conference: &str, session: &str) -> String {
    format_uuid(&name_uuid(&format!("{conference}/sessions/{session}")))
}

/// The guid of a room, by its name within the conference.
pub fn room_guid(conference: &str, room: &str) -> String {
    format_uuid(&name_uuid(&format!("{conference}/rooms/{room}")))
}

/// Event ids are positive and fit a signed 32-bit integer, which is what
/// the Java and Kotlin apps parse them into.
const ID_SPACE: u32 = i32::MAX as u32;

/// The numeric id of every session (cancelled ones included, so a number
/// is not given away while its session is cancelled and restored).
///
/// A session's number comes from its guid ([`preferred_number`]); a
/// collision (likely somewhere among tens of thousands of sessions in a
/// 31-bit space) is resolved by the next free number, and sessions claim
/// numbers in the order they were created (then by id): a session added
/// later can never take the number of one that apps already know.
pub fn event_numbers(conference: &str, sessions: &[SessionRecord]) -> HashMap<SessionId, u32> {
    assign(sessions, |id| preferred_number(conference, id))
}

fn assign(sessions: &[SessionRecord], preferred: impl Fn(&str) -> u32) -> HashMap<SessionId, u32> {
    let mut order: Vec<&SessionRecord> = sessions.iter().collect();
    order.sort_by(|a, b| (a.created, a.data.id.as_str()).cmp(&(b.created, b.data.id.as_str())));
    let mut taken = std::collections::HashSet::with_capacity(order.len());
    let mut out = HashMap::with_capacity(order.len());
    for s in order {
        let mut n = preferred(s.data.id.as_str());
        while !taken.insert(n) {
            n = n % ID_SPACE + 1;
        }
        out.insert(s.data.id.clone(), n);
    }
    out
}

/// The number a session has unless an older session took it first: its
/// guid's first 32 bits (big-endian), folded into `1..=i32::MAX`.
pub fn preferred_number(conference: &str, session: &str) -> u32 {
    let b = name_uuid(&format!("{conference}/sessions/{session}"));
    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) % ID_SPACE + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SessionData;
    use crate::store::Status;
    use chrono::{TimeZone, Utc};

    fn record(id: &str, created: i64) -> SessionRecord {
        let t = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        SessionRecord {
            data: SessionData {
                id: SessionId::parse(id).unwrap(),
                title: "T".into(),
                speakers: vec![],
                start: t,
                end: t + chrono::Duration::hours(1),
                room: None,
                tracks: vec![],
                abstract_: String::new(),
                notes: None,
                url: None,
                kind: None,
                links: vec![],
                language: None,
            },
            status: Status::Confirmed,
            sequence: 0,
            created: Utc.timestamp_opt(created, 0).unwrap(),
            last_modified: t,
        }
    }

    #[test]
    fn uuids_are_version_8_and_pinned() {
        // Values computed independently (Python's hashlib and uuid, from
        // the construction documented on `name_uuid`): a change to the
        // derivation would make every app see every event as new.
        let g = session_guid("pycon-us-2012", "dismantling-jinja");
        assert_eq!(g, "647f5ddf-02cd-8cbf-9d4b-0e77613a44e7");
        assert_eq!(
            room_guid("pycon-us-2012", "E2"),
            "af82ff58-b4ea-8496-8613-1b4b6d697de2"
        );
        assert_eq!(
            preferred_number("pycon-us-2012", "dismantling-jinja"),
            1_686_068_704
        );
        assert_eq!(&g[14..15], "8", "version nibble: {g}");
        assert!(matches!(&g[19..20], "8" | "9" | "a" | "b"), "variant: {g}");
        assert_ne!(g, session_guid("pycon-us-2012", "dismantling-jinj"));
        assert_ne!(g, session_guid("pycon-us-2013", "dismantling-jinja"));
        assert_ne!(room_guid("c", "E2"), session_guid("c", "E2"));
    }

    #[test]
    fn numbers_are_unique_positive_and_preferred() {
        let sessions: Vec<SessionRecord> = (0..2000).map(|i| record(&format!("s{i}"), i)).collect();
        let numbers = event_numbers("c", &sessions);
        let distinct: std::collections::HashSet<_> = numbers.values().collect();
        assert_eq!(distinct.len(), 2000);
        assert!(numbers.values().all(|&n| (1..=ID_SPACE).contains(&n)));
        for s in &sessions {
            assert_eq!(
                numbers[&s.data.id],
                preferred_number("c", s.data.id.as_str())
            );
        }
    }

    #[test]
    fn collisions_go_to_the_younger_session_and_wrap() {
        // Every session prefers the same number: the oldest keeps it, the
        // others take the next free ones in creation order (ids break ties).
        let sessions = [
            record("young", 3),
            record("old", 1),
            record("b-twin", 2),
            record("a-twin", 2),
        ];
        let n = assign(&sessions, |_| 7);
        let of = |id: &str| n[&SessionId::parse(id).unwrap()];
        assert_eq!(
            (of("old"), of("a-twin"), of("b-twin"), of("young")),
            (7, 8, 9, 10)
        );
        // Past the top of the space the search wraps to 1, never 0.
        let n = assign(&sessions[..2], |_| ID_SPACE);
        let of = |id: &str| n[&SessionId::parse(id).unwrap()];
        assert_eq!((of("old"), of("young")), (ID_SPACE, 1));
        // A session added later never moves an older one's number.
        let mut more = sessions.to_vec();
        more.push(record("newest", 9));
        let after = assign(&more, |_| 7);
        for s in &sessions {
            assert_eq!(after[&s.data.id], assign(&sessions, |_| 7)[&s.data.id]);
        }
        assert_eq!(after[&SessionId::parse("newest").unwrap()], 11);
    }
}
