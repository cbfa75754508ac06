//! Property tests of the whole feed path, through the library's public API
//! only (`confcal::ical::feed::render`), read back by a tiny independent
//! reader written here:
//!
//! - any text as an abstract comes back from DESCRIPTION unchanged (after
//!   CR/CRLF → LF and dropping the control characters TEXT cannot carry),
//!   and every physical line is at most 75 octets;
//! - for any zone in chrono-tz and any minute in 1970–2099, a session
//!   starting then is read back at the same instant: DTSTART;TZID resolved
//!   with the feed's own VTIMEZONE as RFC 5545 reads it and as Outlook
//!   does (MS-OXCICAL, see `support/vtimezone_reader.rs`), or DTSTART in UTC.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::{Tz, TZ_VARIANTS};
use proptest::prelude::*;

use confcal::domain::{
    Conference, ConferenceSlug, SessionData, SessionId, SessionRecord, Site, Status,
};
use confcal::ical::feed::{render, CalendarMeta, Event};
use confcal::ical::vtimezone::transitions;
use confcal::ical::writer::representable;
use reader::Vtimezone;

#[path = "support/vtimezone_reader.rs"]
#[allow(dead_code)]
mod reader;

const BASE: &str = "https://confcal.example";

fn conference(tz: Tz) -> Conference {
    Conference {
        slug: ConferenceSlug::parse("prop-conf").unwrap(),
        name: "Prop Conf".into(),
        tz,
        venue: None,
        url: None,
        address: None,
        geo: None,
        color: None,
    }
}

fn session(start: DateTime<Utc>, end: DateTime<Utc>, abstract_: String) -> SessionRecord {
    SessionRecord {
        data: SessionData {
            id: SessionId::parse("talk").unwrap(),
            title: "Talk".into(),
            speakers: vec![],
            start,
            end,
            room: None,
            tracks: vec![],
            abstract_,
            notes: None,
            url: None,
            kind: None,
            links: vec![],
            language: None,
        },
        status: Status::Confirmed,
        sequence: 0,
        created: start,
        last_modified: start,
    }
}

/// One session's feed, as text.
fn feed(conf: &Conference, s: &SessionRecord) -> String {
    let meta = CalendarMeta {
        name: "Props".into(),
        description: "Property tests".into(),
        source_url: format!("{BASE}/feed.ics"),
        page_url: format!("{BASE}/"),
        tz: conf.tz,
        empty_window: (s.data.start, s.data.end),
        color: None,
    };
    let site = Site {
        base_url: BASE.into(),
        uid_host: "confcal.example".into(),
    };
    let body = render(
        &meta,
        &[Event {
            conference: conf,
            session: s,
        }],
        &site,
    );
    String::from_utf8(body.to_vec()).expect("UTF-8 feed")
}

/// Every physical line is CRLF-terminated, has no other CR or LF, and is
/// at most 75 octets; returns the logical (unfolded) lines.
fn logical_lines(feed: &str) -> Vec<String> {
    assert!(feed.ends_with("\r\n"), "unterminated feed");
    let mut out: Vec<String> = Vec::new();
    for line in feed.split_terminator("\r\n") {
        assert!(line.len() <= 75, "line of {} octets: {line:?}", line.len());
        assert!(!line.contains(['\r', '\n']), "bare CR/LF in {line:?}");
        match line.strip_prefix([' ', '\t']) {
            Some(rest) => out.last_mut().expect("continuation first").push_str(rest),
            None => out.push(line.to_owned()),
        }
    }
    out
}

/// RFC 5545 §3.3.11, read strictly: only `\\ \; \, \n \N` are escapes.
fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some(';') => out.push(';'),
            Some(',') => out.push(','),
            Some('n' | 'N') => out.push('\n'),
            other => panic!("bad escape \\{other:?} in {v:?}"),
        }
    }
    out
}

/// The value of the first `name` property inside the VEVENT.
fn event_prop<'a>(lines: &'a [String], name: &str) -> (&'a str, &'a str) {
    let start = lines.iter().position(|l| l == "BEGIN:VEVENT").unwrap();
    lines[start..]
        .iter()
        .find_map(|l| {
            let (head, value) = l.split_once(':')?;
            let prop = head.split(';').next()?;
            (prop == name).then_some((head, value))
        })
        .unwrap_or_else(|| panic!("no {name} in the VEVENT"))
}

/// Text that stresses escaping and folding: escapes, line breaks, controls,
/// multi-byte characters, all in runs long enough to cross fold points.
fn nasty_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\\".to_owned()),
        Just(";".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\r".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\t".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\u{1b}".to_owned()),
        Just("\u{7f}".to_owned()),
        Just("\u{85}".to_owned()),
        Just("é".to_owned()),
        Just("€".to_owned()),
        Just("🎉".to_owned()),
        Just("BEGIN:VEVENT".to_owned()),
        Just(" ".to_owned()),
        "[a-z]{1,80}",
    ];
    prop::collection::vec(piece, 0..120).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// (a) Any text survives the whole feed path as the DESCRIPTION.
    #[test]
    fn any_abstract_round_trips_through_the_feed(
        text in prop_oneof![any::<String>(), nasty_text()]
    ) {
        let conf = conference(chrono_tz::UTC);
        let t = Utc.with_ymd_and_hms(2030, 5, 1, 9, 0, 0).unwrap();
        let s = session(t, t + Duration::hours(1), text.clone());
        let out = feed(&conf, &s);
        let lines = logical_lines(&out);
        let (_, raw) = event_prop(&lines, "DESCRIPTION");
        let tail = format!("Prop Conf — {BASE}/conferences/prop-conf/sessions/talk");
        let want = if text.is_empty() {
            tail
        } else {
            format!("{}\n\n{tail}", representable(&text))
        };
        prop_assert_eq!(&unescape(raw), &want);
        // A second reader: the icalendar crate agrees.
        let unfolded = icalendar::parser::unfold(&out);
        let cal = icalendar::parser::read_calendar(&unfolded)
            .map_err(|e| TestCaseError::fail(format!("icalendar: {e}")))?;
        let events: Vec<_> = cal.components.iter().filter(|c| c.name == "VEVENT").collect();
        prop_assert_eq!(events.len(), 1);
        prop_assert_eq!(events[0].find_prop("DESCRIPTION").unwrap().val.as_str(), want.as_str());
    }

    /// (b) Any zone, any minute: DTSTART/DTEND give back the instants.
    #[test]
    fn any_instant_in_any_zone_reads_back(
        zone in 0..TZ_VARIANTS.len(),
        minute in 0i64..(130 * 365 * 24 * 60),
        near_change in any::<Option<(prop::sample::Index, i64)>>(),
        length in 1i64..(12 * 60),
    ) {
        let tz = TZ_VARIANTS[zone];
        let mut start = DateTime::from_timestamp(minute * 60, 0).unwrap();
        // Half the cases start within three hours of one of the zone's
        // changes of offset (gaps, repeated hours), where bugs live.
        let changes: Vec<DateTime<Utc>> = transitions(tz)
            .iter()
            .map(|t| t.at)
            .filter(|&at| at >= first_minute() && at < last_minute())
            .collect();
        if let (Some((pick, delta)), false) = (near_change, changes.is_empty()) {
            let at = *pick.get(&changes);
            start = at - Duration::seconds(at.timestamp() % 60)
                + Duration::minutes(delta % 180);
        }
        let end = start + Duration::minutes(length);
        let out = feed(&conference(tz), &session(start, end, String::new()));
        let lines = logical_lines(&out);
        let zone_rules = Vtimezone::read(&lines, tz.name());
        for (name, want) in [("DTSTART", start), ("DTEND", end)] {
            let (head, value) = event_prop(&lines, name);
            let got = if let Some(utc) = value.strip_suffix('Z') {
                prop_assert_eq!(head, name);
                Utc.from_utc_datetime(&local(utc))
            } else {
                prop_assert_eq!(head, format!("{name};TZID={}", tz.name()));
                // As RFC 5545 reads the block, and as Outlook does.
                let want = want.timestamp();
                let found = zone_rules.resolve_rfc(local(value));
                prop_assert_eq!(&found, &vec![want], "RFC 5545: {} {} {:?}", tz.name(), name, value);
                let found = zone_rules.resolve_outlook(local(value));
                prop_assert_eq!(&found, &vec![want], "MS-OXCICAL: {} {} {:?}", tz.name(), name, value);
                DateTime::from_timestamp(want, 0).unwrap()
            };
            prop_assert_eq!(got, want, "{} {}: {}", tz.name(), name, value);
        }
    }
}

fn first_minute() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1970, 1, 1, 3, 0, 0).unwrap()
}

fn last_minute() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2099, 12, 31, 0, 0, 0).unwrap()
}

fn local(v: &str) -> NaiveDateTime {
    reader::parse_local(v)
}
