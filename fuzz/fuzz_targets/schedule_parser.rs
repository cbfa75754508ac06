//! Any bytes as a schedule document: parsing and validation never panic,
//! the admin API's parser (`parse_document`) and `confcal import`'s
//! streaming one (`read_document`) agree on what is a document, and a
//! document that validates survives export and feeds with well-formed lines.
//!
//! `cargo +nightly fuzz run schedule_parser` (seed it with `data/` and
//! `tests/corpus/documents/`).

#![no_main]

use libfuzzer_sys::fuzz_target;

use confcal::domain::schedule::{parse_document, read_document, ScheduleDocument};
use confcal::domain::{FeedOptions, SessionRecord, Site, Status};
use confcal::ical::feed::{render_with, CalendarMeta, Event};

fuzz_target!(|data: &[u8]| {
    let parsed = parse_document(data);
    let streamed = read_document(data);
    assert_eq!(
        parsed.is_ok(),
        streamed.is_ok(),
        "parse_document and read_document disagree: {:?} vs {:?}",
        parsed.as_ref().err(),
        streamed.as_ref().err()
    );
    let Ok(doc) = parsed else { return };
    let Ok(schedule) = doc.validate() else { return };

    // Export gives back a document that validates to the same schedule.
    let again = ScheduleDocument::from_schedule(&schedule)
        .validate()
        .expect("an exported schedule validates");
    assert_eq!(again, schedule, "export round trip");

    // Its feed renders with CRLF lines of at most 75 octets.
    if schedule.sessions.is_empty() || schedule.sessions.len() > 200 {
        return;
    }
    let records: Vec<SessionRecord> = schedule
        .sessions
        .iter()
        .map(|s| SessionRecord {
            data: s.clone(),
            status: Status::Confirmed,
            sequence: 0,
            created: s.start,
            last_modified: s.start,
        })
        .collect();
    let events: Vec<Event<'_>> = records
        .iter()
        .map(|r| Event {
            conference: &schedule.conference,
            session: r,
        })
        .collect();
    let first = records.iter().map(|r| r.data.start).min().unwrap();
    let last = records.iter().map(|r| r.data.end).max().unwrap();
    let meta = CalendarMeta {
        name: schedule.conference.name.clone(),
        description: "fuzz".into(),
        source_url: "https://fuzz.example/feed.ics".into(),
        page_url: "https://fuzz.example/".into(),
        tz: schedule.conference.tz,
        empty_window: (first, last),
        color: schedule.conference.color.clone(),
    };
    let site = Site {
        base_url: "https://fuzz.example".into(),
        uid_host: "fuzz.example".into(),
    };
    // Full, and with every rendering option on.
    for options in [
        FeedOptions::default(),
        FeedOptions {
            alarm: Some(15),
            compact: true,
        },
    ] {
        let body = render_with(&meta, &events, &site, options);
        let text = std::str::from_utf8(&body).expect("UTF-8 feed");
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        for line in text.split_terminator("\r\n") {
            assert!(line.len() <= 75, "line of {} octets: {line:?}", line.len());
            assert!(!line.contains(['\r', '\n']), "bare CR/LF in {line:?}");
        }
        let vevents = text
            .split_terminator("\r\n")
            .filter(|l| *l == "BEGIN:VEVENT")
            .count();
        assert_eq!(vevents, schedule.sessions.len(), "one VEVENT per session");
    }
});
