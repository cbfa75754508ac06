//! Session kinds, links, a venue that opens a map, calendar colours,
//! opt-in reminders, compact feeds and the "Cancelled: " prefix, through
//! the running app: schedule documents in, feeds, JSON and pages out.
//!
//! The feeds are read with the tests' own strict reader
//! (`support/ical.rs`: quoted parameters, RFC 6868 carets, TEXT escapes),
//! which shares no code with `src/ical`.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Resp, TestApp};
use crate::support::ical::Cal;

fn ics(app: &TestApp, path: &str) -> (Resp, Cal) {
    let r = app.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    let cal = Cal::read(&r.body);
    // Every feed also reads with a second parser.
    let text = r.text();
    icalendar::parser::read_calendar(&icalendar::parser::unfold(&text))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    (r, cal)
}

// ---------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------

const ADDRESS: &str = "5001 Great America Pkwy, Santa Clara, CA 95054";

/// A conference using every new field, with sessions of each kind and one
/// without a kind.
fn conf_doc() -> Value {
    json!({
        "conference": {"slug": "fields", "name": "Fields Conf", "timezone": "America/Los_Angeles",
                       "venue": "Santa Clara Convention Center", "url": null,
                       "address": ADDRESS, "geo": {"lat": 37.4039, "lon": -121.974},
                       "color": "#1E90FF"},
        "sessions": [
            {"id": "opening", "title": "Opening keynote", "speakers": ["Ada Lovelace"],
             "start": "2012-03-09T09:00", "end": "2012-03-09T09:45", "room": "E2",
             "abstract": "Welcome to the conference. We start with the future.", "kind": "keynote",
             "links": [{"title": "Slides", "url": "https://example.com/slides.pdf"},
                       {"title": "Video; with \"quotes\", commas", "url": "https://example.com/v?a=1&b=2"}]},
            {"id": "coffee", "title": "Coffee", "start": "2012-03-09T09:45", "end": "2012-03-09T10:00",
             "kind": "break"},
            {"id": "jinja", "title": "Dismantling Jinja", "speakers": ["Armin Ronacher"],
             "start": "2012-03-09T10:00", "end": "2012-03-09T10:40", "room": "E1",
             "abstract": "Code generation.", "kind": "talk", "notes": "Bring a laptop.",
             "url": "https://example.com/jinja"},
            {"id": "untyped", "title": "A session of no kind", "start": "2012-03-09T11:00",
             "end": "2012-03-09T11:30"}
        ]
    })
}

fn app_with_fields() -> TestApp {
    let app = spawn_app();
    let r = app.put_schedule(&conf_doc());
    assert_eq!(r.status, 201, "{}", r.text());
    app
}

const FEED: &str = "/conferences/fields/sessions.ics";

fn api_ids(app: &TestApp, query: &str) -> Vec<String> {
    app.ids(&format!("/api/conferences/fields/sessions?{query}"))
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// `alarm=N` adds one DISPLAY VALARM per event N minutes before, on the
/// conference feed, a single talk and an agenda; never by default and
/// never on a cancelled event; bad values are 400s naming `alarm`.
#[test]
fn alarms_only_when_asked() {
    let app = app_with_fields();
    let r = app.admin(
        "DELETE",
        "/api/conferences/fields/sessions/coffee",
        &Value::Null,
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let (plain, cal) = ics(&app, FEED);
    assert!(cal.events.iter().all(|e| e.alarms.is_empty()));
    assert!(!plain.text().contains("VALARM"));

    let (with, cal) = ics(&app, &format!("{FEED}?alarm=15"));
    assert_ne!(with.header("etag"), plain.header("etag"));
    for e in &cal.events {
        if e.get("STATUS").value == "CANCELLED" {
            assert!(e.alarms.is_empty(), "alarm on a cancelled event");
            continue;
        }
        assert_eq!(e.alarms.len(), 1, "{:?}", e.get("UID"));
        let a = &e.alarms[0];
        let get = |n: &str| {
            a.iter()
                .find(|p| p.name == n)
                .unwrap_or_else(|| panic!("{n}"))
        };
        assert_eq!(get("ACTION").value, "DISPLAY");
        assert_eq!(get("TRIGGER").value, "-PT15M");
        assert_eq!(get("DESCRIPTION").text(), e.get("SUMMARY").text());
    }
    assert_eq!(cal.event("opening").alarms.len(), 1);
    assert!(cal.event("coffee").alarms.is_empty());
    // SOURCE is this very URL, and reading it gives the same calendar.
    let source = cal.get("SOURCE").unwrap().value.clone();
    assert_eq!(source, app.url(&format!("{FEED}?alarm=15")));
    let again = app.get(source.strip_prefix(&app.base).unwrap());
    assert_eq!(again.body, with.body);
    // With a filter, both keep their place in the URL.
    let (_, cal) = ics(&app, &format!("{FEED}?alarm=5&room=E2"));
    assert_eq!(
        cal.get("SOURCE").unwrap().value,
        app.url(&format!("{FEED}?room=E2&alarm=5"))
    );

    // A single talk, and the edges of the range.
    let (_, cal) = ics(&app, "/conferences/fields/sessions/jinja.ics?alarm=0");
    assert_eq!(cal.events[0].alarms[0][2].value, "-PT0M");
    assert_eq!(
        cal.get("SOURCE").unwrap().value,
        app.url("/conferences/fields/sessions/jinja.ics?alarm=0")
    );
    let (_, cal) = ics(&app, "/conferences/fields/sessions/jinja.ics");
    assert!(cal.events[0].alarms.is_empty());

    // An agenda feed.
    let token = app.request("POST", "/api/agendas", &[], None).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for id in ["jinja", "coffee"] {
        let r = app.request(
            "PUT",
            &format!("/api/agendas/{token}/sessions/fields/{id}"),
            &[],
            None,
        );
        assert_eq!(r.status, 200);
    }
    let (_, cal) = ics(&app, &format!("/agendas/{token}.ics?alarm=1440"));
    assert_eq!(cal.event("jinja").alarms.len(), 1);
    assert!(cal.event("coffee").alarms.is_empty());
    let trigger = &cal.event("jinja").alarms[0];
    assert!(trigger
        .iter()
        .any(|p| p.name == "TRIGGER" && p.value == "-PT1440M"));
    let (_, cal) = ics(&app, &format!("/agendas/{token}.ics"));
    assert!(cal.events.iter().all(|e| e.alarms.is_empty()));

    for path in [
        format!("{FEED}?alarm=1441"),
        format!("{FEED}?alarm=-5"),
        format!("{FEED}?alarm=ten"),
        format!("{FEED}?alarm="),
        format!("{FEED}?alarm=5&alarm=6"),
        "/conferences/fields/sessions/jinja.ics?alarm=2.5".into(),
        format!("/agendas/{token}.ics?alarm=99999"),
    ] {
        app.get(&path).assert_error(400, "alarm");
    }
    // Single talks and agendas take options only: anything else is named.
    app.get("/conferences/fields/sessions/jinja.ics?room=E1")
        .assert_error(400, "room");
    app.get(&format!("/agendas/{token}.ics?alarms=5"))
        .assert_error(400, "alarms");
    // The JSON API is no feed: alarm is an unknown filter there.
    app.get("/api/conferences/fields/sessions?alarm=5")
        .assert_error(400, "alarm");
}

/// `kind=` (OR) and `not_kind=` on the API, the feeds and the pages;
/// sessions without a kind match no `kind=` and pass every `not_kind=`.
#[test]
fn kind_filters_everywhere() {
    let app = app_with_fields();
    assert_eq!(api_ids(&app, "kind=talk"), ["jinja"]);
    assert_eq!(
        api_ids(&app, "kind=talk&kind=keynote"),
        ["opening", "jinja"]
    );
    assert_eq!(api_ids(&app, "kind=Talk"), ["jinja"], "case-insensitive");
    assert_eq!(
        api_ids(&app, "not_kind=break"),
        ["opening", "jinja", "untyped"]
    );
    assert_eq!(
        api_ids(&app, "not_kind=break&not_kind=keynote"),
        ["jinja", "untyped"]
    );
    assert_eq!(
        api_ids(&app, "kind=talk&not_kind=talk"),
        Vec::<String>::new()
    );
    assert_eq!(api_ids(&app, "kind=workshop"), Vec::<String>::new());
    let s = app.get("/api/conferences/fields/sessions/opening").json();
    assert_eq!(s["kind"], "keynote");
    let s = app.get("/api/conferences/fields/sessions/untyped").json();
    assert_eq!(s["kind"], Value::Null);
    assert_eq!(s["links"], json!([]));
    app.get("/api/conferences/fields/sessions?kind=coffee+break")
        .assert_error(400, "kind");
    app.get("/api/conferences/fields/sessions?not_kind=")
        .assert_error(400, "not_kind");

    let (r, cal) = ics(&app, &format!("{FEED}?not_kind=break"));
    assert_eq!(cal.ids(), ["opening", "jinja", "untyped"]);
    assert_eq!(
        cal.get("NAME").unwrap().text(),
        "Fields Conf · without break"
    );
    assert_eq!(
        r.header("content-disposition"),
        Some("inline; filename=\"fields-without-break.ics\"")
    );
    let (r, cal) = ics(
        &app,
        &format!("{FEED}?kind=talk&kind=keynote&not_kind=break"),
    );
    assert_eq!(cal.ids(), ["opening", "jinja"]);
    assert_eq!(
        cal.get("NAME").unwrap().text(),
        "Fields Conf · keynote or talk · without break"
    );
    assert_eq!(
        cal.get("SOURCE").unwrap().value,
        app.url(&format!("{FEED}?kind=keynote&kind=talk&not_kind=break"))
    );
    assert_eq!(
        r.header("content-disposition"),
        Some("inline; filename=\"fields-keynote-talk-without-break.ics\"")
    );
    app.get(&format!("{FEED}?kind=Coffee_Break"))
        .assert_error(400, "kind");

    // Pages: the same sessions, the kind shown, a way to remove the filter.
    let r = app.get("/conferences/fields?not_kind=break");
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    for id in ["opening", "jinja", "untyped"] {
        assert!(html.contains(&format!("id=\"s-{id}\"")), "{id}");
    }
    assert!(!html.contains("id=\"s-coffee\""));
    assert!(html.contains("Hiding: break"));
    let r = app.get("/conferences/fields?kind=keynote");
    let html = r.text();
    assert!(html.contains("id=\"s-opening\""));
    assert!(!html.contains("id=\"s-jinja\""));
    assert!(html.contains("<span class=\"badge kind\">keynote</span>"));
    assert!(
        html.contains("<option value=\"keynote\" selected>"),
        "kind choice"
    );
    let r = app.get("/conferences/fields/sessions/coffee");
    assert!(r.text().contains("<span class=\"badge kind\">break</span>"));
    assert_eq!(app.get("/conferences/fields?kind=No+Such").status, 400);
}

/// Links: in DESCRIPTION after the abstract, one a line, before the
/// trailing page line; on the pages and in the JSON API.
#[test]
fn links_in_description_pages_and_api() {
    let app = app_with_fields();
    let (_, cal) = ics(&app, FEED);
    let desc = cal.event("opening").get("DESCRIPTION").text();
    let page = app.url("/conferences/fields/sessions/opening");
    assert_eq!(
        desc,
        format!(
            "by Ada Lovelace\n\nWelcome to the conference. We start with the future.\n\n\
             Slides: https://example.com/slides.pdf\n\
             Video; with \"quotes\", commas: https://example.com/v?a=1&b=2\n\n\
             Fields Conf — {page}"
        )
    );
    // A session without links reads as it always did.
    let desc = cal.event("jinja").get("DESCRIPTION").text();
    assert_eq!(
        desc,
        format!(
            "by Armin Ronacher\n\nCode generation.\n\nNote: Bring a laptop.\n\n\
             https://example.com/jinja\n\nFields Conf — {}",
            app.url("/conferences/fields/sessions/jinja")
        )
    );

    let s = app.get("/api/conferences/fields/sessions/opening").json();
    assert_eq!(
        s["links"],
        json!([{"title": "Slides", "url": "https://example.com/slides.pdf"},
               {"title": "Video; with \"quotes\", commas", "url": "https://example.com/v?a=1&b=2"}])
    );
    let html = app.get("/conferences/fields/sessions/opening").text();
    assert!(
        html.contains("<ul class=\"links session-links\">"),
        "{html}"
    );
    assert!(html.contains(">Slides</a>"));
    assert!(
        html.contains("Video; with &quot;quotes&quot;, commas</a>"),
        "{html}"
    );
    assert!(html.contains("slides.pdf"));
    // The light list leaves links (like abstracts) to the talk page it
    // links to.
    let html = app.get("/conferences/fields").text();
    assert!(!html.contains(">Slides</a>"));
    assert!(html.contains("href=\"/conferences/fields/sessions/"));
}

/// LOCATION is room, venue, address; GEO and Apple's structured location
/// carry the point, its X-TITLE exactly the LOCATION text.
#[test]
fn venue_opens_a_map() {
    let app = app_with_fields();
    let (_, cal) = ics(&app, FEED);
    let e = cal.event("opening");
    let location = e.get("LOCATION").text();
    assert_eq!(
        location,
        format!("E2, Santa Clara Convention Center, {ADDRESS}")
    );
    assert_eq!(e.get("GEO").value, "37.4039;-121.974");
    let apple = e.get("X-APPLE-STRUCTURED-LOCATION");
    assert_eq!(apple.param("VALUE"), Some("URI"));
    assert_eq!(apple.param("X-TITLE"), Some(location.as_str()));
    assert_eq!(apple.param("X-ADDRESS"), Some(ADDRESS));
    assert!(
        apple
            .param("X-APPLE-RADIUS")
            .unwrap()
            .parse::<f64>()
            .unwrap()
            > 0.0
    );
    assert_eq!(apple.value, "geo:37.4039,-121.974");
    // Without a room: venue and address only, the title still equal.
    let e = cal.event("coffee");
    let location = e.get("LOCATION").text();
    assert_eq!(
        location,
        format!("Santa Clara Convention Center, {ADDRESS}")
    );
    assert_eq!(
        e.get("X-APPLE-STRUCTURED-LOCATION").param("X-TITLE"),
        Some(location.as_str())
    );

    // Titles that need quoting and carets still read back exactly.
    let mut doc = conf_doc();
    doc["conference"]["venue"] = json!("The \"Hall\"; North ^ Wing: Level 2");
    doc["conference"]["address"] = Value::Null;
    assert_eq!(app.put_schedule(&doc).status, 200);
    let (_, cal) = ics(&app, FEED);
    let e = cal.event("jinja");
    let location = e.get("LOCATION").text();
    assert_eq!(location, "E1, The \"Hall\"; North ^ Wing: Level 2");
    let apple = e.get("X-APPLE-STRUCTURED-LOCATION");
    assert_eq!(apple.param("X-TITLE"), Some(location.as_str()));
    assert_eq!(apple.param("X-ADDRESS"), None);

    // The conference page shows the address and links to a map.
    let mut doc = conf_doc();
    doc["conference"]["name"] = json!("Fields Conf");
    assert_eq!(app.put_schedule(&doc).status, 200);
    let html = app.get("/conferences/fields").text();
    assert!(html.contains(ADDRESS), "address on the page");
    assert!(html.contains("id=\"venue-map\""));
    assert!(html.contains("mlat=37.4039"));

    // Today's data: no GEO, no structured location.
    let (_, cal) = ics(&app, "/conferences/pycon-us-2012/sessions.ics");
    assert!(cal
        .events
        .iter()
        .all(|e| e.opt("GEO").is_none() && e.opt("X-APPLE-STRUCTURED-LOCATION").is_none()));
    let c = app.get("/api/conferences/fields").json();
    assert_eq!(c["address"], ADDRESS);
    assert_eq!(c["geo"], json!({"lat": 37.4039, "lon": -121.974}));
    assert_eq!(c["color"], "#1e90ff");
}

/// The conference colour: COLOR as the nearest CSS3 name (RFC 7986 §5.9
/// takes names only), X-APPLE-CALENDAR-COLOR as `#rrggbb`. Changing it
/// changes the feed but sends no event again.
#[test]
fn calendar_colour() {
    let app = app_with_fields();
    let (before, cal) = ics(&app, FEED);
    assert_eq!(cal.get("COLOR").unwrap().value, "dodgerblue");
    assert_eq!(cal.get("X-APPLE-CALENDAR-COLOR").unwrap().value, "#1e90ff");
    let (_, single) = ics(&app, "/conferences/fields/sessions/jinja.ics");
    assert_eq!(single.get("COLOR").unwrap().value, "dodgerblue");
    let seqs: Vec<String> = cal
        .events
        .iter()
        .map(|e| e.get("SEQUENCE").value.clone())
        .collect();

    let mut doc = conf_doc();
    doc["conference"]["color"] = json!("#FE0102");
    let r = app.put_schedule(&doc);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["updated"], 0, "{}", r.text());
    let (after, cal) = ics(&app, FEED);
    assert_ne!(after.header("etag"), before.header("etag"));
    assert_eq!(cal.get("COLOR").unwrap().value, "red");
    assert_eq!(cal.get("X-APPLE-CALENDAR-COLOR").unwrap().value, "#fe0102");
    let after_seqs: Vec<String> = cal
        .events
        .iter()
        .map(|e| e.get("SEQUENCE").value.clone())
        .collect();
    assert_eq!(after_seqs, seqs);

    // No colour, no colour properties (today's data).
    let (_, cal) = ics(&app, "/conferences/pycon-us-2012/sessions.ics");
    assert!(cal.get("COLOR").is_none() && cal.get("X-APPLE-CALENDAR-COLOR").is_none());
}

/// A cancelled session says so in its title, keeps STATUS:CANCELLED and a
/// higher SEQUENCE.
#[test]
fn cancelled_sessions_say_so_in_the_title() {
    let app = app_with_fields();
    let (_, cal) = ics(&app, FEED);
    let seq: i64 = cal.event("jinja").get("SEQUENCE").value.parse().unwrap();
    let r = app.admin(
        "DELETE",
        "/api/conferences/fields/sessions/jinja",
        &Value::Null,
    );
    assert_eq!(r.status, 200);
    for path in [FEED, "/conferences/fields/sessions/jinja.ics"] {
        let (_, cal) = ics(&app, path);
        let e = cal.event("jinja");
        assert_eq!(e.get("SUMMARY").text(), "Cancelled: Dismantling Jinja");
        assert_eq!(e.get("STATUS").value, "CANCELLED");
        assert!(e.get("SEQUENCE").value.parse::<i64>().unwrap() > seq);
        // The JSON API's title is the title.
        let s = app.get("/api/conferences/fields/sessions/jinja").json();
        assert_eq!(s["title"], "Dismantling Jinja");
    }
    // A confirmed one does not.
    let (_, cal) = ics(&app, FEED);
    assert_eq!(
        cal.event("opening").get("SUMMARY").text(),
        "Opening keynote"
    );
}

/// Content changes: a new kind or link is a change of that session
/// (SEQUENCE up); a new address or map point sends every event again.
#[test]
fn changes_reach_calendars() {
    let app = app_with_fields();
    let seq = |cal: &Cal, id: &str| -> i64 { cal.event(id).get("SEQUENCE").value.parse().unwrap() };
    let (_, c0) = ics(&app, FEED);

    let mut doc = conf_doc();
    doc["sessions"][2]["kind"] = json!("workshop");
    doc["sessions"][0]["links"][0]["url"] = json!("https://example.com/slides-v2.pdf");
    let r = app.put_schedule(&doc);
    assert_eq!(r.json()["updated"], 2, "{}", r.text());
    let (_, c1) = ics(&app, FEED);
    assert_eq!(seq(&c1, "jinja"), seq(&c0, "jinja") + 1);
    assert_eq!(seq(&c1, "opening"), seq(&c0, "opening") + 1);
    assert_eq!(seq(&c1, "coffee"), seq(&c0, "coffee"));
    assert!(c1
        .event("opening")
        .get("DESCRIPTION")
        .text()
        .contains("slides-v2.pdf"));
    // The same document again changes nothing.
    assert_eq!(app.put_schedule(&doc).json()["unchanged"], 4);

    let mut moved = doc.clone();
    moved["conference"]["geo"] = json!({"lat": 37.4040, "lon": -121.974});
    let r = app.put_schedule(&moved);
    assert_eq!(r.json()["updated"], 4, "{}", r.text());
    let (_, c2) = ics(&app, FEED);
    for id in ["opening", "coffee", "jinja", "untyped"] {
        assert_eq!(seq(&c2, id), seq(&c1, id) + 1, "{id}");
    }
    assert_eq!(c2.event("coffee").get("GEO").value, "37.404;-121.974");
    let mut readdressed = moved.clone();
    readdressed["conference"]["address"] = json!("1 Other St");
    assert_eq!(app.put_schedule(&readdressed).json()["updated"], 4);
    let (_, c3) = ics(&app, FEED);
    assert!(c3
        .event("coffee")
        .get("LOCATION")
        .text()
        .ends_with("1 Other St"));

    // The single-session admin PUT takes the new fields too.
    let body = json!({"title": "Dismantling Jinja", "start": "2012-03-09T10:00",
                      "end": "2012-03-09T10:40", "kind": "talk",
                      "links": [{"title": "Code", "url": "https://example.com/code"}]});
    let r = app.admin("PUT", "/api/conferences/fields/sessions/jinja", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["session"]["kind"], "talk");
    assert_eq!(
        r.json()["session"]["links"],
        json!([{"title": "Code", "url": "https://example.com/code"}])
    );
    let bad = json!({"title": "T", "start": "2012-03-09T10:00", "end": "2012-03-09T10:40",
                     "links": [{"title": "Code", "url": "file:///etc/passwd"}]});
    app.admin("PUT", "/api/conferences/fields/sessions/jinja", &bad)
        .assert_error(422, "links[0].url");
}

/// A compact feed: the first sentence or two of each abstract, speakers
/// and the talk page; no links or notes. 1,000 sessions stay far under
/// Google Calendar's 1,000,000 bytes.
#[test]
fn compact_feeds_stay_under_a_megabyte() {
    let app = spawn_app_with(|s| s.data_dir = None);
    let generated = confcal::generate::generate(&confcal::generate::GenerateArgs {
        sessions: 1_000,
        days: None,
        rooms: 12,
        seed: 1,
    });
    let mut doc = serde_json::to_value(&generated).unwrap();
    for s in doc["sessions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .step_by(3)
    {
        s["links"] = json!([{"title": "Slides", "url": "https://example.com/slides/x.pdf"}]);
    }
    assert_eq!(app.put_schedule(&doc).status, 201);
    let path = "/conferences/bench-conf/sessions.ics";
    let (full, full_cal) = ics(&app, path);
    let (compact, cal) = ics(&app, &format!("{path}?compact=1"));
    assert_eq!(cal.events.len(), 1_000);
    assert!(full.body.len() > 1_000_000, "full feed {}", full.body.len());
    assert!(
        compact.body.len() < 850_000,
        "compact feed of 1,000 sessions: {} bytes",
        compact.body.len()
    );
    assert_eq!(
        cal.get("SOURCE").unwrap().value,
        app.url(&format!("{path}?compact=1"))
    );
    for (e, f) in cal.events.iter().zip(&full_cal.events) {
        let id = e.uid_id();
        let d = e.get("DESCRIPTION").text();
        let page = app.url(&format!("/conferences/bench-conf/sessions/{id}"));
        assert!(d.ends_with(&page), "{d}");
        assert!(d.starts_with("by "), "speakers first: {d}");
        assert!(!d.contains("Slides:") && !d.contains("Note:"), "{d}");
        let abstract_part = d.split("\n\n").nth(1).unwrap();
        assert!(abstract_part.chars().count() <= 200, "{abstract_part}");
        assert!(
            abstract_part.ends_with(['.', '!', '?', '…']),
            "cut at a sentence or with an ellipsis: {abstract_part:?}"
        );
        // The rest of the event is the full feed's.
        for p in ["UID", "SUMMARY", "DTSTART", "LOCATION", "SEQUENCE"] {
            assert_eq!(e.get(p).value, f.get(p).value);
        }
    }
    assert!(full
        .text()
        .contains("Slides: https://example.com/slides/x.pdf"));
    // compact=0 is the full feed; anything else is an error.
    assert_eq!(app.get(&format!("{path}?compact=0")).body, full.body);
    app.get(&format!("{path}?compact=yes"))
        .assert_error(400, "compact");
    let (both, _) = ics(&app, &format!("{path}?compact=1&alarm=10"));
    assert!(both.body.len() < 1_000_000);
}

/// The new fields round-trip: document → import → export → another
/// database → export gives the same document.
#[test]
fn export_import_round_trip() {
    let app = app_with_fields();
    let store = confcal::store::Store::open(&app.db).unwrap();
    let slug = confcal::domain::ConferenceSlug::parse("fields").unwrap();
    let exported = confcal::domain::ScheduleDocument::from_schedule(&store.export(&slug).unwrap());
    let first = serde_json::to_value(&exported).unwrap();
    assert_eq!(first["conference"]["color"], "#1e90ff");
    assert_eq!(
        first["conference"]["geo"],
        json!({"lat": 37.4039, "lon": -121.974})
    );
    assert_eq!(
        first["sessions"][0]["links"][1]["title"],
        "Video; with \"quotes\", commas"
    );
    assert_eq!(first["sessions"][1]["kind"], "break");
    assert!(first["sessions"][3].get("kind").is_none());

    let other = spawn_app_with(|s| s.data_dir = None);
    assert_eq!(other.put_schedule(&first).status, 201);
    let store2 = confcal::store::Store::open(&other.db).unwrap();
    let again = confcal::domain::ScheduleDocument::from_schedule(&store2.export(&slug).unwrap());
    assert_eq!(serde_json::to_value(&again).unwrap(), first);
    // And the feeds agree, but for the host-dependent parts.
    let (_, a) = ics(&app, FEED);
    let (_, b) = ics(&other, FEED);
    for (x, y) in a.events.iter().zip(&b.events) {
        for p in ["SUMMARY", "LOCATION", "GEO"] {
            assert_eq!(x.opt(p).map(|p| &p.value), y.opt(p).map(|p| &p.value));
        }
    }
}

/// Pages take the feed options and hand them on to the feed URL they
/// offer (the subscribe panel), the filter form and the filter links.
#[test]
fn pages_keep_feed_options() {
    let app = app_with_fields();
    let r = app.get("/conferences/fields?alarm=10&not_kind=break");
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    let feed = app.url("/conferences/fields/sessions.ics?not_kind=break&amp;alarm=10");
    assert!(html.contains(&feed), "feed URL keeps alarm: {html}");
    assert!(
        html.contains("name=\"alarm\" value=\"10\""),
        "the form carries it"
    );
    // Removing the filter keeps the option.
    assert!(
        html.contains("href=\"/conferences/fields?alarm=10\""),
        "{html}"
    );
    // A page with empty form fields goes to the tidy URL, options kept.
    let r = app.request("GET", "/conferences/fields?room=&alarm=10", &[], None);
    assert_eq!(r.status, 200, "ureq follows the redirect");
    assert!(r.text().contains("name=\"alarm\" value=\"10\""));
    let r = app.get("/conferences/fields?alarm=soon");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("alarm"));
    assert_eq!(app.get("/conferences/fields?compact=1").status, 200);
}

/// A database made before this change (schema version 2) is migrated in
/// place; its rows read as having none of the new fields.
#[test]
fn old_databases_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        for f in ["0001_init.sql", "0002_agendas.sql"] {
            let sql = std::fs::read_to_string(crate::helpers::repo_path(&format!(
                "src/store/sqlite/migrations/{f}"
            )))
            .unwrap();
            conn.execute_batch(&sql).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO conferences (slug, name, timezone, venue, url, created, last_modified)
             VALUES ('old', 'Old Conf', 'UTC', 'Hall', NULL, 1000, 1000);
             INSERT INTO sessions (conference_id, slug, title, speakers, start_utc, end_utc, room,
                 tracks, abstract, notes, url, status, sequence, created, last_modified)
             VALUES (1, 'talk', 'Old talk', '[]', 3600, 7200, NULL, '[]', '', NULL, NULL,
                 'confirmed', 0, 1000, 1000);
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let store = confcal::store::Store::open(&db).unwrap();
    let slug = confcal::domain::ConferenceSlug::parse("old").unwrap();
    let s = store.export(&slug).unwrap();
    assert_eq!(
        (&s.conference.address, s.conference.geo, &s.conference.color),
        (&None, None, &None)
    );
    assert_eq!((&s.sessions[0].kind, s.sessions[0].links.len()), (&None, 0));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    // Every migration ran: the version is the number of migration files.
    let files = std::fs::read_dir(crate::helpers::repo_path("src/store/sqlite/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count();
    assert_eq!(v, files as i64);
}
