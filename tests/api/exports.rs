//! `schedule.xml` and `schedule.json`: what schedule apps read. The XML is
//! parsed back with a strict XML parser (roxmltree) and the JSON with
//! serde_json, and compared with what the JSON API says was stored.
//! (Schema validity, and a reading by code that shares nothing with ours,
//! are scripts/check-exports'.)

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime};
use serde_json::{json, Value};

use crate::helpers::{doc, fixture, spawn_app, Resp, TestApp};

const XML: &str = "/conferences/pycon-us-2012/schedule.xml";
const JSON: &str = "/conferences/pycon-us-2012/schedule.json";

/// One event as the XML says it, with the day it sits in.
#[derive(Debug, Clone, PartialEq)]
struct XmlEvent {
    guid: String,
    id: u32,
    day_date: NaiveDate,
    day_start: DateTime<FixedOffset>,
    day_end: DateTime<FixedOffset>,
    room_attr: String,
    date: String,
    start: String,
    duration: String,
    fields: BTreeMap<String, String>,
    persons: Vec<String>,
    links: Vec<(String, String)>,
}

fn parse_xml(text: &str) -> Vec<XmlEvent> {
    let doc = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("not XML ({e}): {text}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "schedule");
    for name in ["version", "conference"] {
        assert!(root.children().any(|c| c.has_tag_name(name)), "no <{name}>");
    }
    let mut out = Vec::new();
    for day in root.children().filter(|c| c.has_tag_name("day")) {
        let date = NaiveDate::parse_from_str(day.attribute("date").unwrap(), "%Y-%m-%d").unwrap();
        let bound = |k| DateTime::parse_from_rfc3339(day.attribute(k).unwrap()).unwrap();
        for room in day.children().filter(|c| c.has_tag_name("room")) {
            for ev in room.children().filter(|c| c.has_tag_name("event")) {
                let mut fields = BTreeMap::new();
                let mut persons = Vec::new();
                let mut links = Vec::new();
                for c in ev.children().filter(|c| c.is_element()) {
                    match c.tag_name().name() {
                        "persons" => persons.extend(
                            c.children()
                                .filter(|p| p.is_element())
                                .map(|p| p.text().unwrap_or("").to_owned()),
                        ),
                        "links" => links.extend(c.children().filter(|l| l.is_element()).map(|l| {
                            (
                                l.text().unwrap_or("").to_owned(),
                                l.attribute("href").unwrap().to_owned(),
                            )
                        })),
                        name => {
                            let old =
                                fields.insert(name.to_owned(), c.text().unwrap_or("").to_owned());
                            assert!(old.is_none(), "<{name}> twice in an event");
                        }
                    }
                }
                let take = |f: &mut BTreeMap<String, String>, k: &str| {
                    f.remove(k).unwrap_or_else(|| panic!("event without <{k}>"))
                };
                out.push(XmlEvent {
                    guid: ev.attribute("guid").unwrap().to_owned(),
                    id: ev.attribute("id").unwrap().parse().unwrap(),
                    day_date: date,
                    day_start: bound("start"),
                    day_end: bound("end"),
                    room_attr: room.attribute("name").unwrap().to_owned(),
                    date: take(&mut fields, "date"),
                    start: take(&mut fields, "start"),
                    duration: take(&mut fields, "duration"),
                    fields,
                    persons,
                    links,
                });
            }
        }
    }
    out
}

/// Events of the JSON document, flattened, each with its day's date.
fn json_events(v: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for day in v["schedule"]["conference"]["days"].as_array().unwrap() {
        for (_, events) in day["rooms"].as_object().unwrap() {
            for e in events.as_array().unwrap() {
                out.push((day["date"].as_str().unwrap().to_owned(), e.clone()));
            }
        }
    }
    out
}

fn hm(s: &str) -> Duration {
    let p: Vec<i64> = s.split(':').map(|x| x.parse().unwrap()).collect();
    Duration::hours(p[0]) + Duration::minutes(p[1]) + Duration::seconds(*p.get(2).unwrap_or(&0))
}

/// What a reader without `<date>` computes: the day's date plus `<start>`,
/// plus a day when `<start>` is before the day change (the day's `start`
/// time of day), as a local wall time.
fn day_plus_start(e: &XmlEvent) -> chrono::NaiveDateTime {
    let change = e.day_start.time();
    let t = NaiveTime::from_hms_opt(0, 0, 0).unwrap() + hm(&e.start);
    let mut wall = e.day_date.and_time(t);
    if t < change {
        wall += Duration::days(1);
    }
    wall
}

fn sessions_by_id(app: &TestApp, slug: &str) -> BTreeMap<String, Value> {
    app.get(&format!("/api/conferences/{slug}/sessions")).json()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_owned(), s.clone()))
        .collect()
}

fn get_ok(app: &TestApp, path: &str) -> Resp {
    let r = app.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r
}

#[test]
fn the_seed_as_apps_read_it_in_both_formats() {
    let app = spawn_app();
    let x = get_ok(&app, XML);
    assert_eq!(
        x.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    assert_eq!(
        x.header("content-disposition"),
        Some("inline; filename=\"pycon-us-2012.schedule.xml\"")
    );
    assert_eq!(
        x.header("cache-control"),
        Some("public, max-age=300, must-revalidate")
    );
    let j = get_ok(&app, JSON);
    assert_eq!(j.header("content-type"), Some("application/json"));
    let events = parse_xml(&x.text());
    let sessions = sessions_by_id(&app, "pycon-us-2012");
    assert_eq!(events.len(), sessions.len());
    let jv = j.json();
    let jevents = json_events(&jv);
    assert_eq!(jevents.len(), sessions.len());
    for e in &events {
        // The session the event is, by its slug's id part (every seed id is
        // long enough for the XSD's slug pattern).
        let slug = &e.fields["slug"];
        let id = slug.strip_prefix("pycon_us_2012-").expect("{acronym}-{id}");
        let s = &sessions[id];
        assert_eq!(
            e.date,
            s["start"].as_str().unwrap(),
            "{id}: <date> is the API's start"
        );
        let start = DateTime::parse_from_rfc3339(&e.date).unwrap();
        let end = DateTime::parse_from_rfc3339(s["end"].as_str().unwrap()).unwrap();
        assert_eq!(start + hm(&e.duration), end, "{id}: duration");
        assert_eq!(day_plus_start(e), start.naive_local(), "{id}: day + start");
        assert_eq!(e.fields["title"], s["title"].as_str().unwrap());
        assert_eq!(e.fields["room"], s["room"].as_str().unwrap());
        assert_eq!(e.room_attr, e.fields["room"]);
        assert_eq!(e.fields["abstract"], s["abstract"].as_str().unwrap());
        let speakers: Vec<String> = serde_json::from_value(s["speakers"].clone()).unwrap();
        assert_eq!(e.persons, speakers);
        assert_eq!(
            e.fields["url"],
            app.url(&format!("/conferences/pycon-us-2012/sessions/{id}")),
            "no url of its own: its confcal page"
        );
        assert_eq!(e.guid.len(), 36);
        // The JSON says the same of the same event.
        let (jday, je) = jevents
            .iter()
            .find(|(_, je)| je["guid"] == e.guid.as_str())
            .expect("the event in the JSON");
        assert_eq!(jday, &e.day_date.to_string());
        assert_eq!(je["id"], e.id);
        assert_eq!(je["date"], e.date.as_str());
        assert_eq!(je["end"], s["end"]);
        assert_eq!(je["start"], e.start.as_str());
        assert_eq!(je["duration"], e.duration.as_str());
        assert_eq!(je["title"], s["title"]);
        assert_eq!(je["slug"], slug.as_str());
        assert_eq!(je["persons"][0]["name"], s["speakers"][0]);
        assert_eq!(je["subtitle"], Value::Null);
        assert_eq!(je["track"], Value::Null, "the seed has no tracks");
    }
    let conf = &jv["schedule"]["conference"];
    assert_eq!(conf["acronym"], "pycon_us_2012");
    assert_eq!(conf["time_zone_name"], "America/Los_Angeles");
    assert_eq!(conf["daysCount"], 1);
    assert_eq!(jv["schedule"]["url"], app.url(JSON));
}

#[test]
fn revalidation_head_and_codings_as_for_feeds() {
    let app = spawn_app();
    for path in [XML, JSON] {
        let first = get_ok(&app, path);
        let etag = first.header("etag").expect("an ETag").to_owned();
        let again = app.request("GET", path, &[("If-None-Match", &etag)], None);
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        let head = app.request("HEAD", path, &[], None);
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        assert_eq!(head.header("etag"), Some(etag.as_str()));
        assert_eq!(
            head.header("content-length"),
            Some(first.body.len().to_string().as_str())
        );
        // A compressed coding is its own representation with its own tag.
        let gz = app.request("GET", path, &[("Accept-Encoding", "gzip")], None);
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        let gz_tag = gz.header("etag").unwrap().to_owned();
        assert!(gz_tag.ends_with("-gzip\"") && gz_tag != etag);
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz.body[..]), &mut plain)
            .unwrap();
        assert_eq!(plain, first.body);
        // If-Modified-Since once Last-Modified is given (it is held back
        // during the second of a change; wait for that second to pass).
        let mut lm = first.header("last-modified").map(str::to_owned);
        for _ in 0..30 {
            if lm.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            lm = app.get(path).header("last-modified").map(str::to_owned);
        }
        let lm = lm.expect("a Last-Modified within three seconds");
        let r = app.request("GET", path, &[("If-Modified-Since", &lm)], None);
        assert_eq!(r.status, 304, "{path} If-Modified-Since");
    }
    // A change gives both documents new tags at once; the old ones no
    // longer match.
    let tags: Vec<String> = [XML, JSON]
        .iter()
        .map(|p| app.get(p).header("etag").unwrap().to_owned())
        .collect();
    let mut s = app
        .get("/api/conferences/pycon-us-2012/sessions/dismantling-jinja")
        .json();
    for k in ["status", "sequence", "created", "last_modified", "ics_url"] {
        s.as_object_mut().unwrap().remove(k);
    }
    s["title"] = json!("Dismantling Jinja, retitled");
    let r = app.admin(
        "PUT",
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
        &s,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    for (p, old) in [XML, JSON].iter().zip(&tags) {
        let r = app.request("GET", p, &[("If-None-Match", old)], None);
        assert_eq!(r.status, 200, "{p} after a change");
        assert!(r.text().contains("Dismantling Jinja, retitled"));
    }
}

#[test]
fn unknown_conferences_and_query_keys_are_json_errors() {
    let app = spawn_app();
    for path in [
        "/conferences/no-such-conf/schedule.xml",
        "/conferences/no-such-conf/schedule.json",
        "/conferences/Not_A_Slug/schedule.xml",
    ] {
        let r = app.get(path);
        r.assert_error(404, "conference");
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    app.get("/conferences/pycon-us-2012/schedule.xml?room=E2")
        .assert_error(400, "room");
    app.get("/conferences/pycon-us-2012/schedule.json?x")
        .assert_error(400, "x");
}

#[test]
fn after_midnight_talks_sit_in_the_day_before() {
    let app = spawn_app();
    let d = doc(
        "late-nights",
        "Europe/Berlin",
        &[
            ("opening", "2026-06-05T10:00", "2026-06-05T11:00"),
            ("late-set", "2026-06-05T23:30", "2026-06-06T00:30"),
            ("after-midnight", "2026-06-06T01:30", "2026-06-06T02:15"),
            ("small-hours", "2026-06-06T03:00", "2026-06-06T03:45"),
            ("saturday", "2026-06-06T10:00", "2026-06-06T11:00"),
        ],
    );
    assert_eq!(app.put_schedule(&d).status, 201);
    let events = parse_xml(&get_ok(&app, "/conferences/late-nights/schedule.xml").text());
    let by_title: BTreeMap<&str, &XmlEvent> = events
        .iter()
        .map(|e| (e.fields["title"].as_str(), e))
        .collect();
    let friday = NaiveDate::from_ymd_opt(2026, 6, 5).unwrap();
    for (title, day, start) in [
        ("Talk opening", friday, "10:00"),
        ("Talk late-set", friday, "23:30"),
        ("Talk after-midnight", friday, "01:30"),
        ("Talk small-hours", friday, "03:00"),
        ("Talk saturday", friday.succ_opt().unwrap(), "10:00"),
    ] {
        let e = by_title[title];
        assert_eq!((e.day_date, e.start.as_str()), (day, start), "{title}");
        let date = DateTime::parse_from_rfc3339(&e.date).unwrap();
        assert_eq!(
            day_plus_start(e),
            date.naive_local(),
            "{title}: day + start"
        );
        assert!(
            e.day_start <= date && date < e.day_end,
            "{title} within its day"
        );
        // Every day starts and ends at the same local day change (04:00
        // for a daytime conference: nothing runs then).
        assert_eq!(
            e.day_start.time(),
            NaiveTime::from_hms_opt(4, 0, 0).unwrap()
        );
        assert_eq!(e.day_end.time(), e.day_start.time());
        assert_eq!(e.day_start.date_naive(), e.day_date);
        assert_eq!(e.day_end.date_naive(), e.day_date.succ_opt().unwrap());
    }
    assert_eq!(
        by_title["Talk after-midnight"].date,
        "2026-06-06T01:30:00+02:00"
    );
    // The JSON puts them in the same days.
    let j = get_ok(&app, "/conferences/late-nights/schedule.json").json();
    let days: Vec<&str> = j["schedule"]["conference"]["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2026-06-05", "2026-06-06"]);
    for (day, e) in json_events(&j) {
        let x = by_title[e["title"].as_str().unwrap()];
        assert_eq!(day, x.day_date.to_string());
    }
}

#[test]
fn dates_carry_the_offset_of_their_instant_across_dst() {
    let app = spawn_app();
    for name in ["berlin-2026.json", "sydney-2012.json"] {
        assert_eq!(app.put_schedule(&fixture(name)).status, 201, "{name}");
    }
    let events = parse_xml(&get_ok(&app, "/conferences/berlin-2026/schedule.xml").text());
    let date_of = |title_part: &str| {
        events
            .iter()
            .find(|e| {
                e.fields["title"].contains(title_part) || e.fields["slug"].ends_with(title_part)
            })
            .unwrap_or_else(|| panic!("{title_part}"))
    };
    let keynote = date_of("sat-keynote");
    let after = date_of("sun-after-jump");
    assert_eq!(keynote.date, "2026-03-28T09:00:00+01:00");
    assert_eq!(after.date, "2026-03-29T03:00:00+02:00");
    // 03:00 on the morning of the change is before the day change: it sits
    // in Saturday, whose day is an hour short and ends in summer time.
    assert_eq!(after.day_date, keynote.day_date);
    assert_eq!((after.day_end - after.day_start).num_hours(), 23);
    assert_eq!(after.day_end.offset().local_minus_utc(), 2 * 3600);
    assert_eq!(
        day_plus_start(after),
        DateTime::parse_from_rfc3339(&after.date)
            .unwrap()
            .naive_local()
    );
    let fall = date_of("oct-fall-back");
    assert!(fall.date.starts_with("2026-10-25T"), "{}", fall.date);
    // Sydney 2012-04-01: 02:30 happens twice; two talks at that wall time
    // have the same <start> and their <date>s tell them apart.
    let sydney = parse_xml(&get_ok(&app, "/conferences/sydney-2012/schedule.xml").text());
    let twice: Vec<&XmlEvent> = sydney.iter().filter(|e| e.start == "02:30").collect();
    let mut dates: Vec<&str> = twice.iter().map(|e| e.date.as_str()).collect();
    dates.sort();
    assert_eq!(
        dates,
        ["2012-04-01T02:30:00+10:00", "2012-04-01T02:30:00+11:00"]
    );
    let api = sessions_by_id(&app, "sydney-2012");
    for e in &sydney {
        let id = e.fields["slug"].strip_prefix("sydney_2012-").unwrap();
        assert_eq!(e.date, api[id]["start"].as_str().unwrap(), "{id}");
        let start = DateTime::parse_from_rfc3339(&e.date).unwrap();
        assert_eq!(
            start + hm(&e.duration),
            DateTime::parse_from_rfc3339(api[id]["end"].as_str().unwrap()).unwrap(),
            "{id}"
        );
        assert!(e.day_start <= start && start < e.day_end, "{id}");
    }
}

#[test]
fn hostile_text_stays_text_in_both_documents() {
    let app = spawn_app();
    let nasty_title = "</title></event><event guid=\"x\"> & &amp; <![CDATA[ ]]> \"q\" 'a' \u{FFFD}";
    let d = json!({
        "conference": {"slug": "hostile", "name": "Conf </title> & \"<schedule>\"",
                       "timezone": "America/Los_Angeles", "venue": null, "url": null},
        "sessions": [{
            "id": "x1",
            "title": nasty_title,
            "speakers": ["Ann \"the <b>\" & Bob", "</persons>"],
            "start": "2030-05-01T09:00", "end": "2030-05-01T10:00",
            "room": "Room \"A\" <&> 'B'",
            "tracks": ["t & \"1\"", "</track>"],
            "abstract": "line one\n<script>alert(1)</script>\n\tindented & ]]> end",
            "notes": "notes with \"quotes\" and <tags>",
            "url": "https://example.com/?a=1&b=\"2\"",
            "kind": "talk",
            "links": [{"title": "Slides <&>", "url": "https://example.com/s?x=1&y=2"}]
        }]
    });
    let r = app.put_schedule(&d);
    assert_eq!(r.status, 201, "{}", r.text());
    let api = sessions_by_id(&app, "hostile");
    let s = &api["x1"];
    let xml = get_ok(&app, "/conferences/hostile/schedule.xml").text();
    let events = parse_xml(&xml);
    assert_eq!(events.len(), 1, "exactly one event: {xml}");
    let e = &events[0];
    assert_eq!(e.fields["title"], s["title"].as_str().unwrap());
    assert_eq!(e.fields["title"], nasty_title);
    assert_eq!(
        e.room_attr, "Room \"A\" <&> 'B'",
        "attribute value read back whole"
    );
    assert_eq!(e.fields["room"], e.room_attr);
    assert_eq!(e.persons, ["Ann \"the <b>\" & Bob", "</persons>"]);
    assert_eq!(e.fields["track"], "t & \"1\", </track>");
    assert_eq!(e.fields["abstract"], s["abstract"].as_str().unwrap());
    assert_eq!(e.fields["description"], "notes with \"quotes\" and <tags>");
    assert_eq!(e.fields["url"], s["url"].as_str().unwrap());
    assert_eq!(e.fields["type"], "talk");
    assert_eq!(
        e.links,
        [(
            "Slides <&>".to_owned(),
            "https://example.com/s?x=1&y=2".to_owned()
        )]
    );
    // The conference's tracks name each track for readers that split the
    // joined <track>.
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let tracks: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("track") && n.parent().unwrap().has_tag_name("conference"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert_eq!(tracks, ["</track>", "t & \"1\""]);
    let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
    assert_eq!(title.text(), Some("Conf </title> & \"<schedule>\""));
    // And the JSON, through serde_json.
    let j = get_ok(&app, "/conferences/hostile/schedule.json").json();
    let (_, je) = &json_events(&j)[0];
    assert_eq!(je["title"], nasty_title);
    assert_eq!(je["room"], "Room \"A\" <&> 'B'");
    assert_eq!(je["abstract"], s["abstract"]);
    assert_eq!(je["links"][0]["url"], "https://example.com/s?x=1&y=2");
}

#[test]
fn cancelled_sessions_leave_and_numbers_stay() {
    let app = spawn_app();
    let ids = |app: &TestApp| -> BTreeMap<String, (String, u32)> {
        parse_xml(&get_ok(app, XML).text())
            .into_iter()
            .map(|e| {
                let id = e.fields["slug"]
                    .strip_prefix("pycon_us_2012-")
                    .unwrap()
                    .to_owned();
                (id, (e.guid, e.id))
            })
            .collect()
    };
    let before = ids(&app);
    assert_eq!(before.len(), 5);
    let version = |app: &TestApp| get_ok(app, JSON).json()["schedule"]["version"].clone();
    let v0 = version(&app);
    let r = app.request(
        "DELETE",
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
        &[(
            "Authorization",
            &format!("Bearer {}", crate::helpers::ADMIN_TOKEN),
        )],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let after = ids(&app);
    assert!(
        !after.contains_key("dismantling-jinja"),
        "cancelled: not in the export"
    );
    assert_eq!(after.len(), 4);
    for (id, v) in &after {
        assert_eq!(&before[id], v, "{id} keeps its guid and number");
    }
    assert_ne!(
        version(&app),
        v0,
        "the version tells apps something changed"
    );
    // Back on: the same guid and number as before.
    let mut doc = serde_json::from_str::<Value>(
        &std::fs::read_to_string(crate::helpers::repo_path("data/pycon-us-2012.json")).unwrap(),
    )
    .unwrap();
    doc["sessions"][0]["title"] = json!("Back on");
    assert_eq!(app.put_schedule(&doc).status, 200);
    let restored = ids(&app);
    assert_eq!(restored, before);
}
