//! What changed: the history every admin write records, as the changes
//! pages, their Atom feeds (read back with an XML parser) and the API show
//! it; a conference's and an agenda's (only its starred talks, and as
//! private as the agenda).

use serde_json::{json, Value};

use crate::helpers::{repo_path, spawn_app, spawn_app_with, Resp, TestApp};

const CONF: &str = "pycon-us-2012";

fn seed_doc() -> Value {
    let text = std::fs::read_to_string(repo_path("data/pycon-us-2012.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The seed's session `id` as a PUT body.
fn seed_session(id: &str) -> Value {
    seed_doc()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
        .clone()
}

fn put_session(app: &TestApp, s: &Value) {
    let id = s["id"].as_str().unwrap();
    let r = app.admin("PUT", &format!("/api/conferences/{CONF}/sessions/{id}"), s);
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
}

fn api_changes(app: &TestApp) -> Vec<Value> {
    let r = app.get(&format!("/api/conferences/{CONF}/changes"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["changes"].as_array().unwrap().clone()
}

/// A field's before and after as the changes page marks them up: struck
/// through and bold for the eye, "was" and "now" for screen readers.
fn was_now(before: &str, after: &str) -> String {
    format!(
        "<del><span class=\"vh\">was: </span>{before}</del> <span aria-hidden=\"true\">→</span> \
         <ins><span class=\"vh\">now: </span>{after}</ins>"
    )
}

struct Entry {
    id: String,
    title: String,
    updated: String,
    link: String,
    summary: String,
}

/// An Atom document read with a strict XML parser, checking what RFC 4287
/// requires of the feed and of each entry.
fn atom(r: &Resp) -> (String, Vec<Entry>) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let text = r.text();
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let feed = doc.root_element();
    let ns = "http://www.w3.org/2005/Atom";
    assert_eq!(feed.tag_name().name(), "feed");
    assert_eq!(feed.tag_name().namespace(), Some(ns));
    let child = |n: roxmltree::Node, name: &str| {
        n.children()
            .find(|c| c.tag_name().name() == name && c.tag_name().namespace() == Some(ns))
            .unwrap_or_else(|| panic!("no <{name}> in {text}"))
            .text()
            .unwrap_or_default()
            .to_owned()
    };
    for name in ["id", "title", "updated"] {
        assert!(!child(feed, name).is_empty(), "feed {name}");
    }
    assert!(feed.children().any(|c| c.tag_name().name() == "author"));
    let self_link = feed
        .children()
        .find(|c| c.tag_name().name() == "link" && c.attribute("rel") == Some("self"))
        .expect("rel=self");
    assert!(self_link
        .attribute("href")
        .unwrap()
        .ends_with("changes.atom"));
    let entries = feed
        .children()
        .filter(|c| c.tag_name().name() == "entry")
        .map(|e| Entry {
            id: child(e, "id"),
            title: child(e, "title"),
            updated: child(e, "updated"),
            link: e
                .children()
                .find(|c| c.tag_name().name() == "link")
                .and_then(|l| l.attribute("href"))
                .expect("entry link")
                .to_owned(),
            summary: child(e, "summary"),
        })
        .collect::<Vec<_>>();
    for e in &entries {
        chrono::DateTime::parse_from_rfc3339(&e.updated).expect("RFC 3339 updated");
    }
    (child(feed, "updated"), entries)
}

#[test]
fn a_seed_and_a_re_import_that_changes_nothing_record_nothing() {
    let app = spawn_app();
    assert!(api_changes(&app).is_empty(), "the seed is no change");
    let r = app.put_schedule(&seed_doc());
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        api_changes(&app).is_empty(),
        "a no-op re-import records nothing"
    );
    // Nor does a change nobody plans around (the abstract).
    let mut s = seed_session("dismantling-jinja");
    s["abstract"] = json!("A shorter abstract.");
    put_session(&app, &s);
    assert!(api_changes(&app).is_empty());
    let page = app.get(&format!("/conferences/{CONF}/changes"));
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Nothing has changed yet"));
    let (_, entries) = atom(&app.get(&format!("/conferences/{CONF}/changes.atom")));
    assert!(entries.is_empty());
}

#[test]
fn admin_changes_show_on_the_page_in_atom_and_the_api_with_before_and_after() {
    let app = spawn_app();
    // Moved an hour later, to another room, renamed: one change, three kinds.
    let mut jinja = seed_session("dismantling-jinja");
    jinja["start"] = json!("2012-03-09T15:00");
    jinja["end"] = json!("2012-03-09T15:40");
    jinja["room"] = json!("E3");
    jinja["title"] = json!("Jinja, Dismantled");
    put_session(&app, &jinja);
    // Cancelled.
    let r = app.admin(
        "DELETE",
        &format!("/api/conferences/{CONF}/sessions/make-sure-your-programs-crash"),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // New.
    let mut new = seed_session("dismantling-jinja");
    new["id"] = json!("lightning-talks");
    new["title"] = json!("Lightning Talks");
    new["start"] = json!("2012-03-09T18:00");
    new["end"] = json!("2012-03-09T19:00");
    new["room"] = json!("E1");
    put_session(&app, &new);
    // A whole-schedule PUT that only moves one talk's room (and drops
    // nothing else: the cancelled talk stays cancelled, the new one is
    // listed) records exactly that one change.
    let mut doc = seed_doc();
    for s in doc["sessions"].as_array_mut().unwrap() {
        match s["id"].as_str().unwrap() {
            "dismantling-jinja" => *s = jinja.clone(),
            "apache-cassandra-and-python" => s["room"] = json!("E1"),
            _ => {}
        }
    }
    doc["sessions"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["id"] != "make-sure-your-programs-crash");
    doc["sessions"].as_array_mut().unwrap().push(new.clone());
    let r = app.put_schedule(&doc);
    assert_eq!(r.status, 200, "{}", r.text());

    let changes = api_changes(&app);
    let got: Vec<(String, Vec<String>)> = changes
        .iter()
        .map(|c| {
            (
                c["session"].as_str().unwrap().to_owned(),
                c["kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    let s = |id: &str, kinds: &[&str]| {
        (
            id.to_owned(),
            kinds.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        got,
        [
            s("apache-cassandra-and-python", &["room_changed"]),
            s("lightning-talks", &["new"]),
            s("make-sure-your-programs-crash", &["cancelled"]),
            s("dismantling-jinja", &["moved", "room_changed", "renamed"]),
        ],
        "newest first"
    );
    let jinja_change = &changes[3];
    assert_eq!(jinja_change["before"]["room"], "E2");
    assert_eq!(jinja_change["after"]["room"], "E3");
    assert_eq!(jinja_change["before"]["start"], "2012-03-09T14:00:00-08:00");
    assert_eq!(jinja_change["after"]["start"], "2012-03-09T15:00:00-08:00");
    assert_eq!(
        jinja_change["before"]["title"],
        "Code Generation in Python: Dismantling Jinja"
    );
    assert!(changes[1]["before"].is_null());
    assert_eq!(changes[2]["after"]["status"], "cancelled");

    // The page: before → after in the conference's zone, newest first.
    let page = app.get(&format!("/conferences/{CONF}/changes"));
    assert_eq!(page.status, 200);
    let html = page.text();
    for want in [
        &*was_now("2:00pm to 2:40pm, Friday 9th March", "3:00pm to 3:40pm, Friday 9th March"),
        &was_now("E2", "E3"),
        &was_now("Code Generation in Python: Dismantling Jinja", "Jinja, Dismantled"),
        &was_now("on", "cancelled"),
        "<strong>New</strong>: <a href=\"/conferences/pycon-us-2012/sessions/lightning-talks\">Lightning Talks</a>",
        &was_now("E2", "E1"),
        "America/Los_Angeles",
        "type=\"application/atom+xml\" href=\"/conferences/pycon-us-2012/changes.atom\"",
    ] {
        assert!(html.contains(want), "page lacks {want:?}");
    }
    let pos = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s}"));
    assert!(pos("Lightning Talks") < pos("Jinja, Dismantled</a>"));

    // The conference page links to it, and offers the feed.
    let conf_page = app.get(&format!("/conferences/{CONF}")).text();
    assert!(conf_page.contains("href=\"/conferences/pycon-us-2012/changes\""));
    assert!(conf_page.contains("rel=\"alternate\" type=\"application/atom+xml\""));

    // Atom: same entries, stable ids, links to the talk pages.
    let path = format!("/conferences/{CONF}/changes.atom");
    let first = app.get(&path);
    let (updated, entries) = atom(&first);
    assert_eq!(entries.len(), 4);
    assert_eq!(updated, entries[0].updated);
    assert_eq!(
        entries[3].link,
        format!("{}/conferences/{CONF}/sessions/dismantling-jinja", app.base)
    );
    assert_eq!(
        entries[3].title,
        "Moved · Room changed · Renamed: Jinja, Dismantled"
    );
    assert!(
        entries[3].summary.contains(
            "Time: 2:00pm to 2:40pm, Friday 9th March → 3:00pm to 3:40pm, Friday 9th March"
        ),
        "{}",
        entries[3].summary
    );
    assert!(entries[3].summary.contains("Room: E2 → E3"));
    let ids: std::collections::HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 4, "entry ids are unique");
    let jinja_id = entries[3].id.clone();
    assert!(jinja_id.starts_with(&format!("{}/conferences/{CONF}/changes#change-", app.base)));

    // Cached and revalidated like the feeds; a change invalidates it.
    let etag = first.header("etag").expect("ETag").to_owned();
    assert!(first.header("cache-control").unwrap().starts_with("public"));
    let again = app.request("GET", &path, &[("If-None-Match", &etag)], None);
    assert_eq!(again.status, 304);
    let mut back = jinja.clone();
    back["room"] = json!("E2");
    put_session(&app, &back);
    let after = app.request("GET", &path, &[("If-None-Match", &etag)], None);
    let (_, entries) = atom(&after);
    assert_ne!(after.header("etag"), Some(etag.as_str()));
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[0].summary, "Room: E3 → E2");
    assert_eq!(entries[4].id, jinja_id, "an entry keeps its id");

    // Parameters are refused, naming the key.
    app.get(&format!("{path}?day=2012-03-09"))
        .assert_error(400, "day");
    let r = app.get("/conferences/nope/changes.atom");
    assert_eq!(r.status, 404);
}

fn create_agenda(app: &TestApp) -> String {
    let r = app.request(
        "POST",
        "/api/agendas",
        &[("Content-Type", "application/json")],
        Some(b"{}"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_owned()
}

#[test]
fn an_agenda_shows_only_its_starred_talks_changes_privately() {
    let app = spawn_app();
    let token = create_agenda(&app);
    let r = app.request(
        "PUT",
        &format!("/api/agendas/{token}/sessions/{CONF}/dismantling-jinja"),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    for (id, room) in [
        ("dismantling-jinja", "E3"),
        ("apache-cassandra-and-python", "E1"),
    ] {
        let mut s = seed_session(id);
        s["room"] = json!(room);
        put_session(&app, &s);
    }
    let page = app.get(&format!("/agendas/{token}/changes"));
    assert_eq!(page.status, 200);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("private, no-store"));
    let html = page.text();
    assert!(html.contains("Code Generation in Python: Dismantling Jinja"));
    assert!(html.contains(&was_now("E2", "E3")));
    assert!(!html.contains("Cassandra"), "not starred: not shown");

    let feed = app.get(&format!("/agendas/{token}/changes.atom"));
    assert!(feed.header("cache-control").unwrap().starts_with("private"));
    let (_, entries) = atom(&feed);
    assert_eq!(entries.len(), 1);
    assert!(entries[0].link.ends_with("/sessions/dismantling-jinja"));
    assert!(!entries[0].id.contains(&token), "entry ids carry no token");
    // The same change has the same id in the conference's feed.
    let (_, all) = atom(&app.get(&format!("/conferences/{CONF}/changes.atom")));
    assert_eq!(all[1].id, entries[0].id);
    // The agenda page links to its changes.
    let agenda_page = app.get(&format!("/agendas/{token}")).text();
    assert!(agenda_page.contains(&format!("href=\"/agendas/{token}/changes\"")));

    // Unstarring takes the change out of the agenda's feed.
    let etag = feed.header("etag").unwrap().to_owned();
    let r = app.request(
        "DELETE",
        &format!("/api/agendas/{token}/sessions/{CONF}/dismantling-jinja"),
        &[],
        None,
    );
    assert_eq!(r.status, 200);
    let r = app.request(
        "GET",
        &format!("/agendas/{token}/changes.atom"),
        &[("If-None-Match", &etag)],
        None,
    );
    assert!(atom(&r).1.is_empty());

    // Unknown tokens: 404 (HTML page, JSON-named feed), nothing revealed.
    let unknown = "A".repeat(43);
    let r = app.get(&format!("/agendas/{unknown}/changes"));
    assert_eq!(r.status, 404);
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    app.get(&format!("/agendas/{unknown}/changes.atom"))
        .assert_error(404, "token");
    assert_eq!(app.get("/agendas/short/changes.atom").status, 404);
}

#[test]
fn unknown_tokens_on_the_changes_paths_are_rate_limited() {
    let app = spawn_app_with(|s| s.unknown_token_per_minute = 2);
    let unknown = "B".repeat(43);
    let statuses: Vec<u16> = [
        format!("/agendas/{unknown}/changes"),
        format!("/agendas/{unknown}/changes.atom"),
        format!("/agendas/{unknown}/changes"),
    ]
    .iter()
    .map(|p| app.get(p).status)
    .collect();
    assert_eq!(statuses, [404, 404, 429]);
}

/// The changes page shows times in the visitor's zone too (`?tz=`), beside
/// the conference's; the Atom feed keeps the conference's alone.
#[test]
fn the_changes_page_shows_times_in_the_visitors_zone_too() {
    let app = spawn_app();
    let mut jinja = seed_session("dismantling-jinja");
    jinja["start"] = json!("2012-03-09T15:00");
    jinja["end"] = json!("2012-03-09T15:40");
    put_session(&app, &jinja);
    let plain = app.get(&format!("/conferences/{CONF}/changes"));
    assert_eq!(plain.status, 200);
    assert!(!plain.text().contains("Asia/Tokyo"));
    let r = app.get(&format!("/conferences/{CONF}/changes?tz=Asia%2FTokyo"));
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.text();
    // 3pm in Santa Clara on Friday 9 March 2012 (PST, UTC-8) is 8am on
    // Saturday in Tokyo (UTC+9).
    assert!(page.contains("in Asia/Tokyo"), "{page}");
    assert!(
        page.contains("8:00am") && page.contains("Saturday 10th March"),
        "{page}"
    );
    assert!(
        page.contains("3:00pm"),
        "the conference's own time stays: {page}"
    );
    let atom = app.get(&format!("/conferences/{CONF}/changes.atom"));
    assert!(!atom.text().contains("Asia/Tokyo"));
    let bad = app.get(&format!("/conferences/{CONF}/changes?tz=Mars%2FOlympus"));
    assert_eq!(bad.status, 400);
}
