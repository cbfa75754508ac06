//! One story of the store's contract, told to every backend (see
//! [`super::testing::backends`]): SQLite always, PostgreSQL when
//! `CONFCAL_TEST_POSTGRES` is set. What a backend must do is written here
//! once; a backend that drifts from the rules fails the same assertion.

use chrono::{DateTime, TimeZone, Utc};

use super::testing::{backends, TestStore};
use super::*;
use crate::domain::filter::StatusFilter;
use crate::domain::{Conference, ConferenceSlug, SessionId};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn conf(slug: &str) -> Conference {
    Conference {
        slug: ConferenceSlug::parse(slug).unwrap(),
        name: format!("Conference {slug}"),
        tz: chrono_tz::Europe::Berlin,
        venue: Some("Hall".into()),
        url: None,
        address: None,
        geo: None,
        color: None,
    }
}

fn talk(id: &str, title: &str, abstract_: &str, speakers: &[&str], hour: i64) -> SessionData {
    SessionData {
        id: SessionId::parse(id).unwrap(),
        title: title.into(),
        speakers: speakers.iter().map(|s| s.to_string()).collect(),
        start: at(hour * 3600),
        end: at(hour * 3600 + 1800),
        room: Some(if hour % 2 == 0 { "Room A" } else { "room b" }.into()),
        tracks: vec!["Main".into()],
        abstract_: abstract_.into(),
        notes: None,
        url: None,
        kind: Some("talk".into()),
        links: vec![],
        language: None,
    }
}

fn schedule(slug: &str, sessions: Vec<SessionData>) -> Schedule {
    Schedule {
        conference: conf(slug),
        sessions,
    }
}

fn slug(s: &str) -> ConferenceSlug {
    ConferenceSlug::parse(s).unwrap()
}

fn sid(s: &str) -> SessionId {
    SessionId::parse(s).unwrap()
}

fn all(b: &TestStore, c: &str) -> Vec<SessionRecord> {
    let f = SessionFilter {
        status: StatusFilter::All,
        ..SessionFilter::default()
    };
    b.store.sessions(&slug(c), &f).unwrap().1
}

fn three() -> Vec<SessionData> {
    vec![
        talk("a", "Alpha", "first", &["Ann"], 1),
        talk("b", "Beta", "second", &["Bob"], 2),
        talk("c", "Gamma", "third", &["Cy"], 3),
    ]
}

/// The sync diff and the version rules: create, re-sync unchanged (no
/// byte moves), update one (its sequence and the version move), drop one
/// (cancelled, never deleted), re-list it (confirmed again), move the
/// conference's zone (every session bumped).
#[test]
fn sync_diff_sequences_versions_and_cancel_not_delete() {
    for b in backends() {
        let n = b.name;
        let s = &b.store;
        assert!(s.is_empty().unwrap(), "{n}");
        let r = s.sync_schedule(&schedule("conf", three()), at(0)).unwrap();
        assert!(r.conference_created, "{n}");
        assert_eq!(r.created, ["a", "b", "c"], "{n}");
        let v1 = s.conference_version(&slug("conf")).unwrap();
        assert!(!s.is_empty().unwrap());

        let r = s.sync_schedule(&schedule("conf", three()), at(10)).unwrap();
        assert!(!r.changed(), "{n}: {r:?}");
        assert_eq!(r.unchanged, ["a", "b", "c"], "{n}");
        assert_eq!(s.conference_version(&slug("conf")).unwrap(), v1, "{n}");
        assert!(all(&b, "conf")
            .iter()
            .all(|x| x.sequence == 0 && x.last_modified == at(0)));

        let mut changed = three();
        changed[1].title = "Beta, renamed".into();
        let r = s
            .sync_schedule(&schedule("conf", changed.clone()), at(20))
            .unwrap();
        assert_eq!(
            (r.updated.as_slice(), r.unchanged.len()),
            (&["b".to_string()][..], 2),
            "{n}"
        );
        let v2 = s.conference_version(&slug("conf")).unwrap();
        assert!(v2 > v1, "{n}");
        let (_, rec) = s.session(&slug("conf"), &sid("b")).unwrap();
        assert_eq!((rec.sequence, rec.last_modified), (1, at(20)), "{n}");
        assert_eq!(rec.data.title, "Beta, renamed");

        // The clock stepping back never moves last_modified back.
        changed[1].title = "Beta again".into();
        s.sync_schedule(&schedule("conf", changed.clone()), at(5))
            .unwrap();
        let (_, rec) = s.session(&slug("conf"), &sid("b")).unwrap();
        assert_eq!((rec.sequence, rec.last_modified), (2, at(20)), "{n}");

        let r = s
            .sync_schedule(&schedule("conf", changed[..2].to_vec()), at(30))
            .unwrap();
        assert_eq!(r.cancelled, ["c"], "{n}");
        let stored = all(&b, "conf");
        assert_eq!(stored.len(), 3, "{n}: cancelled, not deleted");
        let c = stored.iter().find(|x| x.data.id.as_str() == "c").unwrap();
        assert_eq!((c.status, c.sequence), (Status::Cancelled, 1), "{n}");
        let confirmed = s
            .sessions(&slug("conf"), &SessionFilter::default())
            .unwrap()
            .1;
        assert_eq!(confirmed.len(), 2, "{n}");
        assert_eq!(s.conference(&slug("conf")).unwrap().session_count, 2, "{n}");

        let r = s
            .sync_schedule(&schedule("conf", changed[..2].to_vec()), at(40))
            .unwrap();
        assert!(!r.changed(), "{n}: a cancelled session stays as it is");
        assert_eq!(r.unchanged.len(), 3);
        let r = s
            .sync_schedule(&schedule("conf", changed.clone()), at(50))
            .unwrap();
        assert_eq!(r.updated, ["c"], "{n}: listed again");
        let (_, c) = s.session(&slug("conf"), &sid("c")).unwrap();
        assert_eq!((c.status, c.sequence), (Status::Confirmed, 2), "{n}");

        // A new zone changes every event: all are bumped, the colour none.
        let mut moved = schedule("conf", changed.clone());
        moved.conference.tz = chrono_tz::Europe::London;
        let r = s.sync_schedule(&moved, at(60)).unwrap();
        assert_eq!(r.updated.len(), 3, "{n}: {r:?}");
        let v3 = s.conference_version(&slug("conf")).unwrap();
        moved.conference.color = Some("#112233".into());
        let r = s.sync_schedule(&moved, at(70)).unwrap();
        assert_eq!((r.updated.len(), r.unchanged.len()), (0, 3), "{n}");
        assert!(
            s.conference_version(&slug("conf")).unwrap() > v3,
            "{n}: the header changed"
        );
        let seqs: Vec<i64> = all(&b, "conf").iter().map(|x| x.sequence).collect();
        assert_eq!(seqs, [1, 3, 3], "{n}");
    }
}

#[test]
fn single_session_writes_and_typed_not_found() {
    for b in backends() {
        let n = b.name;
        let s = &b.store;
        s.sync_schedule(&schedule("conf", three()), at(0)).unwrap();
        let new = talk("d", "Delta", "fourth", &["Di"], 4);
        assert_eq!(
            s.put_session(&slug("conf"), &new, at(1)).unwrap(),
            Outcome::Created,
            "{n}"
        );
        assert_eq!(
            s.put_session(&slug("conf"), &new, at(2)).unwrap(),
            Outcome::Unchanged,
            "{n}"
        );
        let v = s.conference_version(&slug("conf")).unwrap();
        let cancel = |id: &str| s.cancel_session(&slug("conf"), &sid(id), at(3));
        assert_eq!(cancel("d").unwrap(), Outcome::Cancelled, "{n}");
        assert_eq!(cancel("d").unwrap(), Outcome::Unchanged, "{n}");
        assert_eq!(s.conference_version(&slug("conf")).unwrap(), v + 1, "{n}");
        assert_eq!(
            s.put_session(&slug("conf"), &new, at(4)).unwrap(),
            Outcome::Updated,
            "{n}"
        );
        assert!(
            matches!(cancel("zz"), Err(StoreError::SessionNotFound { .. })),
            "{n}"
        );
        assert!(matches!(
            s.put_session(&slug("nope"), &new, at(5)),
            Err(StoreError::ConferenceNotFound(_))
        ));
        assert!(matches!(
            s.conference(&slug("nope")),
            Err(StoreError::ConferenceNotFound(_))
        ));
        assert!(matches!(
            s.session(&slug("conf"), &sid("zz")),
            Err(StoreError::SessionNotFound { .. })
        ));
        // Several conferences in one transaction, and the listing order.
        s.sync_schedules(
            &[
                schedule("early", vec![talk("x", "X", "", &[], -5)]),
                schedule("empty", vec![]),
            ],
            at(6),
        )
        .unwrap();
        let slugs: Vec<String> = s
            .conferences()
            .unwrap()
            .iter()
            .map(|c| c.conference.slug.to_string())
            .collect();
        assert_eq!(
            slugs,
            ["empty", "early", "conf"],
            "{n}: no sessions first, then by start"
        );
        assert!(
            s.seed(&[schedule("seeded", vec![])], at(7))
                .unwrap()
                .is_none(),
            "{n}"
        );
        let exported = s.export(&slug("conf")).unwrap();
        assert_eq!(exported.sessions.len(), 4, "{n}");
    }
}

/// The change history on every backend: a conference's first schedule and
/// a sync that changes nothing record nothing; a move, a rename, a room
/// change, a cancellation and a new talk are recorded with what they were
/// and are, newest first, through syncs and single-session writes alike;
/// an agenda sees only its starred talks' changes.
#[test]
fn the_change_history_tells_what_changed_and_nothing_else() {
    use crate::domain::changes::ChangeKind;
    for b in backends() {
        let n = b.name;
        let s = &b.store;
        s.sync_schedule(&schedule("conf", three()), at(0)).unwrap();
        s.sync_schedule(&schedule("conf", three()), at(5)).unwrap();
        assert!(s.changes(&slug("conf"), 10).unwrap().1.is_empty(), "{n}");

        let mut next = three();
        next[0].start = at(3600 + 900);
        next[0].end = at(3600 + 2700);
        next[1].title = "Beta, renamed".into();
        next[1].abstract_ = "an abstract alone is not told".into();
        next.remove(2);
        next.push(talk("d", "Delta", "", &[], 4));
        s.sync_schedule(&schedule("conf", next.clone()), at(10))
            .unwrap();
        let mut room = next[0].clone();
        room.room = Some("Room Z".into());
        s.put_session(&slug("conf"), &room, at(20)).unwrap();
        s.cancel_session(&slug("conf"), &sid("b"), at(30)).unwrap();
        // Repeats change nothing, and tell nothing.
        s.put_session(&slug("conf"), &room, at(40)).unwrap();
        s.cancel_session(&slug("conf"), &sid("b"), at(50)).unwrap();

        let (_, changes) = s.changes(&slug("conf"), 10).unwrap();
        let got: Vec<(&str, Vec<ChangeKind>)> = changes
            .iter()
            .map(|c| (c.session.as_str(), c.kinds.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("b", vec![ChangeKind::Cancelled]),
                ("a", vec![ChangeKind::RoomChanged]),
                // A sync tells the listed sessions' changes, then the
                // cancellations of those it no longer lists.
                ("c", vec![ChangeKind::Cancelled]),
                ("d", vec![ChangeKind::New]),
                ("b", vec![ChangeKind::Renamed]),
                ("a", vec![ChangeKind::Moved]),
            ],
            "{n}"
        );
        let moved = changes.last().unwrap();
        assert_eq!(moved.before.as_ref().unwrap().start, at(3600), "{n}");
        assert_eq!(moved.after.start, at(3600 + 900), "{n}");
        assert_eq!(moved.at, at(10), "{n}");
        assert!(changes.windows(2).all(|w| w[0].id > w[1].id), "{n}");
        assert!(changes
            .iter()
            .find(|c| c.session.as_str() == "d")
            .unwrap()
            .before
            .is_none());

        let h = TokenHash([9; 32]);
        s.create_agenda(&h, None, at(60)).unwrap();
        s.set_star(&h, &slug("conf"), &sid("a"), true, at(61))
            .unwrap();
        let (_, log) = s.agenda_changes(&h, 10).unwrap();
        let ids: Vec<&str> = log
            .changes
            .iter()
            .map(|(_, c)| c.session.as_str())
            .collect();
        assert_eq!(ids, ["a", "a"], "{n}");
        assert!(log.conferences.contains_key("conf"), "{n}");
        assert!(matches!(
            s.agenda_changes(&TokenHash([7; 32]), 10),
            Err(StoreError::AgendaNotFound)
        ));
    }
}

#[test]
fn filters_and_facets() {
    for b in backends() {
        let n = b.name;
        let s = &b.store;
        s.sync_schedule(&schedule("conf", three()), at(0)).unwrap();
        let f = |q: &str| SessionFilter::from_query(q).unwrap();
        let ids = |q: &str| -> Vec<String> {
            s.sessions(&slug("conf"), &f(q))
                .unwrap()
                .1
                .iter()
                .map(|x| x.data.id.to_string())
                .collect()
        };
        assert_eq!(
            ids("room=ROOM%20B"),
            ["a", "c"],
            "{n}: rooms ignore ASCII case"
        );
        assert_eq!(ids("speaker=bob"), ["b"], "{n}");
        assert_eq!(ids("track=main&speaker=ann"), ["a"], "{n}");
        assert_eq!(ids("kind=talk").len(), 3, "{n}");
        assert!(ids("not_kind=talk").is_empty(), "{n}");
        // 1_700_000_000 is 23:13 in Berlin on the 14th: the talks, an
        // hour and more later, are on the 15th there.
        assert_eq!(ids("day=2023-11-15"), ["a", "b", "c"], "{n}");
        assert!(ids("day=2023-11-14").is_empty(), "{n}");
        let facets = s.facets(&slug("conf")).unwrap();
        assert_eq!(facets.rooms, ["Room A", "room b"], "{n}");
        assert_eq!(facets.kinds, ["talk"], "{n}");
        assert_eq!(facets.days.len(), 1, "{n}");
        let code = s.ensure_feed_link(&slug("conf"), "room=Room+A").unwrap();
        assert_eq!(
            s.ensure_feed_link(&slug("conf"), "room=Room+A").unwrap(),
            code
        );
        assert_eq!(
            s.feed_link(&code).unwrap(),
            Some((slug("conf"), "room=Room+A".to_string())),
            "{n}"
        );
        assert_eq!(s.feed_link("aaaaaaaaaaaaaaaa").unwrap(), None);
    }
}

#[test]
fn stars_the_limit_rotation_and_deletion() {
    for b in backends() {
        let n = b.name;
        let s = &b.store;
        let many: Vec<SessionData> = (0..=MAX_STARS)
            .map(|i| talk(&format!("s{i}"), "T", "", &[], i % 40))
            .collect();
        s.sync_schedule(&schedule("conf", many), at(0)).unwrap();
        let (h1, h2, h3) = (TokenHash([1; 32]), TokenHash([2; 32]), TokenHash([3; 32]));
        s.create_agenda(&h1, Some("mine"), at(1)).unwrap();
        s.create_agenda(&h3, None, at(1)).unwrap();
        let stamp0 = s.agenda_stamp(&h1).unwrap();
        let star =
            |h: &TokenHash, id: &str, on: bool| s.set_star(h, &slug("conf"), &sid(id), on, at(2));
        assert!(star(&h1, "s0", true).unwrap(), "{n}");
        assert!(!star(&h1, "s0", true).unwrap(), "{n}: idempotent");
        let stamp1 = s.agenda_stamp(&h1).unwrap();
        assert_ne!(stamp0, stamp1, "{n}");
        assert!(matches!(
            star(&h1, "nope", true),
            Err(StoreError::SessionNotFound { .. })
        ));
        assert!(matches!(
            star(&h2, "s0", true),
            Err(StoreError::AgendaNotFound)
        ));
        // A change to a starred conference changes the agenda's stamp.
        s.cancel_session(&slug("conf"), &sid("s0"), at(3)).unwrap();
        assert_ne!(s.agenda_stamp(&h1).unwrap(), stamp1, "{n}");
        for i in 1..MAX_STARS {
            assert!(star(&h1, &format!("s{i}"), true).unwrap());
        }
        let over = star(&h1, &format!("s{MAX_STARS}"), true).unwrap_err();
        assert!(matches!(over, StoreError::Limit(_)), "{n}: {over}");
        assert!(star(&h1, "s1", false).unwrap(), "{n}");
        assert!(
            star(&h1, &format!("s{MAX_STARS}"), true).unwrap(),
            "{n}: room again"
        );
        let view = s.agenda(&h1).unwrap();
        assert_eq!(view.sessions.len(), MAX_STARS as usize, "{n}");
        assert_eq!(view.agenda.name.as_deref(), Some("mine"));
        assert!(view.conferences.contains_key("conf"));

        assert_eq!(
            s.rotate_agenda(&h1, &h2, at(4)).unwrap(),
            RotateOutcome::Rotated,
            "{n}"
        );
        assert_eq!(
            s.rotate_agenda(&h1, &h2, at(5)).unwrap(),
            RotateOutcome::AlreadyRotated
        );
        assert!(
            matches!(s.agenda(&h1), Err(StoreError::AgendaNotFound)),
            "{n}"
        );
        assert!(
            matches!(
                s.rotate_agenda(&h2, &h3, at(6)),
                Err(StoreError::TokenInUse)
            ),
            "{n}"
        );
        assert_eq!(s.agenda(&h2).unwrap().sessions.len(), MAX_STARS as usize);
        s.delete_agenda(&h2).unwrap();
        assert!(
            matches!(s.delete_agenda(&h2), Err(StoreError::AgendaNotFound)),
            "{n}"
        );
        assert!(matches!(
            s.agenda_stamp(&h2),
            Err(StoreError::AgendaNotFound)
        ));
        assert_eq!(s.stats().unwrap().agendas, 1, "{n}");
    }
}

#[test]
fn sources_lease_generations_and_held_syncs() {
    for b in backends() {
        let n = b.name;
        let s = &b.store;
        let cfg = SourceConfig {
            url: "https://example.org/schedule.json".into(),
            format: "auto".into(),
            timezone: None,
            every_seconds: 300,
        };
        let (created, rec) = s.put_source(&slug("conf"), &cfg, at(0)).unwrap();
        assert!(created && rec.generation == 1, "{n}");
        assert_eq!(s.due_sources(at(0), 10).unwrap(), ["conf"], "{n}");
        // One claim takes the lease; a second, before it ends, gets nothing.
        let lease = at(60);
        assert!(
            s.claim_source("conf", at(1), lease, false)
                .unwrap()
                .is_some(),
            "{n}"
        );
        assert!(
            s.claim_source("conf", at(2), lease, false)
                .unwrap()
                .is_none(),
            "{n}"
        );
        assert_eq!(s.next_source_due().unwrap(), Some(lease), "{n}");
        assert!(s.due_sources(at(30), 10).unwrap().is_empty(), "{n}");
        // The holder died: once the lease ends, another takes over.
        assert!(
            s.claim_source("conf", at(61), at(120), false)
                .unwrap()
                .is_some(),
            "{n}"
        );
        assert!(
            s.claim_source("conf", at(62), at(120), true)
                .unwrap()
                .is_some(),
            "{n}: forced"
        );

        let attempt = Attempt {
            at: at(63),
            next_due: at(363),
            http_status: Some(200),
            etag: Some("\"e1\"".into()),
            last_modified: None,
        };
        let sync = s
            .sync_from_source(
                "conf",
                1,
                &attempt,
                &schedule("conf", three()),
                "json",
                &["w".into()],
                false,
                |_| false,
            )
            .unwrap();
        assert!(
            matches!(sync, Some(SourceSync::Applied(ref r)) if r.created.len() == 3),
            "{n}"
        );
        let rec = s.source(&slug("conf")).unwrap().unwrap();
        assert_eq!(rec.etag.as_deref(), Some("\"e1\""), "{n}");
        assert_eq!(rec.last_outcome, Some(FetchOutcome::Ok));
        assert_eq!(rec.counts.map(|c| c.created), Some(3));
        assert_eq!(rec.warnings, ["w"]);

        // A schedule that would cancel two of three is held, not applied.
        let fewer = schedule("conf", three()[..1].to_vec());
        let held = s
            .sync_from_source("conf", 1, &attempt, &fewer, "json", &[], false, |h| {
                h.would_cancel >= 2
            })
            .unwrap();
        assert!(
            matches!(
                held,
                Some(SourceSync::Held(Held {
                    would_cancel: 2,
                    confirmed: 3,
                    sessions: 1
                }))
            ),
            "{n}: {held:?}"
        );
        assert_eq!(
            s.sessions(&slug("conf"), &SessionFilter::default())
                .unwrap()
                .1
                .len(),
            3
        );
        assert_eq!(
            s.source(&slug("conf")).unwrap().unwrap().last_outcome,
            Some(FetchOutcome::Held)
        );

        // A new URL starts a new generation: attempts of the old one are fenced off.
        let moved = SourceConfig {
            url: "https://example.org/v2.json".into(),
            ..cfg.clone()
        };
        let (created, rec) = s.put_source(&slug("conf"), &moved, at(70)).unwrap();
        assert!(!created && rec.generation == 2 && rec.etag.is_none(), "{n}");
        assert!(
            !s.record_failure("conf", 1, &attempt, "old").unwrap(),
            "{n}"
        );
        assert!(!s.record_not_modified("conf", 1, &attempt).unwrap(), "{n}");
        let stale = s
            .sync_from_source("conf", 1, &attempt, &fewer, "json", &[], true, |_| false)
            .unwrap();
        assert!(stale.is_none(), "{n}");
        assert!(
            s.record_failure("conf", 2, &attempt, "upstream 500")
                .unwrap(),
            "{n}"
        );
        let rec = s.source(&slug("conf")).unwrap().unwrap();
        assert_eq!(
            (rec.failures, rec.last_error.as_deref()),
            (1, Some("upstream 500")),
            "{n}"
        );
        assert!(s.record_not_modified("conf", 2, &attempt).unwrap());
        assert_eq!(s.source(&slug("conf")).unwrap().unwrap().failures, 0);
        // Only the interval changed: same generation.
        let slower = SourceConfig {
            every_seconds: 900,
            ..moved
        };
        assert_eq!(
            s.put_source(&slug("conf"), &slower, at(80))
                .unwrap()
                .1
                .generation,
            2,
            "{n}"
        );
        assert_eq!(s.sources().unwrap().len(), 1);
        assert!(s.delete_source(&slug("conf")).unwrap(), "{n}");
        assert!(!s.delete_source(&slug("conf")).unwrap(), "{n}");
        assert_eq!(s.next_source_due().unwrap(), None);
        // The conference stays as last synced.
        assert_eq!(s.conference(&slug("conf")).unwrap().session_count, 3, "{n}");
    }
}

#[test]
fn stats_ping_and_health() {
    for b in backends() {
        let n = b.name;
        let s = &b.store;
        s.sync_schedule(&schedule("conf", three()), at(0)).unwrap();
        s.cancel_session(&slug("conf"), &sid("a"), at(1)).unwrap();
        s.ping().unwrap();
        s.health().unwrap();
        let st = s.stats().unwrap();
        assert_eq!(
            (
                st.conferences,
                st.sessions_confirmed,
                st.sessions_cancelled,
                st.agendas
            ),
            (1, 2, 1, 0),
            "{n}"
        );
        assert!(st.size_bytes > 0, "{n}");
        assert_eq!(s.data_version().unwrap().is_some(), n == "sqlite", "{n}");
        assert!(
            s.checkpoint_within(std::time::Duration::from_secs(1))
                .unwrap()
                .complete
        );
    }
}

/// Two conferences' sessions, then one table of searches and the sessions
/// each must find: the same on every backend (prefixes, accents, case,
/// FTS5 syntax in user text, and each conference's words its own).
#[test]
fn search_finds_the_same_sessions_on_every_backend() {
    const TABLE: &[(&str, &str, &[&str])] = &[
        ("alpha", "q=python", &["a1"]),
        ("beta", "q=python", &["b1"]),
        ("alpha", "q=pyt", &["a1"]),
        ("alpha", "q=pyc", &["a1"]),
        ("alpha", "q=py", &[]),
        ("alpha", "q=PYTHON", &["a1"]),
        ("alpha", "q=cassandra+thrift", &["a1"]),
        ("alpha", "q=cassandra+crash", &[]),
        ("alpha", "q=cas&q=crash", &["a1", "a2"]),
        ("alpha", "q=resume", &["a3"]),
        ("beta", "q=resume", &["b2"]),
        ("beta", "q=R%C3%A9sum%C3%A9s", &["b2"]),
        ("beta", "q=angstrom&q=cafe", &["b2"]),
        ("beta", "q=%C3%85NGSTR%C3%96M", &["b2"]),
        ("beta", "q=co-op", &["b2"]),
        ("alpha", "q=don", &["a2"]),
        ("alpha", "q=don%27t", &["a2"]),
        ("alpha", "q=%22%20OR%20*", &[]),
        ("alpha", "q=NEAR(x)", &[]),
        ("alpha", "q=jeremiah+jordan", &["a1"]),
        ("alpha", "q=nguyen", &["a3"]),
        ("alpha", "q=SATO", &["a3"]),
        ("alpha", "q=ecole", &["a3"]),
        // A combining accent splits the typed word in two ("e", "cole"),
        // and no session has the word "e".
        ("alpha", "q=e%CC%81cole", &[]),
        ("beta", "q=zoe+muller", &["b1"]),
        ("alpha", "q=muller", &[]),
        ("beta", "q=muller", &["b1"]),
        ("alpha", "q=programs", &["a2"]),
        ("beta", "q=programs", &["b1"]),
        ("beta", "q=o%27neil", &["b2"]),
        ("beta", "q=neil", &["b2"]),
        ("alpha", "q=segf", &["a2"]),
        ("alpha", "q=writing&q=scale", &["a3"]),
        ("beta", "q=%E6%97%A5%E6%9C%AC", &[]),
        ("beta", "q=%E6%97%A5%E6%9C%AC%E8%AA%9E", &["b3"]),
        ("beta", "q=x%C2%B2", &["b3"]),
    ];
    for b in backends() {
        let n = b.name;
        let s = &b.store;
        s.sync_schedules(
            &[
                schedule(
                    "alpha",
                    vec![
                        talk(
                            "a1",
                            "Apache Cassandra and Python",
                            "Using pycassa; thrift.",
                            &["Jeremiah Jordan"],
                            1,
                        ),
                        talk(
                            "a2",
                            "Make Sure Your Programs Crash",
                            "Segfaults don't happen",
                            &["Moshe Zadka"],
                            2,
                        ),
                        talk("a3", "résumé writing", "École fine", &["Nguyễn Satō"], 3),
                    ],
                ),
                schedule(
                    "beta",
                    vec![
                        talk(
                            "b1",
                            "Python at Scale",
                            "Cassandra again, programs",
                            &["Zoë Müller"],
                            1,
                        ),
                        talk(
                            "b2",
                            "Résumés in Ångström",
                            "naïve café co-op",
                            &["O'Neil"],
                            2,
                        ),
                        talk("b3", "日本語 x²", "", &[], 3),
                    ],
                ),
            ],
            at(0),
        )
        .unwrap();
        for (c, q, want) in TABLE {
            let f = SessionFilter::from_query(q).unwrap();
            let got: Vec<String> = s
                .sessions(&slug(c), &f)
                .unwrap()
                .1
                .iter()
                .map(|x| x.data.id.to_string())
                .collect();
            assert_eq!(got, *want, "{n}: {q} in {c}");
        }
        // An edit is searchable at once, and the old words are gone.
        let mut a1 = talk("a1", "Rust for Pythonistas", "", &[], 1);
        a1.abstract_ = "Ownership".into();
        s.put_session(&slug("alpha"), &a1, at(1)).unwrap();
        let find = |q: &str| {
            s.sessions(&slug("alpha"), &SessionFilter::from_query(q).unwrap())
                .unwrap()
                .1
                .len()
        };
        assert_eq!(
            (find("q=pythonista"), find("q=cassandra"), find("q=owner")),
            (1, 0, 1),
            "{n}"
        );
    }
}

/// Writers on two replicas (two stores on one database) at the same
/// moment keep every rule one writer keeps: two whole-schedule syncs of
/// one conference leave wholly one schedule or the other; stars racing
/// for the last places never pass the limit; of claims racing for a due
/// source exactly one wins.
#[test]
fn concurrent_writers_on_two_replicas_keep_the_rules() {
    for b in backends() {
        let n = b.name;
        let (one, two) = (b.store.clone(), b.another());
        // Two schedules of the same conference, no session in common.
        let left: Vec<SessionData> = (0..60)
            .map(|i| talk(&format!("l{i}"), "L", "", &[], i))
            .collect();
        let right: Vec<SessionData> = (0..60)
            .map(|i| talk(&format!("r{i}"), "R", "", &[], i))
            .collect();
        for round in 0..4 {
            let go = std::sync::Arc::new(std::sync::Barrier::new(2));
            let run =
                |s: Store, sessions: Vec<SessionData>, go: std::sync::Arc<std::sync::Barrier>| {
                    std::thread::spawn(move || {
                        go.wait();
                        s.sync_schedule(&schedule("race", sessions), at(round))
                            .unwrap()
                    })
                };
            let t1 = run(one.clone(), left.clone(), go.clone());
            let t2 = run(two.clone(), right.clone(), go);
            t1.join().unwrap();
            t2.join().unwrap();
            let confirmed: Vec<String> = b
                .store
                .sessions(&slug("race"), &SessionFilter::default())
                .unwrap()
                .1
                .iter()
                .map(|x| x.data.id.to_string())
                .collect();
            let wholly =
                |p: &str| confirmed.len() == 60 && confirmed.iter().all(|c| c.starts_with(p));
            assert!(
                wholly("l") || wholly("r"),
                "{n}: round {round}: {confirmed:?}"
            );
            assert_eq!(all(&b, "race").len(), 120, "{n}: nothing deleted");
        }

        // Stars: the agenda full but for 3 places, 8 racing to fill them.
        let sessions: Vec<SessionData> = (0..MAX_STARS + 8)
            .map(|i| talk(&format!("s{i}"), "T", "", &[], i % 40))
            .collect();
        b.store
            .sync_schedule(&schedule("stars", sessions), at(10))
            .unwrap();
        let h = TokenHash([9; 32]);
        b.store.create_agenda(&h, None, at(10)).unwrap();
        for i in 0..MAX_STARS - 3 {
            b.store
                .set_star(&h, &slug("stars"), &sid(&format!("s{i}")), true, at(11))
                .unwrap();
        }
        let go = std::sync::Arc::new(std::sync::Barrier::new(8));
        let racers: Vec<_> = (0..8)
            .map(|k| {
                let s = if k % 2 == 0 { one.clone() } else { two.clone() };
                let go = go.clone();
                std::thread::spawn(move || {
                    go.wait();
                    let id = sid(&format!("s{}", MAX_STARS + k));
                    s.set_star(&TokenHash([9; 32]), &slug("stars"), &id, true, at(12))
                })
            })
            .collect();
        let won = racers
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|r| match r {
                Ok(changed) => *changed,
                Err(StoreError::Limit(_) | StoreError::Busy(_)) => false,
                Err(e) => panic!("{n}: {e}"),
            })
            .count();
        assert_eq!(won, 3, "{n}");
        assert_eq!(
            b.store.agenda(&h).unwrap().sessions.len(),
            MAX_STARS as usize,
            "{n}"
        );

        // Claims: one source, due; six claimants on two replicas.
        let cfg = SourceConfig {
            url: "https://example.org/s.json".into(),
            format: "auto".into(),
            timezone: None,
            every_seconds: 60,
        };
        b.store.put_source(&slug("race"), &cfg, at(20)).unwrap();
        let go = std::sync::Arc::new(std::sync::Barrier::new(6));
        let claims: Vec<_> = (0..6)
            .map(|k| {
                let s = if k % 2 == 0 { one.clone() } else { two.clone() };
                let go = go.clone();
                std::thread::spawn(move || {
                    go.wait();
                    s.claim_source("race", at(21), at(600), false)
                        .unwrap()
                        .is_some()
                })
            })
            .collect();
        let taken = claims
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|&won| won)
            .count();
        assert_eq!(taken, 1, "{n}: exactly one replica follows the source");
    }
}

/// The server ends every connection (`pg_terminate_backend`, as after a
/// restart): the very next call succeeds on a new one, and health is good.
#[test]
fn postgres_connections_killed_by_the_server_are_replaced_at_once() {
    for b in backends() {
        let Some(schema) = b.schema() else { continue };
        let s = &b.store;
        s.sync_schedule(&schedule("conf", three()), at(0)).unwrap();
        for _ in 0..3 {
            s.ping().unwrap();
        }
        assert!(schema.terminate_connections() >= 1);
        assert_eq!(s.conference(&slug("conf")).unwrap().session_count, 3);
        s.health().unwrap();
        assert!(schema.terminate_connections() >= 1);
        s.put_session(&slug("conf"), &talk("d", "D", "", &[], 4), at(1))
            .unwrap();
        assert_eq!(s.conference(&slug("conf")).unwrap().session_count, 4);
    }
}

/// SQLite's FTS5 is the reference: random texts at the tokenizers' edges
/// (accents composed and decomposed, ligatures, titlecase digraphs,
/// apostrophes, CJK, FTS5 syntax) and random queries (words of the texts
/// cut to prefixes, or anything), and every other backend must find the
/// very sessions SQLite finds. Only with PostgreSQL (nothing to compare
/// otherwise).
#[test]
fn search_parity_with_sqlite_on_random_texts_and_queries() {
    let backends = backends();
    if backends.len() < 2 {
        return;
    }
    const PALETTE: &[&str] = &[
        "a",
        "b",
        "c",
        "x",
        "Py",
        "THON",
        "é",
        "É",
        "ü",
        "ß",
        "ø",
        "Ł",
        "ł",
        "ǅ",
        "ǆ",
        "日",
        "本",
        "ﬁ",
        "\u{301}",
        "\u{345}",
        "\u{2160}",
        "'",
        "’",
        " ",
        " ",
        " ",
        ".",
        ",",
        ":",
        "*",
        "-",
        "\"",
        "(",
        "NEAR",
        "OR",
        "AND",
        "résumé",
        "cafe\u{301}",
        "Ångström",
        "0",
        "42",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let text = |len: usize, next: &mut dyn FnMut(usize) -> usize| -> String {
        (0..next(len) + 1)
            .map(|_| PALETTE[next(PALETTE.len())])
            .collect()
    };
    let (mut compared, mut matched) = (0, 0);
    for case in 0..30 {
        let c = format!("case-{case}");
        let sessions: Vec<SessionData> = (0..5)
            .map(|i| {
                let (t, a, s) = (text(12, &mut next), text(20, &mut next), text(6, &mut next));
                talk(&format!("s{i}"), &t, &a, &[&s], i)
            })
            .collect();
        let words: Vec<String> = sessions
            .iter()
            .flat_map(|s| {
                s.title
                    .split_whitespace()
                    .chain(s.abstract_.split_whitespace())
            })
            .map(str::to_owned)
            .collect();
        for b in &backends {
            b.store
                .sync_schedule(&schedule(&c, sessions.clone()), at(0))
                .unwrap();
        }
        for _ in 0..12 {
            let values: Vec<String> = (0..next(3) + 1)
                .map(|_| {
                    if !words.is_empty() && next(3) > 0 {
                        let w = &words[next(words.len())];
                        w.chars().take(next(6) + 1).collect()
                    } else {
                        text(5, &mut next)
                    }
                })
                .collect();
            let query = values
                .iter()
                .map(|w| {
                    let w: String = url::form_urlencoded::byte_serialize(w.as_bytes()).collect();
                    format!("q={w}")
                })
                .collect::<Vec<_>>()
                .join("&");
            let Ok(f) = SessionFilter::from_query(&query) else {
                continue;
            };
            if f.q.is_empty() {
                continue;
            }
            let found: Vec<Vec<String>> = backends
                .iter()
                .map(|b| {
                    let ids = b.store.sessions(&slug(&c), &f).unwrap().1;
                    ids.iter().map(|x| x.data.id.to_string()).collect()
                })
                .collect();
            for (b, got) in backends.iter().zip(&found).skip(1) {
                assert_eq!(got, &found[0], "{}: {query} in {c}", b.name);
            }
            compared += 1;
            matched += usize::from(!found[0].is_empty());
        }
    }
    // The comparison means something: many queries, many finding sessions.
    assert!(
        compared > 100 && matched > 30,
        "{compared} compared, {matched} matched"
    );
}

/// On PostgreSQL a write waits for a row another replica holds at most
/// the write timeout, then is busy (503), while reads go on; a statement
/// past its `statement_timeout` is the search deadline's busy.
#[test]
fn postgres_lock_waits_and_deadlines_are_busy() {
    let options = StoreOptions {
        write_timeout: std::time::Duration::from_millis(200),
        ..StoreOptions::default()
    };
    for b in super::testing::backends_with(options) {
        let Some(schema) = b.schema() else { continue };
        let s = &b.store;
        s.sync_schedule(&schedule("conf", three()), at(0)).unwrap();
        let mut other =
            ::postgres::Client::connect(schema.url().secret(), ::postgres::NoTls).unwrap();
        let mut tx = other.transaction().unwrap();
        tx.execute(
            "SELECT 1 FROM conferences WHERE slug = 'conf' FOR UPDATE",
            &[],
        )
        .unwrap();
        let e = s
            .cancel_session(&slug("conf"), &sid("a"), at(1))
            .unwrap_err();
        assert!(matches!(e, StoreError::Busy(_)), "{e}");
        assert_eq!(
            s.conference(&slug("conf")).unwrap().session_count,
            3,
            "reads go on"
        );
        tx.rollback().unwrap();
        assert_eq!(
            s.cancel_session(&slug("conf"), &sid("a"), at(2)).unwrap(),
            Outcome::Cancelled
        );

        other.batch_execute("SET statement_timeout = 10").unwrap();
        let e = StoreError::from(other.simple_query("SELECT pg_sleep(1)").unwrap_err());
        assert!(
            matches!(&e, StoreError::Busy(c) if c == DEADLINE_PASSED),
            "{e}"
        );
    }
}
