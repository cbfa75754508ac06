//! The subscribe panel against Google Calendar's published limits: the
//! `cid=` link carries the https URL, never leads to a feed over 1,000,000
//! bytes when a smaller form exists (and says why), no subscribe URL is
//! longer than 256 characters, and reminders are a plain GET choice.

use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with, Resp, TestApp};
use crate::pages::href_of;

const GOOGLE: &str = "https://calendar.google.com/calendar/r?cid=";

fn page(app: &TestApp, path: &str) -> String {
    let r = app.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.text()
}

/// The feed address inside the page's Google link, if there is one.
fn google_feed(html: &str) -> Option<String> {
    if !html.contains("id=\"subscribe-google\"") {
        return None;
    }
    let link = href_of(html, "subscribe-google");
    let cid = link.strip_prefix(GOOGLE).expect("a cid= link");
    Some(
        url::form_urlencoded::parse(format!("cid={cid}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned(),
    )
}

/// GET of an absolute URL on the test app.
fn fetch(app: &TestApp, url: &str) -> Resp {
    let path = url.strip_prefix(&app.base).expect("a URL of this app");
    let r = app.get(path);
    assert_eq!(r.status, 200, "{url}: {}", r.text());
    r
}

fn generated(app: &TestApp, sessions: usize) {
    let doc = confcal::generate::generate(&confcal::generate::GenerateArgs {
        sessions,
        days: None,
        rooms: 12,
        seed: 7,
    });
    let r = app.put_schedule(&serde_json::to_value(&doc).unwrap());
    assert_eq!(r.status, 201, "{}", r.text());
}

fn no_seed() -> TestApp {
    spawn_app_with(|s| s.data_dir = None)
}

#[test]
fn google_gets_the_compact_feed_of_a_large_conference() {
    let app = no_seed();
    generated(&app, 1_000);
    let html = page(&app, "/conferences/bench-conf");
    let full = fetch(&app, &href_of(&html, "subscribe-https"));
    assert!(full.body.len() > 1_000_000, "full feed {}", full.body.len());
    let google = google_feed(&html).expect("a Google link");
    assert!(google.starts_with("http://"), "{google}");
    assert!(google.contains("compact=1"), "{google}");
    let compact = fetch(&app, &google);
    assert!(
        compact.body.len() <= 1_000_000,
        "compact {}",
        compact.body.len()
    );
    assert_eq!(
        compact.text().matches("BEGIN:VEVENT").count(),
        full.text().matches("BEGIN:VEVENT").count()
    );
    assert!(html.contains("id=\"google-note\""));
    assert!(
        html.contains("Google Calendar ignores feeds over 1 MB"),
        "{html}"
    );
    // One day of it is small enough for the plain feed.
    let day = page(&app, "/conferences/bench-conf?day=2012-03-09");
    let google = google_feed(&day).expect("a Google link");
    assert_eq!(google, href_of(&day, "subscribe-https"));
    assert!(fetch(&app, &google).body.len() <= 1_000_000);
    assert!(!day.contains("id=\"google-note\""));
}

#[test]
fn no_google_link_when_even_the_compact_feed_is_too_large() {
    let app = no_seed();
    generated(&app, 2_000);
    let html = page(&app, "/conferences/bench-conf");
    assert_eq!(google_feed(&html), None);
    assert!(html.contains("too large for Google Calendar"), "{html}");
    assert!(html.contains("pick a day or a"));
    // The other ways to subscribe stay.
    for id in ["subscribe-webcal", "subscribe-https", "subscribe-outlook"] {
        href_of(&html, id);
    }
}

#[test]
fn long_filters_get_a_short_stable_address() {
    let app = spawn_app();
    let query = "room=E1&room=E2&room=E3&room=E4&room=Grand+Ballroom&day=2012-03-09&day=2012-03-10\
                 &q=python+metaprogramming&q=code+generation&q=apache+cassandra&q=crash+reports\
                 &speaker=Armin+Ronacher&speaker=Jeremy+Edberg&speaker=David+Beazley";
    let long_feed = format!("/conferences/pycon-us-2012/sessions.ics?{query}");
    assert!(
        app.base.len() + long_feed.len() > 256,
        "the test needs a long URL"
    );
    let html = page(&app, &format!("/conferences/pycon-us-2012?{query}"));
    let https = href_of(&html, "subscribe-https");
    assert!(https.len() <= 256, "{https}");
    let code = https
        .strip_prefix(&format!("{}/feeds/", app.base))
        .and_then(|c| c.strip_suffix(".ics"))
        .unwrap_or_else(|| panic!("not a short address: {https}"));
    assert_eq!(code.len(), 16);
    for id in ["subscribe-webcal", "subscribe-outlook"] {
        assert!(href_of(&html, id).len() <= 256 + 200, "{id}");
    }
    assert_eq!(
        href_of(&html, "subscribe-webcal"),
        https.replace("http://", "webcal://")
    );
    assert_eq!(google_feed(&html).as_deref(), Some(https.as_str()));
    // The same feed, byte for byte and tag for tag, as the long address.
    let short = fetch(&app, &https);
    let long = app.get(&long_feed);
    assert_eq!(long.status, 200);
    assert_eq!(short.body, long.body);
    assert_eq!(short.header("etag"), long.header("etag"));
    assert!(short.text().contains("BEGIN:VEVENT"));
    // Stable: the next view gives the same address; HEAD works too.
    let again = page(&app, &format!("/conferences/pycon-us-2012?{query}"));
    assert_eq!(href_of(&again, "subscribe-https"), https);
    let head = app.request("HEAD", &format!("/feeds/{code}.ics"), &[], None);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("etag"), long.header("etag"));
    // Unknown and malformed codes are JSON 404s.
    for bad in ["aaaaaaaaaaaaaaaa", "x", "AAAAAAAAAAAAAAAA"] {
        let r = app.get(&format!("/feeds/{bad}.ics"));
        assert_eq!(r.status, 404, "{bad}");
        assert_eq!(r.json()["field"], "feed");
    }
    // Short URLs for short feeds stay the plain ones.
    let plain = page(&app, "/conferences/pycon-us-2012?room=E2");
    assert_eq!(
        href_of(&plain, "subscribe-https"),
        format!(
            "{}/conferences/pycon-us-2012/sessions.ics?room=E2",
            app.base
        )
    );
}

#[test]
fn reminders_are_chosen_with_a_plain_form() {
    let app = spawn_app();
    let html = page(&app, "/conferences/pycon-us-2012?day=2012-03-09");
    assert!(html.contains("<select id=\"f-alarm\" name=\"alarm\">"));
    assert!(html.contains("<option value=\"\" selected>No reminders</option>"));
    assert!(html.contains("<input type=\"hidden\" name=\"day\" value=\"2012-03-09\">"));
    assert!(!fetch(&app, &href_of(&html, "subscribe-https"))
        .text()
        .contains("BEGIN:VALARM"));
    // Submitting the form is a GET of the page with alarm=.
    let html = page(&app, "/conferences/pycon-us-2012?day=2012-03-09&alarm=15");
    assert!(html.contains("<option value=\"15\" selected>15 minutes before</option>"));
    let https = href_of(&html, "subscribe-https");
    assert!(https.ends_with("?day=2012-03-09&alarm=15"), "{https}");
    let feed = fetch(&app, &https).text();
    assert_eq!(
        feed.matches("BEGIN:VALARM").count(),
        feed.matches("BEGIN:VEVENT").count()
    );
    assert!(feed.contains("TRIGGER:-PT15M"));
    let google = google_feed(&html).unwrap();
    assert!(google.contains("alarm=15"));
    // "No reminders" sends an empty value: the page tidies it away (the
    // client follows the redirect).
    let html = page(&app, "/conferences/pycon-us-2012?day=2012-03-09&alarm=");
    assert!(html.contains("<option value=\"\" selected>No reminders</option>"));
    assert!(href_of(&html, "subscribe-https").ends_with("?day=2012-03-09"));
}

#[test]
fn agenda_reminders_and_links() {
    let app = spawn_app();
    let created: Value = app.request("POST", "/api/agendas", &[], Some(b"{}")).json();
    let token = created["token"].as_str().unwrap().to_owned();
    let r = app.request(
        "PUT",
        &format!("/api/agendas/{token}/sessions/pycon-us-2012/dismantling-jinja"),
        &[],
        None,
    );
    assert!(r.status < 300, "{}", r.text());
    let html = page(&app, &format!("/agendas/{token}?alarm=30"));
    let https = href_of(&html, "subscribe-https");
    assert_eq!(https, format!("{}/agendas/{token}.ics?alarm=30", app.base));
    assert!(https.len() <= 256);
    assert!(fetch(&app, &https).text().contains("TRIGGER:-PT30M"));
    assert_eq!(google_feed(&html).as_deref(), Some(https.as_str()));
    let html = page(&app, &format!("/agendas/{token}?alarm="));
    assert_eq!(
        href_of(&html, "subscribe-https"),
        format!("{}/agendas/{token}.ics", app.base)
    );
    assert_eq!(app.get(&format!("/agendas/{token}?alarm=5000")).status, 400);
}
