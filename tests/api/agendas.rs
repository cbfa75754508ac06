use serde_json::{json, Value};

use crate::helpers::{doc, fixture, spawn_app, TestApp};

fn create(app: &TestApp, body: Option<&Value>) -> Value {
    let bytes = body.map(|b| b.to_string());
    let r = app.request(
        "POST",
        "/api/agendas",
        &[("Content-Type", "application/json")],
        Some(bytes.as_deref().unwrap_or("").as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn star(app: &TestApp, token: &str, conf: &str, id: &str, on: bool) -> Value {
    let method = if on { "PUT" } else { "DELETE" };
    let r = app.request(
        method,
        &format!("/api/agendas/{token}/sessions/{conf}/{id}"),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn agenda(app: &TestApp, token: &str) -> Value {
    let r = app.get(&format!("/api/agendas/{token}"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn starred(app: &TestApp, token: &str) -> Vec<(String, String)> {
    agenda(app, token)["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["conference"].as_str().unwrap().to_owned(),
                s["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(c: &str, i: &str) -> (String, String) {
    (c.to_owned(), i.to_owned())
}

/// Every endpoint that takes a token, with the status a live token gets.
fn token_endpoints(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GET", format!("/api/agendas/{token}")),
        ("GET", format!("/agendas/{token}.ics")),
        ("HEAD", format!("/agendas/{token}.ics")),
        (
            "PUT",
            format!("/api/agendas/{token}/sessions/pycon-us-2012/dismantling-jinja"),
        ),
        (
            "DELETE",
            format!("/api/agendas/{token}/sessions/pycon-us-2012/dismantling-jinja"),
        ),
        ("POST", format!("/api/agendas/{token}/rotate")),
        ("DELETE", format!("/api/agendas/{token}")),
    ]
}

fn assert_dead(app: &TestApp, token: &str) {
    for (method, path) in token_endpoints(token) {
        let r = app.request(method, &path, &[], None);
        assert_eq!(r.status, 404, "{method} {path}");
        if method != "HEAD" {
            assert_eq!(
                r.json(),
                json!({"error": "no such agenda", "field": "token"}),
                "{method} {path}"
            );
        }
    }
}

#[test]
fn create_star_unstar_idempotent() {
    let app = spawn_app();
    let links = create(&app, Some(&json!({"name": "Armin and friends"})));
    let token = links["token"].as_str().unwrap();
    assert!(token.len() >= 22, "at least 128 bits of base64");
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(
        links["feed_url"],
        format!("{}/agendas/{token}.ics", app.base)
    );
    assert_eq!(
        links["webcal_url"],
        format!(
            "webcal://{}/agendas/{token}.ics",
            app.base.trim_start_matches("http://")
        )
    );
    assert_eq!(links["manage_url"], format!("{}/agendas/{token}", app.base));
    // Another agenda gets another token.
    assert_ne!(create(&app, None)["token"], links["token"]);

    assert_eq!(agenda(&app, token)["name"], "Armin and friends");
    assert!(starred(&app, token).is_empty());
    assert_eq!(
        star(
            &app,
            token,
            "pycon-us-2012",
            "introspecting-running-python-processes",
            true
        )["changed"],
        true
    );
    assert_eq!(
        star(&app, token, "pycon-us-2012", "dismantling-jinja", true)["changed"],
        true
    );
    // Idempotent: starring again changes nothing.
    assert_eq!(
        star(&app, token, "pycon-us-2012", "dismantling-jinja", true)["changed"],
        false
    );
    let a = agenda(&app, token);
    let s = a["sessions"].as_array().unwrap();
    assert_eq!(s.len(), 2);
    // Start order, with the JSON API's session fields plus the conference.
    assert_eq!(s[0]["id"], "dismantling-jinja");
    assert_eq!(s[0]["conference"], "pycon-us-2012");
    assert_eq!(s[0]["start"], "2012-03-09T14:00:00-08:00");
    assert_eq!(s[1]["id"], "introspecting-running-python-processes");
    assert_eq!(a["conflicts"], json!([]));

    assert_eq!(
        star(&app, token, "pycon-us-2012", "dismantling-jinja", false)["changed"],
        true
    );
    assert_eq!(
        star(&app, token, "pycon-us-2012", "dismantling-jinja", false)["changed"],
        false
    );
    assert_eq!(
        starred(&app, token),
        [pair(
            "pycon-us-2012",
            "introspecting-running-python-processes"
        )]
    );

    // Unknown sessions and conferences are 404s naming what is missing.
    app.request(
        "PUT",
        &format!("/api/agendas/{token}/sessions/pycon-us-2012/nope"),
        &[],
        None,
    )
    .assert_error(404, "session");
    app.request(
        "PUT",
        &format!("/api/agendas/{token}/sessions/nope/x"),
        &[],
        None,
    )
    .assert_error(404, "conference");
    // Bad bodies on create.
    let r = app.request("POST", "/api/agendas", &[], Some(b"{\"nam\": 1}"));
    r.assert_error(400, "nam");
    let long = json!({"name": "x".repeat(101)}).to_string();
    app.request("POST", "/api/agendas", &[], Some(long.as_bytes()))
        .assert_error(422, "name");
}

#[test]
fn conflicts_name_both_sessions_across_zones() {
    let app = spawn_app();
    let la = doc(
        "clash-la",
        "America/Los_Angeles",
        &[
            ("a", "2012-06-01T10:00", "2012-06-01T11:00"),
            ("b", "2012-06-01T10:30", "2012-06-01T11:30"),
            ("c", "2012-06-01T11:00", "2012-06-01T12:00"),
            ("d", "2012-06-01T13:00", "2012-06-01T14:00"),
        ],
    );
    // 13:45–14:15 in New York (EDT, UTC-4) is 10:45–11:15 in Los Angeles (PDT, UTC-7).
    let ny = doc(
        "clash-ny",
        "America/New_York",
        &[("e", "2012-06-01T13:45", "2012-06-01T14:15")],
    );
    assert_eq!(app.put_schedule(&la).status, 201);
    assert_eq!(app.put_schedule(&ny).status, 201);
    let token = create(&app, None)["token"].as_str().unwrap().to_owned();
    for id in ["a", "b", "c", "d"] {
        star(&app, &token, "clash-la", id, true);
    }
    star(&app, &token, "clash-ny", "e", true);
    let a = agenda(&app, &token);
    let got: Vec<(String, String)> = a["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{}/{}",
                    c["a"]["conference"].as_str().unwrap(),
                    c["a"]["id"].as_str().unwrap()
                ),
                format!(
                    "{}/{}",
                    c["b"]["conference"].as_str().unwrap(),
                    c["b"]["id"].as_str().unwrap()
                ),
            )
        })
        .collect();
    let want = [
        ("clash-la/a", "clash-la/b"),
        ("clash-la/a", "clash-ny/e"),
        ("clash-la/b", "clash-ny/e"),
        ("clash-la/b", "clash-la/c"),
        ("clash-ny/e", "clash-la/c"),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut want_sorted: Vec<(String, String)> = want
        .iter()
        .map(|(x, y)| (x.to_string(), y.to_string()))
        .collect();
    want_sorted.sort();
    assert_eq!(
        got_sorted, want_sorted,
        "a–c only touch, d overlaps nothing"
    );
    // A cancelled session no longer conflicts.
    app.admin(
        "DELETE",
        "/api/conferences/clash-ny/sessions/e",
        &Value::Null,
    );
    assert_eq!(
        agenda(&app, &token)["conflicts"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn feed_spans_conferences_in_different_zones_and_follows_stars() {
    let app = spawn_app();
    assert_eq!(app.put_schedule(&fixture("kolkata-2012.json")).status, 201);
    let kolkata: Vec<String> = app.ids("/api/conferences/kolkata-2012/sessions");
    let token = create(&app, Some(&json!({"name": "Two cities"})))["token"]
        .as_str()
        .unwrap()
        .to_owned();
    star(&app, &token, "pycon-us-2012", "dismantling-jinja", true);
    star(&app, &token, "kolkata-2012", &kolkata[0], true);
    star(
        &app,
        &token,
        "pycon-us-2012",
        "apache-cassandra-and-python",
        true,
    );

    let path = format!("/agendas/{token}.ics");
    let r = app.get(&path);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert!(r.header("cache-control").unwrap().starts_with("private"));
    let body = r.text();
    let unfolded = body.replace("\r\n ", "");
    assert!(unfolded.contains("X-WR-CALNAME:Two cities\r\n"));
    assert!(unfolded.contains("REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n"));
    assert_eq!(unfolded.matches("BEGIN:VEVENT").count(), 3);
    for tz in ["America/Los_Angeles", "Asia/Kolkata"] {
        assert!(
            unfolded.contains(&format!("BEGIN:VTIMEZONE\r\nTZID:{tz}\r\n")),
            "{tz}"
        );
        assert!(unfolded.contains(&format!("DTSTART;TZID={tz}:")), "{tz}");
    }
    // The same UID as in the conference's own feed.
    let conf_feed = app
        .get("/conferences/pycon-us-2012/sessions.ics")
        .text()
        .replace("\r\n ", "");
    let uid = "UID:dismantling-jinja.pycon-us-2012@127.0.0.1\r\n";
    assert!(unfolded.contains(uid) && conf_feed.contains(uid));

    // Revalidation, then a change of stars shows at once.
    let etag = r.header("etag").unwrap().to_owned();
    let r304 = app.request("GET", &path, &[("If-None-Match", &etag)], None);
    assert_eq!(r304.status, 304);
    assert!(r304.body.is_empty());
    star(
        &app,
        &token,
        "pycon-us-2012",
        "apache-cassandra-and-python",
        false,
    );
    let r = app.request("GET", &path, &[("If-None-Match", &etag)], None);
    assert_eq!(r.status, 200);
    assert_ne!(r.header("etag").unwrap(), etag);
    assert!(!r
        .text()
        .contains("apache-cassandra-and-python.pycon-us-2012"));

    // A starred session that is cancelled stays, as cancelled.
    app.admin(
        "DELETE",
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
        &Value::Null,
    );
    let text = app.get(&path).text().replace("\r\n ", "");
    let event = text
        .split("BEGIN:VEVENT")
        .find(|e| e.contains(uid))
        .expect("cancelled session still in the feed");
    assert!(event.contains("STATUS:CANCELLED\r\n"));
    assert!(event.contains("SEQUENCE:1\r\n"));

    // HEAD answers with the headers and no body.
    let head = app.request("HEAD", &path, &[], None);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn rotate_kills_the_old_token_everywhere_and_keeps_stars() {
    let app = spawn_app();
    let old = create(&app, None)["token"].as_str().unwrap().to_owned();
    star(&app, &old, "pycon-us-2012", "dismantling-jinja", true);
    star(
        &app,
        &old,
        "pycon-us-2012",
        "make-sure-your-programs-crash",
        true,
    );
    let before = starred(&app, &old);

    let r = app.request("POST", &format!("/api/agendas/{old}/rotate"), &[], None);
    assert_eq!(r.status, 200);
    let links = r.json();
    let new = links["token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(links["feed_url"], format!("{}/agendas/{new}.ics", app.base));
    assert_dead(&app, &old);
    assert_eq!(starred(&app, &new), before);
    assert_eq!(app.get(&format!("/agendas/{new}.ics")).status, 200);
    star(
        &app,
        &new,
        "pycon-us-2012",
        "apache-cassandra-and-python",
        true,
    );
    assert_eq!(starred(&app, &new).len(), 3);
}

#[test]
fn delete_and_unknown_tokens_are_uniform_404s() {
    let app = spawn_app();
    let token = create(&app, None)["token"].as_str().unwrap().to_owned();
    star(&app, &token, "pycon-us-2012", "dismantling-jinja", true);
    let r = app.request("DELETE", &format!("/api/agendas/{token}"), &[], None);
    assert_eq!(r.status, 204);
    assert_dead(&app, &token);

    // Never issued, one character off, malformed: all the same answer.
    let mut off = token.clone().into_bytes();
    off[0] = if off[0] == b'A' { b'B' } else { b'A' };
    for t in [
        "A".repeat(43),
        String::from_utf8(off).unwrap(),
        "short".to_owned(),
        "x".repeat(200),
    ] {
        assert_dead(&app, &t);
    }
}
