//! Which starred sessions overlap: the agenda page marks them, the API
//! lists them.

use serde::Serialize;

use crate::domain::{AgendaView, SessionRecord, Status};

/// A session named in a conflict.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct SessionRef<'a> {
    pub conference: &'a str,
    pub id: &'a str,
    pub title: &'a str,
}

/// Two starred sessions whose times overlap, `a` starting first.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Conflict<'a> {
    pub a: SessionRef<'a>,
    pub b: SessionRef<'a>,
}

/// Pairs of starred, not cancelled sessions whose times overlap (sharing
/// only an end/start instant is not an overlap), in start order.
pub fn conflicts(view: &AgendaView) -> Vec<Conflict<'_>> {
    let live: Vec<&(String, SessionRecord)> = view
        .sessions
        .iter()
        .filter(|(_, s)| s.status == Status::Confirmed)
        .collect();
    fn r((c, s): &(String, SessionRecord)) -> SessionRef<'_> {
        SessionRef {
            conference: c,
            id: s.data.id.as_str(),
            title: &s.data.title,
        }
    }
    let mut out = Vec::new();
    // `live` is sorted by start, so the inner scan stops at the first
    // session that starts after this one ends.
    for (i, a) in live.iter().enumerate() {
        for b in &live[i + 1..] {
            if b.1.data.start >= a.1.data.end {
                break;
            }
            out.push(Conflict { a: r(a), b: r(b) });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::domain::{AgendaRecord, SessionData, SessionId};

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2012, 3, 9, h, m, 0).unwrap()
    }

    fn session(
        id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        status: Status,
    ) -> SessionRecord {
        SessionRecord {
            data: SessionData {
                id: SessionId::parse(id).unwrap(),
                title: format!("Talk {id}"),
                speakers: vec![],
                start,
                end,
                room: None,
                tracks: vec![],
                abstract_: String::new(),
                notes: None,
                url: None,
                kind: None,
                links: vec![],
                language: None,
            },
            status,
            sequence: 0,
            created: start,
            last_modified: start,
        }
    }

    /// An agenda of these sessions, in start order as the store gives them.
    fn view(sessions: Vec<(&str, SessionRecord)>) -> AgendaView {
        let mut sessions: Vec<(String, SessionRecord)> = sessions
            .into_iter()
            .map(|(c, s)| (c.to_owned(), s))
            .collect();
        sessions.sort_by_key(|(_, s)| (s.data.start, s.data.end));
        AgendaView {
            agenda: AgendaRecord {
                name: None,
                created: at(0, 0),
                last_modified: at(0, 0),
            },
            conferences: HashMap::new(),
            sessions,
        }
    }

    fn pairs(v: &AgendaView) -> Vec<(&str, &str)> {
        conflicts(v).iter().map(|c| (c.a.id, c.b.id)).collect()
    }

    #[test]
    fn overlaps_pair_up_in_start_order() {
        let v = view(vec![
            (
                "c",
                session("late", at(11, 0), at(12, 0), Status::Confirmed),
            ),
            (
                "c",
                session("long", at(9, 0), at(11, 30), Status::Confirmed),
            ),
            (
                "d",
                session("early", at(9, 30), at(10, 0), Status::Confirmed),
            ),
        ]);
        assert_eq!(
            pairs(&v),
            [("long", "early"), ("long", "late")],
            "across conferences too"
        );
        let c = &conflicts(&v)[0];
        assert_eq!((c.a.conference, c.b.conference), ("c", "d"));
        assert_eq!(c.b.title, "Talk early");
    }

    #[test]
    fn touching_and_cancelled_sessions_do_not_conflict() {
        let v = view(vec![
            ("c", session("one", at(9, 0), at(10, 0), Status::Confirmed)),
            ("c", session("two", at(10, 0), at(11, 0), Status::Confirmed)),
            (
                "c",
                session("off", at(9, 30), at(10, 30), Status::Cancelled),
            ),
        ]);
        assert!(pairs(&v).is_empty(), "{:?}", pairs(&v));
    }
}
