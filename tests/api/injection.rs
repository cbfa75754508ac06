//! Injection: text that looks like iCalendar syntax, HTML or SQL stays text.
//!
//! - iCalendar: CR/LF, `BEGIN:VEVENT`/`DTSTART:`/`END:VCALENDAR`, `;` `,`
//!   `\` `:` and long lines in every field come out of every feed kind
//!   (conference, filtered, single talk, agenda) as property values: the
//!   `icalendar` crate's parser (and Python's `icalendar`, when installed)
//!   reads exactly the expected VEVENTs with the stored text.
//! - HTML: markup in every field, in an agenda's name and in echoed filter
//!   values is escaped on the conference, session and agenda pages
//!   (attribute contexts included; `pages.rs` covers the element contexts).
//! - SQL: quotes, comments, `%` and `_` in filters and in stored text are
//!   inert: filters return what a literal match would, the data is intact.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const SLUG: &str = "inject";
/// Lines meant to become properties or components if a writer forgot to
/// escape line breaks.
const ICS_PAYLOAD: &str = "\r\nBEGIN:VEVENT\r\nDTSTART:20000101T000000Z\r\nEND:VEVENT";
/// The payload as it must read back: lines of a text value.
const PAYLOAD_AS_TEXT: &str = "\nBEGIN:VEVENT\nDTSTART:20000101T000000Z\nEND:VEVENT\n";

fn long_title() -> String {
    let mut t = String::from(
        "Semi; comma, back\\slash: colon END:VCALENDAR BEGIN:VEVENT DTSTART:20000101T000000Z ",
    );
    t.push_str(&"é,;\\".repeat(50));
    assert!(t.chars().count() <= 300);
    t
}

/// Four sessions: iCalendar syntax, HTML, and SQL metacharacters (with a
/// look-alike that a wildcard match would wrongly include).
fn evil_doc() -> Value {
    json!({
        "conference": {
            "slug": SLUG,
            "name": "Inject; Conf, END:VCALENDAR <script>alert(0)</script>",
            "timezone": "America/Los_Angeles",
            "venue": "Hall: A; B, C \\ \"><svg onload=alert(11)>",
            "url": null
        },
        "sessions": [
            {
                "id": "ics",
                "title": long_title(),
                "speakers": ["Ann; Bob", "Doe, Jane", "C:\\Users\\n", "BEGIN:VEVENT"],
                "start": "2030-05-01T09:00",
                "end": "2030-05-01T10:00",
                "room": "R;1,2\\3:4",
                "tracks": ["t,1", "t;2", "t\\3", "END:VCALENDAR"],
                "abstract": format!(
                    "Start{ICS_PAYLOAD}\r\nEND:VCALENDAR\nlone\rCR and \\n literal\n{}\n{}{}",
                    "x".repeat(300),
                    "é".repeat(100),
                    "\\;,:".repeat(40)
                ),
                "notes": format!("Note{ICS_PAYLOAD}\rDTEND:20000101T010000Z"),
                "url": null
            },
            {
                "id": "html",
                "title": "<script>alert('t')</script>",
                "speakers": ["<img src=x onerror=alert(1)>", "O' autofocus onfocus='alert(9)"],
                "start": "2030-05-01T10:00",
                "end": "2030-05-01T11:00",
                "room": "<b onmouseover=alert(2)>R</b>",
                "tracks": ["\"><svg onload=alert(3)>"],
                "abstract": "<script>alert(4)</script>\n<iframe src=javascript:alert(5)></iframe>",
                "notes": "</textarea><script>alert(6)</script>",
                "url": "https://example.com/?q=\"><script>alert(7)</script>"
            },
            {
                "id": "sql-a",
                "title": "' OR 1=1 --",
                "speakers": ["\"; DROP TABLE sessions; --"],
                "start": "2030-05-02T09:00",
                "end": "2030-05-02T10:00",
                "room": "100%",
                "tracks": ["a_b"],
                "abstract": "50% off_sale'; DELETE FROM sessions WHERE 1=1; --",
                "notes": null,
                "url": null
            },
            {
                "id": "sql-b",
                "title": "Plain talk",
                "speakers": ["Robert'); DROP TABLE agendas;--"],
                "start": "2030-05-02T10:00",
                "end": "2030-05-02T11:00",
                "room": "1000",
                "tracks": ["axb"],
                "abstract": "Nothing special, 100 percent.",
                "notes": null,
                "url": null
            }
        ]
    })
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The app with the evil conference imported and an agenda (with an HTML
/// name) starring all four sessions; returns the agenda token.
fn setup() -> (TestApp, String) {
    let app = spawn_app();
    let r = app.put_schedule(&evil_doc());
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app.request(
        "POST",
        "/api/agendas",
        &[],
        Some(br#"{"name": "<script>alert(8)</script> \"><svg onload=alert(12)>"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let token = r.json()["token"].as_str().unwrap().to_owned();
    for id in ["ics", "html", "sql-a", "sql-b"] {
        let r = app.request(
            "PUT",
            &format!("/api/agendas/{token}/sessions/{SLUG}/{id}"),
            &[],
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    (app, token)
}

/// The stored sessions, by id, as the JSON API serves them.
fn stored(app: &TestApp) -> BTreeMap<String, Value> {
    app.get(&format!("/api/conferences/{SLUG}/sessions?status=all"))
        .json()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_owned(), s.clone()))
        .collect()
}

/// Splits a raw (escaped) TEXT list at unescaped commas and unescapes each.
fn text_list(raw: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n' | 'N') => out.last_mut().unwrap().push('\n'),
                Some(e) => out.last_mut().unwrap().push(e),
                None => out.last_mut().unwrap().push('\\'),
            },
            ',' => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

/// Checks one served feed against the stored sessions and returns the
/// (SUMMARY, DESCRIPTION) pairs the crate's parser read, in feed order.
fn check_feed(
    app: &TestApp,
    path: &str,
    want: &[&str],
    sessions: &BTreeMap<String, Value>,
    venue: &str,
) -> Vec<(String, String)> {
    let r = app.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    let raw = r.text();

    // Raw lines: CRLF only, at most 75 octets, one VCALENDAR, and exactly
    // as many component starts as sessions; nothing from the payload is a
    // line of its own.
    assert!(raw.ends_with("END:VCALENDAR\r\n"), "{path}");
    let lines: Vec<&str> = raw.split_terminator("\r\n").collect();
    for line in &lines {
        assert!(line.len() <= 75, "{path}: long line {line:?}");
        assert!(!line.contains(['\r', '\n']), "{path}: bare CR/LF {line:?}");
    }
    let starting = |p: &str| lines.iter().filter(|l| l.starts_with(p)).count();
    assert_eq!(starting("BEGIN:VEVENT"), want.len(), "{path}");
    assert_eq!(starting("END:VEVENT"), want.len(), "{path}");
    assert_eq!(starting("BEGIN:VCALENDAR"), 1, "{path}");
    assert_eq!(starting("END:VCALENDAR"), 1, "{path}");
    assert_eq!(starting("DTSTART:2000"), 0, "{path}");
    assert_eq!(starting("DTEND:2000"), 0, "{path}");

    // An independent parser reads exactly the expected events and text.
    let unfolded = icalendar::parser::unfold(&raw);
    let cal = icalendar::parser::read_calendar(&unfolded).unwrap_or_else(|e| panic!("{path}: {e}"));
    let events: Vec<_> = cal
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .collect();
    assert_eq!(events.len(), want.len(), "{path}");
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for e in events {
        let prop = |name: &str| -> String {
            e.find_prop(name)
                .unwrap_or_else(|| panic!("{path}: no {name}"))
                .val
                .as_str()
                .to_owned()
        };
        let uid = prop("UID");
        let id = uid
            .strip_suffix(&format!(".{SLUG}@127.0.0.1"))
            .unwrap_or_else(|| panic!("{path}: UID {uid}"))
            .to_owned();
        let s = &sessions[&id];
        let summary = prop("SUMMARY");
        let description = prop("DESCRIPTION");
        assert_eq!(summary, s["title"].as_str().unwrap(), "{path} {id}");
        for field in ["abstract", "notes"] {
            if let Some(text) = s[field].as_str() {
                assert!(
                    description.contains(text),
                    "{path} {id}: DESCRIPTION lacks the {field}:\n{description:?}\n{text:?}"
                );
            }
        }
        let speakers: Vec<&str> = s["speakers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(description.contains(&speakers.join(", ")), "{path} {id}");
        let room = s["room"].as_str().unwrap();
        assert_eq!(prop("LOCATION"), format!("{room}, {venue}"), "{path} {id}");
        let tracks: Vec<String> = s["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(text_list(&prop("CATEGORIES")), tracks, "{path} {id}");
        assert!(
            e.find_prop("DTSTART")
                .unwrap()
                .val
                .as_str()
                .starts_with("2030"),
            "{path} {id}"
        );
        assert!(seen.insert(id), "{path}: {uid} twice");
        out.push((summary, description));
    }
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    assert_eq!(seen, want, "{path}");
    out
}

/// A Python with the `icalendar` package, if this machine has one
/// (`scripts/test` installs it in `.venv/`).
fn python_icalendar() -> Option<std::path::PathBuf> {
    let venv = crate::helpers::repo_path(".venv/bin/python3");
    [venv, "python3".into()].into_iter().find(|py| {
        std::process::Command::new(py)
            .args(["-c", "import icalendar"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// (SUMMARY, DESCRIPTION) of every VEVENT as Python's `icalendar` reads it.
fn python_reads(python: &std::path::Path, feed: &[u8]) -> Vec<(String, String)> {
    use std::io::Write as _;
    let script = "import sys, json, icalendar\n\
        cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())\n\
        print(json.dumps([[str(e['SUMMARY']), str(e['DESCRIPTION'])] for e in cal.walk('VEVENT')]))\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(feed).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python icalendar failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn ical_syntax_in_text_stays_text_in_every_feed() {
    let (app, token) = setup();
    let sessions = stored(&app);
    let doc = evil_doc();
    // Stored as sent, except that line ends are normalised to LF.
    for (i, id) in ["ics", "html", "sql-a", "sql-b"].iter().enumerate() {
        let sent = &doc["sessions"][i];
        let s = &sessions[*id];
        assert_eq!(s["title"], sent["title"], "{id}");
        assert_eq!(s["speakers"], sent["speakers"], "{id}");
        assert_eq!(s["room"], sent["room"], "{id}");
        assert_eq!(s["tracks"], sent["tracks"], "{id}");
        let norm = |v: &Value| {
            v.as_str()
                .map(|t| t.replace("\r\n", "\n").replace('\r', "\n"))
        };
        assert_eq!(norm(&s["abstract"]), norm(&sent["abstract"]), "{id}");
        assert_eq!(norm(&s["notes"]), norm(&sent["notes"]), "{id}");
    }
    assert!(sessions["ics"]["abstract"]
        .as_str()
        .unwrap()
        .contains(PAYLOAD_AS_TEXT));
    let venue = doc["conference"]["venue"].as_str().unwrap();

    let all = ["ics", "html", "sql-a", "sql-b"];
    let mut feeds: Vec<(String, Vec<&str>)> = vec![
        (format!("/conferences/{SLUG}/sessions.ics"), all.to_vec()),
        (
            format!(
                "/conferences/{SLUG}/sessions.ics?room={}",
                enc("R;1,2\\3:4")
            ),
            vec!["ics"],
        ),
        (
            format!(
                "/conferences/{SLUG}/sessions.ics?track={}&speaker={}",
                enc("END:VCALENDAR"),
                enc("begin:vevent")
            ),
            vec!["ics"],
        ),
        (
            format!("/conferences/{SLUG}/sessions.ics?q={}", enc("DTSTART:2000")),
            vec!["ics"],
        ),
        (format!("/agendas/{token}.ics"), all.to_vec()),
    ];
    for id in all {
        feeds.push((format!("/conferences/{SLUG}/sessions/{id}.ics"), vec![id]));
    }
    let python = python_icalendar();
    for (path, want) in &feeds {
        let read = check_feed(&app, path, want, &sessions, venue);
        if let Some(py) = &python {
            // Python's `icalendar` unescapes TEXT with a chain of
            // `str.replace` calls, so it misreads an escaped backslash
            // before `n`, `;` or `,` (`\\n` becomes a line break): compare
            // exactly only where no backslash is involved.
            let theirs = python_reads(py, &app.get(path).body);
            assert_eq!(theirs.len(), read.len(), "{path}: Python's VEVENTs");
            for (t, ours) in theirs.iter().zip(&read) {
                if ours.0.contains('\\') || ours.1.contains('\\') {
                    assert!(t.1.contains(PAYLOAD_AS_TEXT), "{path}: Python: {t:?}");
                } else {
                    assert_eq!(t, ours, "{path}: Python reads otherwise");
                }
            }
        }
    }
}

/// Raw markup that must never reach a page unescaped, whatever the context
/// (element text, attribute value, URL).
const RAW_HTML: &[&str] = &[
    "<script>alert",
    "<img src=x",
    "<b onmouseover",
    "<svg onload",
    "\"><svg",
    "<iframe",
    "</textarea><script>",
    "' autofocus onfocus='",
    "href=\"javascript:",
    "src=\"javascript:",
];

fn assert_escaped(path: &str, body: &str) {
    for raw in RAW_HTML {
        assert!(!body.contains(raw), "{path} shows {raw:?} unescaped");
    }
    // The only script elements are the page's own external ones.
    let own = body.matches("<script src=\"/assets/").count();
    assert_eq!(
        body.matches("<script").count(),
        own,
        "{path}: foreign <script"
    );
}

#[test]
fn html_in_every_field_is_escaped_on_every_page() {
    let (app, token) = setup();
    let conference = format!("/conferences/{SLUG}");
    let pages = [
        ("/".to_owned(), None),
        (conference.clone(), Some("&lt;script&gt;alert(")),
        (
            format!("{conference}?room={}", enc("<b onmouseover=alert(2)>R</b>")),
            Some("&lt;b onmouseover=alert(2)&gt;R&lt;/b&gt;"),
        ),
        (
            format!("{conference}?track={}", enc("\"><svg onload=alert(3)>")),
            Some("&lt;svg onload=alert(3)&gt;"),
        ),
        // Echoed filter values that match nothing land in attributes too.
        (
            format!("{conference}?q={}", enc("'\"><script>alert(10)</script>")),
            Some("&lt;script&gt;alert(10)&lt;/script&gt;"),
        ),
        (
            format!(
                "{conference}?speaker={}",
                enc("O' autofocus onfocus='alert(9)")
            ),
            Some("autofocus onfocus="),
        ),
        (
            format!("{conference}/sessions/html"),
            Some("&lt;iframe src=javascript:alert(5)&gt;"),
        ),
        (
            format!("{conference}/sessions/ics"),
            Some("DTSTART:20000101T000000Z"),
        ),
        (
            format!("/agendas/{token}"),
            Some("&lt;script&gt;alert(8)&lt;/script&gt;"),
        ),
    ];
    for (path, escaped) in pages {
        let r = app.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert!(r
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")));
        let body = r.text();
        assert_escaped(&path, &body);
        if let Some(e) = escaped {
            assert!(body.contains(e), "{path} lacks {e:?}");
        }
    }
    // Every HTML field of the session shows, escaped, on its own page.
    let body = app.get(&format!("{conference}/sessions/html")).text();
    for text in [
        "&lt;script&gt;alert(",
        "&lt;img src=x onerror=alert(1)&gt;",
        "&lt;b onmouseover=alert(2)&gt;",
        "&lt;svg onload=alert(3)&gt;",
        "&lt;script&gt;alert(4)&lt;/script&gt;",
        "&lt;/textarea&gt;&lt;script&gt;alert(6)",
        "&lt;svg onload=alert(11)&gt;",
    ] {
        assert!(body.contains(text), "session page lacks {text:?}");
    }
}

/// What a literal, case-insensitive match of `q`'s words as prefixes of
/// the words of title, abstract and speakers selects (FTS5 `unicode61`
/// splits at anything that is not a letter or digit).
fn q_matches(s: &Value, q: &str) -> bool {
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let mut text = format!(
        "{} {}",
        s["title"].as_str().unwrap(),
        s["abstract"].as_str().unwrap()
    );
    for sp in s["speakers"].as_array().unwrap() {
        text.push(' ');
        text.push_str(sp.as_str().unwrap());
    }
    let doc = words(&text);
    // Words shorter than three characters match whole words only.
    words(q).iter().all(|w| {
        doc.iter().any(|d| {
            if w.chars().count() >= 3 {
                d.starts_with(w.as_str())
            } else {
                d == w
            }
        })
    })
}

#[test]
fn sql_metacharacters_are_inert() {
    let (app, token) = setup();
    let listing = format!("/api/conferences/{SLUG}/sessions?status=all");
    let before = (
        app.get(&listing).text(),
        app.get("/api/conferences").text(),
        app.get(&format!("/api/agendas/{token}")).text(),
    );
    let sessions = stored(&app);
    assert_eq!(sessions["sql-a"]["title"], "' OR 1=1 --");
    assert_eq!(
        sessions["sql-b"]["speakers"][0],
        "Robert'); DROP TABLE agendas;--"
    );
    let payloads = [
        "' OR 1=1 --",
        "' OR '1'='1",
        "\"; DROP TABLE sessions; --",
        "Robert'); DROP TABLE agendas;--",
        "%",
        "_",
        "100%",
        "100_",
        "10%",
        "a_b",
        "a%",
        "_%_",
        "*",
        "\"",
        "NEAR(a b)",
        "title:plain",
        "DROP",
        "sessions\"*",
        "1=1",
    ];
    let exact = |field: &str, value: &str| -> BTreeSet<String> {
        sessions
            .iter()
            .filter(|(_, s)| {
                let candidates: Vec<&str> = match &s[field] {
                    Value::String(v) => vec![v.as_str()],
                    Value::Array(a) => a.iter().map(|v| v.as_str().unwrap()).collect(),
                    _ => vec![],
                };
                candidates.iter().any(|c| c.eq_ignore_ascii_case(value))
            })
            .map(|(id, _)| id.clone())
            .collect()
    };
    let mut matched_something = 0;
    for p in payloads {
        for (key, field) in [
            ("room", "room"),
            ("speaker", "speakers"),
            ("track", "tracks"),
        ] {
            let got: BTreeSet<String> = app
                .ids(&format!(
                    "/api/conferences/{SLUG}/sessions?{key}={}",
                    enc(p)
                ))
                .into_iter()
                .collect();
            let want = exact(field, p);
            matched_something += usize::from(!want.is_empty());
            assert_eq!(got, want, "{key}={p:?}");
            // The feed with the same filter has the same sessions.
            let feed = app
                .get(&format!(
                    "/conferences/{SLUG}/sessions.ics?{key}={}",
                    enc(p)
                ))
                .text();
            assert_eq!(
                feed.matches("BEGIN:VEVENT").count(),
                want.len(),
                "{key}={p:?}"
            );
        }
        let got: BTreeSet<String> = app
            .ids(&format!("/api/conferences/{SLUG}/sessions?q={}", enc(p)))
            .into_iter()
            .collect();
        let want: BTreeSet<String> = sessions
            .iter()
            .filter(|(_, s)| q_matches(s, p))
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(got, want, "q={p:?}");
    }
    // The literal matches really are there (so the comparisons above are
    // not all between empty sets): "100%", "a_b", the two speakers...
    assert!(matched_something >= 4, "{matched_something}");
    assert_eq!(
        app.ids(&format!("/api/conferences/{SLUG}/sessions?room=100%25")),
        ["sql-a"]
    );
    assert_eq!(
        app.ids(&format!("/api/conferences/{SLUG}/sessions?track=A_B")),
        ["sql-a"]
    );
    let after = (
        app.get(&listing).text(),
        app.get("/api/conferences").text(),
        app.get(&format!("/api/agendas/{token}")).text(),
    );
    assert_eq!(before, after, "a filter changed stored data");
    // Every table is still there and whole.
    assert_eq!(
        app.get("/api/conferences").json()["conferences"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(stored(&app).len(), 4);
}
