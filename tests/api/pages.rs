//! The HTML pages: rendering, filters, escaping, security headers, CSRF,
//! the agenda cookie and the star/unstar/rotate/delete forms.

use serde_json::{json, Value};

use crate::helpers::{doc, fixture, spawn_app, spawn_app_with, Resp};
use crate::support::browser::Browser;

fn set_cookies(r: &Resp) -> Vec<&str> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Undoes the escaping askama applies, for comparing attribute values.
fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// Session ids (`id="s-…"`) on a page, in order.
fn session_ids(html: &str) -> Vec<String> {
    html.split("id=\"s-")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect()
}

/// The first `value` of a hidden input named `name`.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let rest = &html[html.find(&marker).unwrap_or_else(|| panic!("no {name}")) + marker.len()..];
    unescape(&rest[..rest.find('"').unwrap()])
}

pub fn href_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\" href=\"");
    let rest = &html[html.find(&marker).unwrap_or_else(|| panic!("no #{id}")) + marker.len()..];
    unescape(&rest[..rest.find('"').unwrap()])
}

fn assert_html(r: &Resp, status: u16) -> String {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = r.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.header("referrer-policy").is_some());
    let body = r.text();
    assert!(body.starts_with("<!DOCTYPE html>"), "{body}");
    assert!(body.contains("<html lang=\"en\">"));
    assert!(body.contains("<meta charset=\"utf-8\">"));
    assert!(body.contains("name=\"viewport\""));
    assert_eq!(body.matches("<h1").count(), 1, "one h1: {body}");
    assert!(!body.contains("<script>"), "no inline script");
    body
}

#[test]
fn conference_list_and_sessions_page_render() {
    let app = spawn_app();
    let mut b = Browser::new(&app);
    let home = assert_html(&b.get("/"), 200);
    assert!(home.contains("href=\"/conferences/pycon-us-2012\""));
    assert!(home.contains("PyCon US 2012"));
    assert!(home.contains("Friday 9th March 2012"));

    let page = assert_html(&b.get("/conferences/pycon-us-2012"), 200);
    assert!(page.contains("<h1>Sessions at PyCon US 2012</h1>"));
    assert_eq!(session_ids(&page).len(), 5);
    assert!(page.contains(
        "<a href=\"/conferences/pycon-us-2012/sessions/dismantling-jinja\">Code Generation in Python: Dismantling Jinja</a>"
    ));
    // The list is light: facts under each day's heading, one star form
    // for all; the abstract and the calendar actions are on the talk page.
    assert!(page.contains("<h3 id=\"d-1\">Friday 9th March</h3>"));
    assert!(page.contains("<p>2:00pm to 2:40pm · E2 · by Armin Ronacher</p>"));
    assert!(page.contains(
        "<button form=\"star\" name=\"star\" value=\"dismantling-jinja\">☆ Star</button>"
    ));
    assert_eq!(page.matches("<form id=\"star\"").count(), 1);
    assert!(!page.contains("Very brief intro to Apache Cassandra"));
    assert!(!page.contains("calendar/render"));
    // Subscribe panel for every session.
    let feed = format!("{}/conferences/pycon-us-2012/sessions.ics", app.base);
    let webcal = feed.replace("http://", "webcal://");
    assert_eq!(href_of(&page, "subscribe-https"), feed);
    assert_eq!(href_of(&page, "subscribe-webcal"), webcal);
    // Google's cid= link takes the http(s) URL (a webcal one opens empty).
    let enc: String = url::form_urlencoded::byte_serialize(feed.as_bytes()).collect();
    assert_eq!(
        href_of(&page, "subscribe-google"),
        format!("https://calendar.google.com/calendar/r?cid={enc}")
    );
    assert!(
        !page.contains("id=\"google-note\""),
        "a small feed needs no note"
    );
    assert!(href_of(&page, "subscribe-outlook")
        .starts_with("https://outlook.live.com/calendar/0/addfromweb?url=http%3A%2F%2F127.0.0.1"));
    // Filter form: labelled selects with the data's days and rooms.
    assert!(page.contains("<label for=\"f-day\">Day</label>"));
    assert!(page.contains("<option value=\"2012-03-09\">Friday 9th March</option>"));
    assert!(page.contains("<option value=\"E3\">E3</option>"));

    let one = assert_html(
        &b.get("/conferences/pycon-us-2012/sessions/dismantling-jinja"),
        200,
    );
    assert!(one.contains("<h1>Code Generation in Python: Dismantling Jinja</h1>"));
    assert!(one.contains("by Armin Ronacher"));
    assert!(one.contains("2:00pm to 2:40pm, Friday 9th March"));
    assert!(one.contains("In E2, Santa Clara Convention Center"));
    assert!(one.contains("href=\"/conferences/pycon-us-2012/sessions/dismantling-jinja.ics\" download>Download .ics</a>"));
    let google = unescape(&one);
    assert!(google.contains("https://calendar.google.com/calendar/render?action=TEMPLATE&dates=20120309T220000Z/20120309T224000Z&text=Code+Generation+in+Python%3A+Dismantling+Jinja&"));
    // The outline of an abstract is a list.
    let other = b
        .get("/conferences/pycon-us-2012/sessions/apache-cassandra-and-python")
        .text();
    assert!(other.contains("<ul><li>Very brief intro to Apache Cassandra</li>"));
    assert!(one.contains("Download .ics"));
    assert!(one.contains("Add to Google Calendar"));
    assert!(one.contains("value=\"star\""));
    // The single talk's .ics still answers beside the page.
    let ics = app.get("/conferences/pycon-us-2012/sessions/dismantling-jinja.ics");
    assert_eq!(ics.status, 200);
    assert!(ics.text().contains("BEGIN:VEVENT"));
}

#[test]
fn filters_select_the_same_sessions_as_the_feeds() {
    let app = spawn_app();
    assert_eq!(app.put_schedule(&fixture("dst-la-2012.json")).status, 201);
    let mut b = Browser::new(&app);
    for q in [
        "day=2012-03-11&room=B",
        "day=2012-03-10",
        "room=a",
        "day=2012-03-11&day=2012-03-12&room=A",
        "q=morning",
    ] {
        let page = assert_html(&b.get(&format!("/conferences/dst-lab?{q}")), 200);
        let api = app.ids(&format!("/api/conferences/dst-lab/sessions?{q}&status=all"));
        assert!(!api.is_empty(), "{q}");
        assert_eq!(session_ids(&page), api, "{q}");
        assert!(page.contains("matching your filters"));
        assert!(page.contains("Your current filters are"));
        assert_eq!(
            href_of(&page, "subscribe-https"),
            format!("{}/conferences/dst-lab/sessions.ics?{q}", app.base),
            "{q}"
        );
    }
    let page = b.get("/conferences/dst-lab?day=2012-03-11&room=B").text();
    assert!(page.contains("<option value=\"2012-03-11\" selected>Sunday 11th March</option>"));
    assert!(page.contains("<option value=\"B\" selected>B</option>"));
    // Each current filter links to the page without it.
    assert!(page.contains("Day: Sunday 11th March<a href=\"/conferences/dst-lab?room=B\""));
    assert!(page.contains("Room: B<a href=\"/conferences/dst-lab?day=2012-03-11\""));

    // The form's empty fields mean "any": redirected to the tidy URL.
    let r = b.get("/conferences/dst-lab?day=2012-03-11&room=B&speaker=&track=&q=");
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("/conferences/dst-lab?day=2012-03-11&room=B")
    );

    // Bad values: a 400 page naming the filter, never a 500.
    for q in [
        "day=2012-13-40",
        "day=tomorrow",
        "rooms=B",
        "speaker=%01x",
        &format!("q={}", "x".repeat(300)),
    ] {
        let body = assert_html(&b.get(&format!("/conferences/dst-lab?{q}")), 400);
        assert!(body.contains("cannot be used"), "{q}: {body}");
    }
    // An unknown conference is a 404 whatever the filters.
    assert_html(&b.get("/conferences/nope?day=bad"), 404);
}

#[test]
fn cancelled_sessions_are_listed_struck_through() {
    let app = spawn_app();
    let r = app.admin(
        "DELETE",
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let page = Browser::new(&app).get("/conferences/pycon-us-2012").text();
    assert_eq!(session_ids(&page).len(), 5);
    assert!(page.contains("4 sessions and 1 cancelled"));
    assert!(page.contains("<li class=\"row cancelled\" id=\"s-dismantling-jinja\""));
    assert!(page.contains("<del>Code Generation in Python: Dismantling Jinja</del>"));
    assert!(page.contains("<span class=\"badge\">Cancelled</span>"));
}

#[test]
fn user_text_is_escaped_everywhere() {
    let app = spawn_app();
    let evil = "<script>alert(1)</script>";
    let doc = json!({
        "conference": {"slug": "xss", "name": format!("Conf {evil}"), "timezone": "Europe/Paris",
                       "venue": "\"><img src=x onerror=alert(2)>", "url": null},
        "sessions": [{"id": "talk", "title": evil, "speakers": ["O'Brien <b>"],
            "start": "2030-05-01T10:00", "end": "2030-05-01T11:00", "room": "<i>R</i>",
            "tracks": ["<u>t</u>"], "abstract": format!("{evil}\n• <em>item</em>"),
            "notes": "<marquee>", "url": "https://example.com/?a=\"><script>alert(4)</script>"}]
    });
    let r = app.put_schedule(&doc);
    assert_eq!(r.status, 201, "{}", r.text());
    let mut b = Browser::new(&app);
    let _ = b.get("/");
    assert_eq!(b.star("xss", "talk", "/").status, 303);
    let agenda_path = b.get("/agendas").header("location").unwrap().to_owned();
    for path in [
        "/",
        "/conferences/xss",
        "/conferences/xss?room=%3Ci%3ER%3C%2Fi%3E",
        "/conferences/xss?speaker=%3Cscript%3E",
        "/conferences/xss/sessions/talk",
        agenda_path.as_str(),
    ] {
        let r = b.get(path);
        assert_eq!(r.status, 200, "{path}");
        let body = r.text();
        for raw in [
            "<script>alert",
            "<img src=x",
            "<b>",
            "<i>R",
            "<u>t",
            "<em>",
            "<marquee>",
            "javascript:",
        ] {
            assert!(!body.contains(raw), "{path} shows {raw} unescaped");
        }
        if path != "/" {
            assert!(
                body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{path}: {body}"
            );
        }
    }
    // Bad values echoed on an error page are escaped too.
    let r = b.get("/conferences/xss?day=%3Cscript%3E");
    assert_eq!(r.status, 400);
    assert!(!r.text().contains("<script>"));
}

#[test]
fn csrf_and_origin_are_checked() {
    let app = spawn_app();
    let mut b = Browser::new(&app);
    let page = b.get("/conferences/pycon-us-2012").text();
    let field = hidden(&page, "csrf");
    assert_eq!(field, b.csrf(), "the form repeats the cookie");
    let again = b.get("/conferences/pycon-us-2012");
    let set = set_cookies(&again);
    assert!(set.is_empty(), "a known CSRF cookie is kept: {set:?}");

    let form = |csrf: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("csrf", csrf),
            ("conference", "pycon-us-2012"),
            ("session", "dismantling-jinja"),
            ("action", "star"),
            ("back", "/"),
        ]
    };
    // No field, a wrong field, no cookie: 403, and no agenda created.
    let mut no_field = form("");
    no_field.remove(0);
    let r = b.post("/agendas/star", &no_field);
    assert_html(&r, 403);
    let r = b.post(
        "/agendas/star",
        &form("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    );
    assert_html(&r, 403);
    assert!(set_cookies(&r).is_empty());
    let mut stranger = Browser::new(&app);
    let leaked: &'static str = Box::leak(field.clone().into_boxed_str());
    let r = stranger.post("/agendas/star", &form(leaked));
    assert_html(&r, 403);
    assert!(r.text().contains("cookie"));
    // The right token from another site's page: 403.
    let csrf = b.csrf();
    let r = b.send(
        "POST",
        "/agendas/star",
        &[("Origin", "https://evil.example")],
        Some(&[
            ("csrf", &csrf),
            ("conference", "pycon-us-2012"),
            ("session", "dismantling-jinja"),
            ("action", "star"),
        ]),
    );
    assert_html(&r, 403);
    assert!(!b.cookies.contains_key("confcal_agenda"));
    // Right cookie and field: accepted.
    assert_eq!(
        b.star("pycon-us-2012", "dismantling-jinja", "/").status,
        303
    );
    assert!(b.cookies.contains_key("confcal_agenda"));
}

#[test]
fn starring_creates_the_agenda_and_remembers_it() {
    let app = spawn_app();
    let mut b = Browser::new(&app);
    assert_eq!(
        b.get("/agendas").status,
        200,
        "no agenda yet: a page saying how"
    );
    let back = "/conferences/pycon-us-2012?room=E2";
    let _ = b.get(back);
    let r = b.star("pycon-us-2012", "dismantling-jinja", back);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some("/conferences/pycon-us-2012?room=E2#s-dismantling-jinja")
    );
    let cookie = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("confcal_agenda="))
        .expect("agenda cookie")
        .to_owned();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http base URL: {cookie}");
    let token = b.cookies["confcal_agenda"].clone();
    assert_eq!(token.len(), 43);

    // The page now shows it starred; a second star reuses the agenda.
    let page = b.get(back).text();
    assert!(page.contains("name=\"unstar\" value=\"dismantling-jinja\""));
    let r = b.star(
        "pycon-us-2012",
        "apache-cassandra-and-python",
        "//evil.example/x",
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("/conferences/pycon-us-2012/sessions/apache-cassandra-and-python"),
        "never an open redirect"
    );
    assert!(set_cookies(&r)
        .iter()
        .all(|c| !c.starts_with("confcal_agenda")));
    assert_eq!(b.cookies["confcal_agenda"], token);

    // /agendas sends the browser to its agenda, without a Referer.
    let r = b.get("/agendas");
    assert_eq!(r.status, 303);
    let path = format!("/agendas/{token}");
    assert_eq!(r.header("location"), Some(path.as_str()));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    let r = b.get(&path);
    let body = assert_html(&r, 200);
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert!(r.header("cache-control").unwrap().contains("no-store"));
    assert_eq!(
        session_ids(&body),
        ["dismantling-jinja", "apache-cassandra-and-python"]
    );
    assert!(body.contains("<h2 id=\"day-1\">Friday 9th March 2012</h2>"));
    let feed = format!("{}/agendas/{token}.ics", app.base);
    assert_eq!(href_of(&body, "subscribe-https"), feed);
    assert_eq!(
        href_of(&body, "subscribe-webcal"),
        feed.replace("http://", "webcal://")
    );
    assert!(href_of(&body, "subscribe-google")
        .starts_with("https://calendar.google.com/calendar/r?cid=http%3A%2F%2F"));
    assert!(href_of(&body, "subscribe-outlook").contains("&name=My+agenda"));
    let api: Value = app.get(&format!("/api/agendas/{token}")).json();
    assert_eq!(api["sessions"].as_array().unwrap().len(), 2);

    // A cookie naming a deleted agenda: the next star makes a new one.
    b.cookies.insert("confcal_agenda".into(), "x".repeat(43));
    assert_eq!(
        b.star("pycon-us-2012", "dismantling-jinja", "/").status,
        303
    );
    assert_ne!(b.cookies["confcal_agenda"], token);
    assert_ne!(b.cookies["confcal_agenda"], "x".repeat(43));
}

#[test]
fn agenda_page_marks_conflicts_and_unstars_rotates_deletes() {
    let app = spawn_app();
    let d = doc(
        "clash",
        "Europe/Berlin",
        &[
            ("a", "2030-06-01T10:00", "2030-06-01T11:00"),
            ("b", "2030-06-01T10:30", "2030-06-01T11:30"),
            ("c", "2030-06-02T09:00", "2030-06-02T10:00"),
        ],
    );
    assert_eq!(app.put_schedule(&d).status, 201);
    let mut b = Browser::new(&app);
    let _ = b.get("/conferences/clash");
    for id in ["a", "b", "c"] {
        assert_eq!(b.star("clash", id, "/conferences/clash").status, 303);
    }
    let token = b.cookies["confcal_agenda"].clone();
    let path = format!("/agendas/{token}");
    let body = b.get(&path).text();
    assert_eq!(
        body.matches("<span class=\"badge conflict\">Conflict</span>")
            .count(),
        2
    );
    assert!(body.contains("Overlaps “Talk b”"));
    assert!(body.contains("1 conflict</strong>"));
    assert!(body.contains("Saturday 1st June 2030") && body.contains("Sunday 2nd June 2030"));

    // Unstar from the agenda page.
    let csrf = b.csrf();
    let r = b.post(
        &format!("{path}/stars"),
        &[
            ("csrf", &csrf),
            ("conference", "clash"),
            ("session", "b"),
            ("action", "unstar"),
            ("back", &path),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    let body = b.get(&path).text();
    assert_eq!(session_ids(&body), ["a", "c"]);
    assert!(!body.contains("Conflict</span>"));

    // Forms on the agenda page need the CSRF token too.
    let r = b.post(&format!("{path}/rotate"), &[("csrf", "nope")]);
    assert_html(&r, 403);
    assert_eq!(app.get(&format!("/api/agendas/{token}")).status, 200);

    // Rotate: a new address, the cookie follows, the old one is gone.
    let r = b.post(&format!("{path}/rotate"), &[("csrf", &csrf)]);
    assert_eq!(r.status, 303);
    let new = b.cookies["confcal_agenda"].clone();
    assert_ne!(new, token);
    assert_eq!(
        r.header("location"),
        Some(format!("/agendas/{new}").as_str())
    );
    assert_html(&b.get(&path), 404);
    let new_path = format!("/agendas/{new}");
    assert_eq!(session_ids(&b.get(&new_path).text()), ["a", "c"]);

    // Delete: gone, and the browser forgets it.
    let r = b.post(&format!("{new_path}/delete"), &[("csrf", &csrf)]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/agendas"));
    assert!(!b.cookies.contains_key("confcal_agenda"));
    let r = b.get(&new_path);
    assert_html(&r, 404);
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(app.get(&format!("/api/agendas/{new}")).status, 404);
}

/// The agenda page's rotate form carries the new address it proposes, so
/// a browser sending the form again (its answer was lost: a dropped
/// connection, a crash after the commit) lands on that same new address
/// instead of a 404 that leaves the agenda out of reach.
#[test]
fn a_rotate_form_sent_again_lands_on_the_same_new_address() {
    let app = spawn_app();
    let mut b = Browser::new(&app);
    let _ = b.get("/conferences/pycon-us-2012");
    assert_eq!(
        b.star("pycon-us-2012", "dismantling-jinja", "/").status,
        303
    );
    let token = b.cookies["confcal_agenda"].clone();
    let path = format!("/agendas/{token}");
    let page = b.get(&path).text();
    let marker = "name=\"new_token\" value=\"";
    let at = page.find(marker).expect("the rotate form proposes a token") + marker.len();
    let proposed = page[at..at + 43].to_owned();
    assert_ne!(proposed, token);
    assert!(
        !b.get(&path).text().contains(&proposed),
        "every page view proposes a fresh token"
    );
    let csrf = b.csrf();
    let form = [("csrf", csrf.as_str()), ("new_token", proposed.as_str())];
    let first = b.post(&format!("{path}/rotate"), &form);
    assert_eq!(first.status, 303);
    let want = format!("/agendas/{proposed}");
    assert_eq!(first.header("location"), Some(want.as_str()));
    // The browser never saw that answer and sends the form again.
    b.cookies.insert("confcal_agenda".into(), token.clone());
    let again = b.post(&format!("{path}/rotate"), &form);
    assert_eq!(again.status, 303, "{}", again.text());
    assert_eq!(again.header("location"), Some(want.as_str()));
    assert_eq!(b.cookies["confcal_agenda"], proposed);
    assert_eq!(session_ids(&b.get(&want).text()), ["dismantling-jinja"]);
    assert_html(&b.get(&path), 404);
    // A malformed proposal is a 400 page, not a 500.
    let r = b.post(
        &format!("{want}/rotate"),
        &[("csrf", csrf.as_str()), ("new_token", "short")],
    );
    assert_html(&r, 400);
}

#[test]
fn unknown_pages_are_html_404s() {
    let app = spawn_app();
    let mut b = Browser::new(&app);
    for path in [
        "/conferences/nope",
        "/conferences/NOPE!",
        "/conferences/pycon-us-2012/sessions/nope",
        "/conferences/pycon-us-2012/sessions/Bad_Id",
        "/agendas/short",
        &format!("/agendas/{}", "a".repeat(43)),
    ] {
        let body = assert_html(&b.get(path), 404);
        assert!(body.contains("<h1>Not found</h1>"), "{path}");
    }
    // Starring an unknown session creates no agenda.
    let _ = b.get("/");
    let r = b.star("pycon-us-2012", "nope", "/");
    assert_html(&r, 404);
    assert!(!b.cookies.contains_key("confcal_agenda"));
}

#[test]
fn assets_are_hashed_and_cached() {
    let app = spawn_app();
    let page = app.get("/").text();
    let css = page
        .split("href=\"")
        .find_map(|s| s.split('"').next().filter(|h| h.ends_with(".css")))
        .unwrap()
        .to_owned();
    assert!(
        css.starts_with("/assets/app.") && css.len() > "/assets/app..css".len() + 8,
        "{css}"
    );
    let r = app.get(&css);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let etag = r.header("etag").unwrap().to_owned();
    let again = app.request("GET", &css, &[("If-None-Match", &etag)], None);
    assert_eq!(again.status, 304);
    let js = page
        .split("<script src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let r = app.get(js);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("clipboard"));
    assert_eq!(app.get("/assets/app.css").status, 404);
    assert_eq!(app.get("/assets/../Cargo.toml").status, 404);
}

#[test]
fn pages_obey_the_rate_limits() {
    let app = spawn_app_with(|s| {
        s.agenda_create_per_minute = 2;
        s.unknown_token_per_minute = 3;
    });
    // Agenda creation from the star form counts like the API's.
    for i in 0..3 {
        let mut b = Browser::new(&app);
        let _ = b.get("/");
        let r = b.star("pycon-us-2012", "dismantling-jinja", "/");
        if i < 2 {
            assert_eq!(r.status, 303, "{}", r.text());
        } else {
            assert_html(&r, 429);
            assert!(r.header("retry-after").is_some());
            assert!(!b.cookies.contains_key("confcal_agenda"));
        }
    }
    // Unknown tokens on the HTML pages are counted too.
    let mut b = Browser::new(&app);
    for c in ["a", "b", "c"] {
        assert_html(&b.get(&format!("/agendas/{}", c.repeat(43))), 404);
    }
    let r = b.get(&format!("/agendas/{}", "d".repeat(43)));
    assert_eq!(r.status, 429);
}
