//! The iCalendar feeds, read back from the running app: RFC 5545
//! structure and TEXT escaping, headers and revalidation, errors, event
//! instants read with the feed's *own* VTIMEZONE, the served VTIMEZONE
//! against chrono-tz, the update flow, UIDs, and a second reader (the
//! `icalendar` crate's parser).
//!
//! The feeds are read with the tests' own strict reader
//! (`support/ical.rs`), which shares no code with `src/ical`.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use confcal::ical::vtimezone::transitions;

use crate::helpers::{fixture, repo_path, spawn_app, Resp, TestApp};
use crate::support::ical::{check_lines, parse, text_list, Comp, Prop};
use crate::vtimezone_reader::Vtimezone;

// ---------------------------------------------------------------------------
// Times and the VTIMEZONE interpreter
// ---------------------------------------------------------------------------

/// `20120309T220000Z`.
fn utc_value(v: &str) -> DateTime<Utc> {
    let local = v
        .strip_suffix('Z')
        .unwrap_or_else(|| panic!("not UTC: {v}"));
    local_value(local).and_utc()
}

/// `20120309T140000` (a local or floating DATE-TIME).
fn local_value(v: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
        .unwrap_or_else(|e| panic!("bad DATE-TIME {v:?}: {e}"))
}

/// A VTIMEZONE as RFC 5545 and MS-OXCICAL readers see it (the reader in
/// `tests/support/vtimezone_reader.rs`, which shares no code with confcal).
struct Zone {
    tzid: String,
    block: Vtimezone,
}

impl Zone {
    fn read(c: &Comp) -> Zone {
        let tzid = c.prop("TZID").value.clone();
        let mut lines = vec!["BEGIN:VTIMEZONE".to_owned(), format!("TZID:{tzid}")];
        for o in &c.subs {
            assert!(
                o.name == "STANDARD" || o.name == "DAYLIGHT",
                "{} in VTIMEZONE",
                o.name
            );
            assert!(!o.prop("TZNAME").value.is_empty());
            lines.push(format!("BEGIN:{}", o.name));
            for p in &o.props {
                assert!(p.params.is_empty(), "{} has parameters", p.name);
                lines.push(format!("{}:{}", p.name, p.value));
            }
            lines.push(format!("END:{}", o.name));
        }
        lines.push("END:VTIMEZONE".to_owned());
        let block = Vtimezone::read(&lines, &tzid);
        // Outlook must be able to take it as one rule pair.
        block.outlook_pair();
        Zone { tzid, block }
    }

    /// The offset in force at UTC second `ts`, which RFC 5545 and Outlook
    /// readers must agree on; None before the block's first onset.
    fn offset_at(&self, ts: i64) -> Option<i32> {
        let rfc = self.block.rfc_offset(ts)?;
        assert_eq!(
            rfc,
            self.block.outlook_offset(ts),
            "{} at {ts}: RFC 5545 and MS-OXCICAL readers disagree",
            self.tzid
        );
        Some(rfc as i32)
    }

    /// Every UTC instant whose wall time is `local`, the same for both
    /// readers: one normally, two in a repeated hour, none in a skipped one.
    fn resolve(&self, local: NaiveDateTime) -> Vec<i64> {
        let rfc = self.block.resolve_rfc(local);
        assert_eq!(
            rfc,
            self.block.resolve_outlook(local),
            "{} {local}: RFC 5545 and MS-OXCICAL readers disagree",
            self.tzid
        );
        rfc
    }
}

/// The calendar's VTIMEZONEs by TZID (each TZID once).
fn read_zones(cal: &Comp) -> HashMap<String, Zone> {
    let mut out = HashMap::new();
    for c in cal.subs("VTIMEZONE") {
        let z = Zone::read(c);
        assert!(out.insert(z.tzid.clone(), z).is_none(), "TZID twice");
    }
    out
}

/// A DTSTART/DTEND as an instant: `…Z` is UTC; `TZID=…` is read with the
/// feed's own VTIMEZONE and must name exactly one instant there.
fn instant(p: &Prop, zones: &HashMap<String, Zone>) -> DateTime<Utc> {
    let Some(tzid) = p.param("TZID") else {
        return utc_value(&p.value);
    };
    let zone = zones
        .get(tzid)
        .unwrap_or_else(|| panic!("no VTIMEZONE for TZID {tzid}"));
    let found = zone.resolve(local_value(&p.value));
    assert_eq!(
        found.len(),
        1,
        "{}={tzid}:{} names {found:?} in the feed's VTIMEZONE",
        p.name,
        p.value
    );
    DateTime::from_timestamp(found[0], 0).unwrap()
}

/// chrono-tz's offset (seconds east) at UTC second `ts`.
fn chrono_offset(tz: Tz, ts: i64) -> i32 {
    let t = DateTime::from_timestamp(ts, 0).unwrap().naive_utc();
    tz.offset_from_utc_datetime(&t).fix().local_minus_utc()
}

/// The instant a fixture's time means: with an explicit offset as written
/// (`2012-11-04T01:30-08:00`), otherwise the local time in `tz`, which then
/// must name exactly one instant.
fn fixture_instant(s: &str, tz: Tz) -> DateTime<Utc> {
    if s.len() > 16 {
        return DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M%:z")
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .with_timezone(&Utc);
    }
    let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap();
    tz.from_local_datetime(&local)
        .single()
        .unwrap_or_else(|| panic!("{s} is not one instant in {tz}"))
        .with_timezone(&Utc)
}

/// The JSON API's `2012-03-09T14:00:00-08:00` as an instant.
fn api_instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp"))
        .unwrap()
        .with_timezone(&Utc)
}

/// True when the wall time of `t` in `tz` happens twice (a fall-back hour).
fn ambiguous(tz: Tz, t: DateTime<Utc>) -> bool {
    matches!(
        tz.from_local_datetime(&t.with_timezone(&tz).naive_local()),
        LocalResult::Ambiguous(..)
    )
}

// ---------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------

const FIXTURES: [&str; 6] = [
    "berlin-2026.json",
    "la-2006.json",
    "sydney-2012.json",
    "dst-la-2012.json",
    "lord-howe-2012.json",
    "kolkata-2012.json",
];
const PYCON: &str = "/conferences/pycon-us-2012/sessions.ics";
const JINJA: &str = "Code Generation in Python: Dismantling Jinja";
const JINJA_ICS: &str = "/conferences/pycon-us-2012/sessions/dismantling-jinja.ics";
const UID_HOST: &str = "@127.0.0.1";

/// Feeds checked throughout, as (slug, canonical query).
const FEEDS: &[(&str, &str)] = &[
    ("pycon-us-2012", ""),
    ("pycon-us-2012", "day=2012-03-09&room=E2"),
    ("pycon-us-2012", "q=cassandra"),
    ("dst-lab", ""),
    ("dst-lab", "day=2012-03-11"),
    ("dst-lab", "track=fall-back"),
    ("lhi-2012", ""),
    ("kolkata-2012", ""),
    ("kolkata-2012", "track=i18n"),
    ("pycon-us-2012", "room=Nowhere"),
];

/// The seeded app plus the DST/escaping fixtures.
fn app_with_fixtures() -> TestApp {
    let app = spawn_app();
    for f in FIXTURES {
        let r = app.put_schedule(&fixture(f));
        assert_eq!(r.status, 201, "{f}: {}", r.text());
    }
    app
}

fn feed_path(slug: &str, query: &str) -> String {
    let q = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("/conferences/{slug}/sessions.ics{q}")
}

/// GET that must answer 200 with a calendar.
fn get_ics(app: &TestApp, path: &str) -> Resp {
    let r = app.get(path);
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        r.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    r
}

/// The JSON API's sessions for the same filter, cancelled ones included
/// (feeds keep them).
fn api_sessions(app: &TestApp, slug: &str, query: &str) -> Vec<Value> {
    let sep = if query.is_empty() { "" } else { "&" };
    let r = app.get(&format!(
        "/api/conferences/{slug}/sessions?{query}{sep}status=all"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["sessions"].as_array().unwrap().clone()
}

fn events(cal: &Comp) -> Vec<&Comp> {
    cal.subs("VEVENT").collect()
}

/// The one VEVENT whose unescaped SUMMARY is `title`.
fn event_titled<'a>(cal: &'a Comp, title: &str) -> &'a Comp {
    let found: Vec<&Comp> = cal
        .subs("VEVENT")
        .filter(|e| e.prop("SUMMARY").text() == title)
        .collect();
    assert_eq!(found.len(), 1, "events titled {title:?}");
    found[0]
}

/// Fetches one feed and checks what a feed must carry, against the JSON
/// API: the calendar's properties (name, description, refresh interval,
/// its own URL as SOURCE), a VTIMEZONE for every TZID used, and one VEVENT
/// per session the filter selects with its text, location, categories,
/// status, sequence and change times; returns the parsed calendar.
fn check_feed(app: &TestApp, slug: &str, query: &str) -> Comp {
    let path = feed_path(slug, query);
    let r = get_ics(app, &path);
    check_lines(&r.body);
    let cal = parse(&r.text());
    let conf = app.get(&format!("/api/conferences/{slug}")).json();
    let tz = conf["timezone"].as_str().unwrap();

    // Calendar properties.
    assert_eq!(cal.prop("VERSION").value, "2.0");
    assert!(!cal.prop("PRODID").value.is_empty());
    assert_eq!(cal.prop("CALSCALE").value, "GREGORIAN");
    assert!(cal.opt("METHOD").is_none(), "a feed is not an iTIP message");
    let name = cal.prop("NAME").text();
    assert!(name.starts_with(conf["name"].as_str().unwrap()), "{name}");
    assert_eq!(cal.prop("X-WR-CALNAME").text(), name);
    assert_eq!(cal.prop("X-WR-TIMEZONE").value, tz);
    let desc = cal.prop("DESCRIPTION").text();
    assert!(!desc.is_empty());
    assert_eq!(cal.prop("X-WR-CALDESC").text(), desc);
    let refresh = cal.prop("REFRESH-INTERVAL");
    assert_eq!(
        (refresh.param("VALUE"), refresh.value.as_str()),
        (Some("DURATION"), "PT1H")
    );
    assert_eq!(cal.prop("X-PUBLISHED-TTL").value, "PT1H");
    let source = cal.prop("SOURCE");
    assert_eq!(source.param("VALUE"), Some("URI"));
    assert_eq!(source.value, app.url(&path), "SOURCE is the feed's own URL");
    assert!(cal.prop("URL").value.starts_with(&app.base));

    // VTIMEZONEs: one per TZID used, without DTSTAMP/UID anywhere inside.
    let zones = read_zones(&cal);
    for vtz in cal.subs("VTIMEZONE") {
        for c in std::iter::once(vtz).chain(vtz.subs.iter()) {
            assert!(c.opt("DTSTAMP").is_none() && c.opt("UID").is_none());
        }
    }
    assert!(
        zones.contains_key(tz),
        "no VTIMEZONE for the conference zone"
    );

    // Events, against the JSON API's sessions for the same filter.
    let sessions = api_sessions(app, slug, query);
    assert_eq!(events(&cal).len(), sessions.len(), "{path}");
    for ev in events(&cal) {
        for p in ["DTSTART", "DTEND"] {
            if let Some(tzid) = ev.prop(p).param("TZID") {
                assert!(zones.contains_key(tzid), "no VTIMEZONE for {tzid}");
            }
        }
        for p in [
            "UID",
            "DTSTAMP",
            "LAST-MODIFIED",
            "CREATED",
            "SEQUENCE",
            "DTSTART",
            "DTEND",
            "SUMMARY",
            "DESCRIPTION",
            "LOCATION",
            "URL",
            "STATUS",
        ] {
            ev.prop(p);
        }
    }
    for s in &sessions {
        let ev = event_titled(&cal, s["title"].as_str().unwrap());
        let description = ev.prop("DESCRIPTION").text();
        assert!(
            description.contains(s["abstract"].as_str().unwrap()),
            "abstract missing from {description:?}"
        );
        for speaker in s["speakers"].as_array().unwrap() {
            assert!(description.contains(speaker.as_str().unwrap()));
        }
        assert_eq!(
            ev.prop("LOCATION").text(),
            format!(
                "{}, {}",
                s["room"].as_str().unwrap(),
                conf["venue"].as_str().unwrap()
            )
        );
        let tracks: Vec<String> = serde_json::from_value(s["tracks"].clone()).unwrap();
        match ev.opt("CATEGORIES") {
            Some(c) => assert_eq!(text_list(&c.value), tracks),
            None => assert!(tracks.is_empty(), "no CATEGORIES for {tracks:?}"),
        }
        assert_eq!(
            ev.prop("STATUS").value,
            s["status"].as_str().unwrap().to_uppercase()
        );
        assert_eq!(ev.prop("SEQUENCE").value, s["sequence"].to_string());
        // DTSTAMP and LAST-MODIFIED are the session's last change, not the
        // time of the request.
        let changed = api_instant(&s["last_modified"]);
        assert_eq!(utc_value(&ev.prop("DTSTAMP").value), changed);
        assert_eq!(utc_value(&ev.prop("LAST-MODIFIED").value), changed);
        assert_eq!(
            utc_value(&ev.prop("CREATED").value),
            api_instant(&s["created"])
        );
    }
    cal
}

fn etag(r: &Resp) -> String {
    r.header("etag").expect("ETag").to_owned()
}

fn http_date(r: &Resp, name: &str) -> Option<DateTime<Utc>> {
    let v = r.header(name)?;
    Some(
        DateTime::parse_from_rfc2822(v)
            .unwrap_or_else(|e| panic!("{name} {v:?}: {e}"))
            .with_timezone(&Utc),
    )
}

/// The response's Last-Modified, which must not be later than its Date
/// (RFC 9110 §8.8.2.1).
fn last_modified(r: &Resp) -> DateTime<Utc> {
    let lm = http_date(r, "last-modified").expect("Last-Modified");
    assert!(
        lm <= http_date(r, "date").expect("Date"),
        "Last-Modified after Date"
    );
    lm
}

/// GET once the data's last change is a second old: Last-Modified is only
/// sent once its second is over (so that If-Modified-Since cannot hide a
/// second change made in it), which takes at most a second.
fn get_settled(app: &TestApp, path: &str) -> Resp {
    for _ in 0..40 {
        let r = get_ics(app, path);
        if r.header("last-modified").is_some() {
            return r;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{path}: no Last-Modified two seconds after the last change");
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// 1. Real feeds follow RFC 5545 to the letter, carry every required
///    property, and their text reads back to the data.
#[test]
fn feeds_are_well_formed_and_complete() {
    let app = app_with_fixtures();
    for (slug, query) in FEEDS {
        check_feed(&app, slug, query);
    }

    // A filter given in another order is served under its normalised URL.
    let r = get_ics(
        &app,
        "/conferences/pycon-us-2012/sessions.ics?room=E2&day=2012-03-09&room=E2",
    );
    check_lines(&r.body);
    assert_eq!(
        parse(&r.text()).prop("SOURCE").value,
        app.url("/conferences/pycon-us-2012/sessions.ics?day=2012-03-09&room=E2")
    );

    let cal = check_feed(&app, "pycon-us-2012", "");
    assert_eq!(
        event_titled(&cal, JINJA).prop("LOCATION").text(),
        "E2, Santa Clara Convention Center"
    );

    // Kolkata: commas, semicolons, backslashes, newlines, multi-byte text.
    let doc = fixture("kolkata-2012.json");
    let cal = check_feed(&app, "kolkata-2012", "");
    for s in doc["sessions"].as_array().unwrap() {
        let (title, abstract_) = (
            s["title"].as_str().unwrap(),
            s["abstract"].as_str().unwrap(),
        );
        let ev = event_titled(&cal, title);
        assert_eq!(ev.prop("SUMMARY").text(), title);
        assert!(ev.prop("DESCRIPTION").text().contains(abstract_));
    }
    let tricky = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "escaping-text")
        .unwrap();
    let ev = event_titled(&cal, tricky["title"].as_str().unwrap());
    let summary = &ev.prop("SUMMARY").value;
    for esc in ["\\,", "\\;", "\\\\"] {
        assert!(summary.contains(esc), "{esc} not in {summary}");
    }
    assert!(ev.prop("DESCRIPTION").value.contains("\\n"));
}

/// 2. Content-Type, Content-Disposition, caching headers, HEAD, gzip and
///    brotli.
#[test]
fn feed_headers_head_and_compression() {
    let app = spawn_app();
    let filtered = "/conferences/pycon-us-2012/sessions.ics?day=2012-03-09&room=E2";
    for (path, disposition) in [
        (PYCON, "inline; filename=\"pycon-us-2012.ics\""),
        (
            filtered,
            "inline; filename=\"pycon-us-2012-2012-03-09-e2.ics\"",
        ),
        (JINJA_ICS, "attachment; filename=\"dismantling-jinja.ics\""),
    ] {
        let r = get_settled(&app, path);
        assert_eq!(r.header("content-disposition"), Some(disposition));
        let cache = r.header("cache-control").expect("Cache-Control");
        assert!(
            cache.contains("public") && cache.contains("max-age=300"),
            "{cache}"
        );
        let tag = etag(&r);
        assert!(
            tag.len() > 2
                && tag.starts_with('"')
                && tag.ends_with('"')
                && !tag[1..tag.len() - 1].contains('"'),
            "not a strong quoted ETag: {tag}"
        );
        last_modified(&r);

        let head = app.request("HEAD", path, &[], None);
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(etag(&head), tag, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path} has a body");
    }

    let plain = get_ics(&app, PYCON).body;
    let gz = app.request("GET", PYCON, &[("Accept-Encoding", "gzip")], None);
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert!(gz.body.starts_with(&[0x1f, 0x8b]), "no gzip magic bytes");
    assert_ne!(gz.body, plain);
    let br = app.request("GET", PYCON, &[("Accept-Encoding", "br")], None);
    assert_eq!(br.status, 200);
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert!(!br.body.is_empty());
    assert_ne!(br.body, plain);
    assert!(!br.body.starts_with(b"BEGIN:VCALENDAR"));
}

/// 3. Unknown conference or session: 404; bad filter values: 400 with the
///    field; a filter matching nothing still gives a valid calendar.
#[test]
fn feed_errors_and_empty_feed() {
    let app = spawn_app();
    app.get("/conferences/no-such-conf/sessions.ics")
        .assert_error(404, "conference");
    app.get("/conferences/no-such-conf/sessions/dismantling-jinja.ics")
        .assert_error(404, "conference");
    app.get("/conferences/pycon-us-2012/sessions/no-such-talk.ics")
        .assert_error(404, "session");
    app.get(&format!("{PYCON}?day=friday-ish"))
        .assert_error(400, "day");
    app.get(&format!("{PYCON}?status=all"))
        .assert_error(400, "status");

    let cal = check_feed(&app, "pycon-us-2012", "room=Nowhere");
    assert!(events(&cal).is_empty());
    let tzids: Vec<&str> = cal
        .subs("VTIMEZONE")
        .map(|z| z.prop("TZID").value.as_str())
        .collect();
    assert_eq!(tzids, ["America/Los_Angeles"]);
    assert!(!cal.subs("VTIMEZONE").next().unwrap().subs.is_empty());
}

/// 3b. `status` is not a feed filter: feeds always carry cancelled sessions,
///     so `?status=confirmed` must be refused rather than silently ignored.
#[test]
fn feed_rejects_status_confirmed() {
    let app = spawn_app();
    app.get(&format!("{PYCON}?status=confirmed"))
        .assert_error(400, "status");
}

/// 4. The calendar's name describes the filter.
#[test]
fn calendar_name_describes_the_filter() {
    let app = spawn_app();
    for query in ["day=2012-03-09&room=E2", "room=E2&day=2012-03-09"] {
        let cal = parse(&get_ics(&app, &feed_path("pycon-us-2012", query)).text());
        assert_eq!(
            cal.prop("X-WR-CALNAME").text(),
            "PyCon US 2012 · Friday 9 March · E2"
        );
        assert_eq!(
            cal.prop("NAME").text(),
            "PyCon US 2012 · Friday 9 March · E2"
        );
    }
    let cal = parse(&get_ics(&app, PYCON).text());
    assert_eq!(cal.prop("X-WR-CALNAME").text(), "PyCon US 2012");
}

/// 5. Every event's DTSTART/DTEND, read with the feed's own VTIMEZONE (or
///    as UTC), is the instant the fixture meant; times in a repeated
///    fall-back hour are written in UTC, all others with the IANA TZID.
#[test]
fn event_times_are_the_instants_the_data_meant() {
    let app = app_with_fixtures();
    let mut utc_form: BTreeSet<String> = BTreeSet::new();
    for name in FIXTURES {
        let doc = fixture(name);
        let slug = doc["conference"]["slug"].as_str().unwrap();
        let tz_name = doc["conference"]["timezone"].as_str().unwrap();
        let tz: Tz = tz_name.parse().unwrap();
        let cal = parse(&get_ics(&app, &feed_path(slug, "")).text());
        let zones = read_zones(&cal);
        assert_eq!(zones.keys().collect::<Vec<_>>(), [tz_name]);
        for s in doc["sessions"].as_array().unwrap() {
            let id = s["id"].as_str().unwrap();
            let ev = event_titled(&cal, s["title"].as_str().unwrap());
            // The talk's own .ics, with its own (narrower) VTIMEZONE.
            let single =
                parse(&get_ics(&app, &format!("/conferences/{slug}/sessions/{id}.ics")).text());
            let single_zones = read_zones(&single);
            let single_ev = event_titled(&single, s["title"].as_str().unwrap());
            let mut any_ambiguous = false;
            for (prop, key) in [("DTSTART", "start"), ("DTEND", "end")] {
                let p = ev.prop(prop);
                let want = fixture_instant(s[key].as_str().unwrap(), tz);
                assert_eq!(
                    instant(p, &zones),
                    want,
                    "{slug}/{id} {prop}: {:?}:{}",
                    p.params,
                    p.value
                );
                assert_eq!(
                    instant(single_ev.prop(prop), &single_zones),
                    want,
                    "{slug}/{id}.ics {prop}"
                );
                if ambiguous(tz, want) {
                    any_ambiguous = true;
                    assert!(
                        p.params.is_empty() && p.value.ends_with('Z'),
                        "{slug}/{id} {prop} in a repeated hour must be UTC: {p:?}"
                    );
                    utc_form.insert(format!("{slug}/{id}"));
                }
            }
            if !any_ambiguous {
                for (prop, key) in [("DTSTART", "start"), ("DTEND", "end")] {
                    let p = ev.prop(prop);
                    assert_eq!(p.params.len(), 1, "{slug}/{id} {p:?}");
                    assert_eq!(p.param("TZID"), Some(tz_name), "{slug}/{id} {p:?}");
                    let want = fixture_instant(s[key].as_str().unwrap(), tz);
                    assert_eq!(
                        local_value(&p.value),
                        want.with_timezone(&tz).naive_local(),
                        "{slug}/{id} {prop} wall time"
                    );
                }
            }
        }
    }
    // The fixtures' sessions touching 2012-11-04 01:00–02:00 and
    // 2006-10-29 01:00–02:00 in Los Angeles, 2012-04-01 01:30–02:00 at Lord
    // Howe, 2012-04-01 02:00–03:00 in Sydney and 2026-10-25 02:00–03:00 in
    // Berlin.
    let expected: BTreeSet<String> = [
        "berlin-2026/oct-fall-back",
        "dst-lab/fall-into-repeat",
        "dst-lab/fall-first-0130",
        "dst-lab/fall-repeat-full-hour",
        "dst-lab/fall-second-0130",
        "la-2006/fall-first-0130",
        "la-2006/fall-into-repeat",
        "la-2006/fall-second-0130",
        "lhi-2012/sun-first-0140",
        "lhi-2012/sun-second-0140",
        "sydney-2012/sun-first-0230",
        "sydney-2012/sun-second-0230",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(utc_form, expected);
}

/// 6. Each served VTIMEZONE gives chrono-tz's offset at every hour of the
///    feed's span, and one second either side of each of its onsets.
#[test]
fn served_vtimezones_match_chrono_tz() {
    let app = app_with_fixtures();
    // (path, sessions it holds, conference) for every feed and every talk.
    let mut cases: Vec<(String, Vec<Value>, &str)> = Vec::new();
    for (slug, query) in FEEDS {
        cases.push((
            feed_path(slug, query),
            api_sessions(&app, slug, query),
            slug,
        ));
        if query.is_empty() {
            for s in api_sessions(&app, slug, "") {
                let path = s["ics_url"]
                    .as_str()
                    .unwrap()
                    .strip_prefix(&app.base)
                    .unwrap()
                    .to_owned();
                cases.push((path, vec![s], slug));
            }
        }
    }
    for (path, sessions, slug) in cases {
        let cal = parse(&get_ics(&app, &path).text());
        let (first, last) = if sessions.is_empty() {
            // An empty feed carries the zone for the whole conference.
            let conf = app.get(&format!("/api/conferences/{slug}")).json();
            (api_instant(&conf["start"]), api_instant(&conf["end"]))
        } else {
            let starts = sessions.iter().map(|s| api_instant(&s["start"]));
            let ends = sessions.iter().map(|s| api_instant(&s["end"]));
            (starts.min().unwrap(), ends.max().unwrap())
        };
        let (a, b) = (first.timestamp(), last.timestamp());
        let zones = read_zones(&cal);
        assert!(!zones.is_empty());
        for zone in zones.values() {
            let tz: Tz = zone.tzid.parse().expect("TZID is an IANA name");
            let changes = transitions(tz);
            let probes = (a..=b)
                .step_by(3600)
                .chain([b])
                .chain(
                    changes
                        .iter()
                        .flat_map(|t| [t.at.timestamp() - 1, t.at.timestamp()]),
                )
                .filter(|ts| (a..=b).contains(ts));
            for ts in probes {
                assert_eq!(
                    zone.offset_at(ts),
                    Some(chrono_offset(tz, ts)),
                    "{path}: {} at {}",
                    zone.tzid,
                    DateTime::from_timestamp(ts, 0).unwrap()
                );
            }
        }
    }
}

/// The seed's schedule document and its session `id`, to change and send.
fn seed_session(id: &str) -> (Value, Value) {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("data/pycon-us-2012.json")).unwrap(),
    )
    .unwrap();
    let session = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no session {id} in the seed"))
        .clone();
    (doc, session)
}

/// Writes in quick succession: no response's Last-Modified is ever later
/// than its Date, nor any DTSTAMP/LAST-MODIFIED later than the clock, and
/// a client revalidating with the Last-Modified it was given always sees a
/// change made after its fetch, even within the same second.
#[test]
fn last_modified_is_never_after_date_and_never_hides_a_change() {
    let app = spawn_app();
    let path = "/conferences/pycon-us-2012/sessions/dismantling-jinja.ics";
    let (doc, mut session) = seed_session("dismantling-jinja");
    // Dates each response carried, to revalidate with after later writes.
    let mut held: Vec<String> = Vec::new();
    for i in 0..40 {
        session["title"] = json!(format!("Dismantling Jinja, take {i}"));
        // Every other write is a whole-schedule import.
        let w = if i % 2 == 0 {
            let mut whole = doc.clone();
            for s in whole["sessions"].as_array_mut().unwrap() {
                if s["id"] == "dismantling-jinja" {
                    *s = session.clone();
                }
            }
            app.put_schedule(&whole)
        } else {
            app.admin(
                "PUT",
                "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
                &session,
            )
        };
        assert_eq!(w.status, 200, "{}", w.text());
        // Every date a client holds predates this write: it must not 304.
        for date in &held {
            let r = app.request("GET", path, &[("If-Modified-Since", date)], None);
            assert_eq!(r.status, 200, "If-Modified-Since {date} hid write {i}");
        }
        let r = get_ics(&app, path);
        let date = http_date(&r, "date").expect("Date");
        if let Some(lm) = http_date(&r, "last-modified") {
            assert!(
                lm <= date,
                "write {i}: Last-Modified {lm} after Date {date}"
            );
            held.push(r.header("last-modified").unwrap().to_owned());
        }
        let cal = parse(&r.text());
        let ev = cal.subs("VEVENT").next().expect("the talk");
        for prop in ["DTSTAMP", "LAST-MODIFIED"] {
            let t = utc_value(&ev.prop(prop).value);
            assert!(t <= Utc::now(), "write {i}: {prop} {t} is in the future");
        }
        if i % 10 == 9 {
            // Let a second pass now and then, so some dates settle.
            let settled = get_settled(&app, path);
            held.push(settled.header("last-modified").unwrap().to_owned());
            let r = app.request(
                "GET",
                path,
                &[("If-Modified-Since", held.last().unwrap())],
                None,
            );
            assert_eq!(r.status, 304, "an unchanged talk revalidates by date");
        }
    }
    assert!(!held.is_empty());
}

/// 7. A change through the admin API reaches the feeds: 304 turns into 200,
///    ETag/SEQUENCE/LAST-MODIFIED move; an import that changes nothing
///    changes no byte; a cancellation shows as STATUS:CANCELLED.
#[test]
fn updates_reach_subscribers() {
    let app = spawn_app();
    let filtered = "/conferences/pycon-us-2012/sessions.ics?day=2012-03-09&room=E2";
    let before = get_settled(&app, PYCON);
    let before_e2 = get_ics(&app, filtered);
    let (tag0, lm0) = (etag(&before), last_modified(&before));
    let lm0_header = before.header("last-modified").unwrap().to_owned();
    let cal0 = parse(&before.text());
    let jinja0 = event_titled(&cal0, JINJA);
    assert_eq!(jinja0.prop("SEQUENCE").value, "0");
    let modified0 = utc_value(&jinja0.prop("LAST-MODIFIED").value);

    let inm = |path: &str, tag: &str| app.request("GET", path, &[("If-None-Match", tag)], None);
    let ims =
        |path: &str, date: &str| app.request("GET", path, &[("If-Modified-Since", date)], None);
    for r in [inm(PYCON, &tag0), ims(PYCON, &lm0_header)] {
        assert_eq!(r.status, 304);
        assert!(r.body.is_empty());
        assert_eq!(etag(&r), tag0);
    }
    assert_eq!(inm(filtered, &etag(&before_e2)).status, 304);

    // Move the talk to another room.
    let (doc, mut session) = seed_session("dismantling-jinja");
    session["room"] = json!("E1");
    let r = app.admin(
        "PUT",
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
        &session,
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let r1 = inm(PYCON, &tag0);
    assert_eq!(r1.status, 200);
    assert_eq!(ims(PYCON, &lm0_header).status, 200);
    let r1 = get_settled(&app, PYCON);
    // The talk left the E2 feed, so that feed changed too.
    assert_eq!(inm(filtered, &etag(&before_e2)).status, 200);
    assert_ne!(etag(&r1), tag0);
    assert!(last_modified(&r1) > lm0);
    let cal1 = parse(&r1.text());
    let jinja1 = event_titled(&cal1, JINJA);
    assert_eq!(jinja1.prop("SEQUENCE").value, "1");
    assert!(utc_value(&jinja1.prop("LAST-MODIFIED").value) > modified0);
    assert!(utc_value(&jinja1.prop("DTSTAMP").value) > modified0);
    assert_eq!(
        jinja1.prop("LOCATION").text(),
        "E1, Santa Clara Convention Center"
    );
    assert_eq!(jinja1.prop("UID").value, jinja0.prop("UID").value);

    // Re-importing the same document twice: the second changes nothing.
    assert_eq!(app.put_schedule(&doc).status, 200);
    let first = get_ics(&app, PYCON);
    let r = app.put_schedule(&doc);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["unchanged"], 5, "{}", r.text());
    let second = get_ics(&app, PYCON);
    assert_eq!(second.body, first.body, "a no-op import changed the feed");
    assert_eq!(etag(&second), etag(&first));
    assert_eq!(inm(PYCON, &etag(&first)).status, 304);

    // Cancel a talk: it stays, cancelled, with a higher SEQUENCE.
    let cassandra = "Apache Cassandra and Python";
    let cal = parse(&first.text());
    let seq_before: i64 = event_titled(&cal, cassandra)
        .prop("SEQUENCE")
        .value
        .parse()
        .unwrap();
    let r = app.admin(
        "DELETE",
        "/api/conferences/pycon-us-2012/sessions/apache-cassandra-and-python",
        &Value::Null,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let feed = get_ics(&app, PYCON);
    assert_ne!(etag(&feed), etag(&first));
    let cal = parse(&feed.text());
    // Outlook shows cancelled events as normal ones: the title says it.
    let ev = event_titled(&cal, &format!("Cancelled: {cassandra}"));
    assert_eq!(ev.prop("STATUS").value, "CANCELLED");
    assert!(ev
        .prop("DESCRIPTION")
        .text()
        .starts_with("This session has been cancelled."));
    let seq: i64 = ev.prop("SEQUENCE").value.parse().unwrap();
    assert!(seq > seq_before, "{seq} <= {seq_before}");
    let single = parse(
        &get_ics(
            &app,
            "/conferences/pycon-us-2012/sessions/apache-cassandra-and-python.ics",
        )
        .text(),
    );
    let one = events(&single);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].prop("STATUS").value, "CANCELLED");
    assert_eq!(one[0].prop("SEQUENCE").value, seq.to_string());
    assert_eq!(one[0].prop("UID").value, ev.prop("UID").value);
}

/// 8. A session has one UID everywhere; UIDs are distinct, also across
///    conferences that reuse session ids, and name the host.
#[test]
fn uids_are_stable_and_unique() {
    let app = app_with_fixtures();
    let whole = parse(&get_ics(&app, PYCON).text());
    let e2 = parse(&get_ics(&app, &feed_path("pycon-us-2012", "day=2012-03-09&room=E2")).text());
    let uid = |cal: &Comp| event_titled(cal, JINJA).prop("UID").value.clone();
    assert_eq!(uid(&whole), uid(&e2));
    // Every talk's own .ics (at the URL the JSON API gives) has its UID.
    for s in api_sessions(&app, "pycon-us-2012", "") {
        let path = s["ics_url"]
            .as_str()
            .unwrap()
            .strip_prefix(&app.base)
            .unwrap();
        let single = parse(&get_ics(&app, path).text());
        let title = s["title"].as_str().unwrap();
        assert_eq!(events(&single).len(), 1);
        assert_eq!(
            event_titled(&single, title).prop("UID").value,
            event_titled(&whole, title).prop("UID").value
        );
    }

    let mut everywhere = BTreeSet::new();
    for (slug, query) in FEEDS {
        let cal = parse(&get_ics(&app, &feed_path(slug, query)).text());
        let uids: Vec<String> = events(&cal)
            .iter()
            .map(|e| e.prop("UID").value.clone())
            .collect();
        let distinct: BTreeSet<&String> = uids.iter().collect();
        assert_eq!(
            distinct.len(),
            uids.len(),
            "duplicate UID in {slug}?{query}"
        );
        for u in &uids {
            assert!(u.ends_with(UID_HOST), "{u}");
        }
        if query.is_empty() {
            everywhere.extend(uids);
        }
    }
    // dst-lab and lhi-2012 both have sat-morning, sun-morning, mon-morning.
    let total: usize = ["pycon-us-2012", "dst-lab", "lhi-2012", "kolkata-2012"]
        .iter()
        .map(|slug| api_sessions(&app, slug, "").len())
        .sum();
    assert_eq!(everywhere.len(), total, "UIDs shared across conferences");
}

/// 9. The `icalendar` crate's parser, a second reader, reads every served
///    feed with as many VEVENTs as the JSON API lists, and the same titles.
#[test]
fn icalendar_crate_reads_every_feed() {
    let app = app_with_fixtures();
    let mut paths: Vec<(String, String, String)> = FEEDS
        .iter()
        .map(|(slug, q)| (feed_path(slug, q), slug.to_string(), q.to_string()))
        .collect();
    paths.push((JINJA_ICS.to_owned(), String::new(), String::new()));
    for (path, slug, query) in paths {
        let text = get_ics(&app, &path).text();
        let unfolded = icalendar::parser::unfold(&text);
        let cal =
            icalendar::parser::read_calendar(&unfolded).unwrap_or_else(|e| panic!("{path}: {e}"));
        let titles: BTreeSet<String> = cal
            .components
            .iter()
            .filter(|c| c.name == "VEVENT")
            .map(|c| {
                c.find_prop("SUMMARY")
                    .expect("SUMMARY")
                    .val
                    .as_str()
                    .to_owned()
            })
            .collect();
        let vevents = cal.components.iter().filter(|c| c.name == "VEVENT").count();
        assert!(cal.components.iter().any(|c| c.name == "VTIMEZONE"));
        if slug.is_empty() {
            assert_eq!((vevents, titles.len()), (1, 1));
            assert!(titles.contains(JINJA));
            continue;
        }
        let sessions = api_sessions(&app, &slug, &query);
        assert_eq!(vevents, sessions.len(), "{path}");
        let want: BTreeSet<String> = sessions
            .iter()
            .map(|s| s["title"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(titles, want, "{path}");
    }
}
