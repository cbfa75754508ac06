//! `Expect: 100-continue`, on raw sockets: a client that asks before it
//! uploads is told to go on only when the request passes every check the
//! head allows (declared size, the form's origin and cookie, the admin
//! token, rate limits); otherwise it gets the final error at once, and the
//! server does not wait for a body. Admin calls without the token are
//! refused before their body is read, with or without `Expect`.
//!
//! Every read here has a bound (15 s) so a server that waits for a body it
//! should not want fails the test instead of hanging it; the body deadline
//! is set far beyond it (120 s), so a server that waited cannot look as
//! if it had answered.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use confcal::config::Settings;

use crate::helpers::{doc, spawn_app_with, TestApp, ADMIN_TOKEN};

/// A well-formed CSRF cookie value (43 base64url characters).
const CSRF: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

/// One response as read off the wire (an interim `100 Continue` too).
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }
}

struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(app: &TestApp) -> Conn {
        let s = TcpStream::connect(app.base.trim_start_matches("http://")).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        Conn {
            reader: BufReader::new(s),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// The next response: its head, and its body by `Content-Length`
    /// (none for a 1xx). Panics, naming `what`, if nothing complete comes
    /// within the read timeout.
    fn answer(&mut self, what: &str) -> Answer {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("{what}: no answer ({e})"));
        assert!(line.starts_with("HTTP/1.1 "), "{what}: {line:?}");
        let status: u16 = line[9..12].parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.reader
                .read_line(&mut h)
                .unwrap_or_else(|e| panic!("{what}: head cut short ({e})"));
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').expect("header line");
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let mut answer = Answer {
            status,
            headers,
            body: Vec::new(),
        };
        if status >= 200 {
            let len: usize = answer
                .header("content-length")
                .unwrap_or_else(|| panic!("{what}: no Content-Length: {answer:?}"))
                .parse()
                .unwrap();
            answer.body = vec![0; len];
            self.reader
                .read_exact(&mut answer.body)
                .unwrap_or_else(|e| panic!("{what}: body cut short ({e})"));
        }
        answer
    }

    /// Whether the server closed the connection (rather than keep it
    /// open, waiting for the body it refused).
    fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.reader.read(&mut byte) {
            Ok(0) => true,
            // Closed with some of what was sent unread.
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
            Ok(_) => false,
        }
    }
}

fn options(s: &mut Settings) {
    s.body_timeout_ms = 120_000;
}

/// Sends `head` (which asks `Expect: 100-continue`) and no body; the first
/// answer must be the final error, the connection closed after it.
fn refused(app: &TestApp, head: &str, status: u16) -> Answer {
    let mut c = Conn::open(app);
    c.send(head.as_bytes());
    let a = c.answer(head);
    assert_ne!(
        a.status, 100,
        "100 Continue for a request that fails: {head}"
    );
    assert_eq!(a.status, status, "{head}\n{}", a.text());
    assert!(c.closed(), "the connection stays open after: {head}");
    a
}

#[test]
fn a_request_that_will_fail_gets_its_error_instead_of_100_continue() {
    let app = spawn_app_with(options);

    // A declared body over the limit: our 413 naming `body`.
    let huge = "POST /agendas/star HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n";
    let a = refused(&app, huge, 413);
    assert_eq!(a.json()["field"], "body", "{}", a.text());
    let put = huge.replace("POST /agendas/star", "PUT /api/conferences/pycon-us-2012");
    assert_eq!(refused(&app, &put, 413).json()["field"], "body");

    // The admin API without the token, or with a wrong one: 401 naming
    // `authorization`, as without `Expect`.
    let no_token = "PUT /api/conferences/expect HTTP/1.1\r\nHost: localhost\r\n\
                    Content-Type: application/json\r\nContent-Length: 1000\r\n\
                    Expect: 100-continue\r\n\r\n";
    let a = refused(&app, no_token, 401);
    assert_eq!(a.json()["field"], "authorization");
    assert_eq!(a.header("www-authenticate"), Some("Bearer"));
    let wrong = no_token.replace(
        "Host: localhost\r\n",
        "Host: localhost\r\nAuthorization: Bearer wrong-token-0123456789-abcdefghijklmn\r\n",
    );
    assert_eq!(refused(&app, &wrong, 401).json()["field"], "authorization");
    let session = wrong.replace(
        "PUT /api/conferences/expect",
        "PUT /api/conferences/pycon-us-2012/sessions/new-one",
    );
    assert_eq!(
        refused(&app, &session, 401).json()["field"],
        "authorization"
    );

    // A form from another site, or without its security cookie: the
    // pages' 403, the same page as without `Expect`.
    let foreign = format!(
        "POST /agendas/star HTTP/1.1\r\nHost: localhost\r\n\
         Origin: https://evil.example\r\nCookie: confcal_csrf={CSRF}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    let a = refused(&app, &foreign, 403);
    assert!(a.text().contains("another site"), "{}", a.text());
    let mut plain = Conn::open(&app);
    plain.send(foreign.replace("Expect: 100-continue\r\n", "").as_bytes());
    assert_eq!(plain.answer("without Expect").body, a.body);
    let no_cookie = foreign
        .replace("Origin: https://evil.example\r\n", "")
        .replace(&format!("Cookie: confcal_csrf={CSRF}\r\n"), "");
    let a = refused(&app, &no_cookie, 403);
    assert!(a.text().contains("security cookie"), "{}", a.text());

    // A body under the server's limit but over the route's own cap (the
    // agenda API's JSON, a page's form): its 413 comes first too.
    let agenda = "POST /api/agendas HTTP/1.1\r\nHost: localhost\r\n\
                  Content-Type: application/json\r\nContent-Length: 5000\r\n\
                  Expect: 100-continue\r\n\r\n";
    assert_eq!(refused(&app, agenda, 413).json()["field"], "body");
    let form = format!(
        "POST /agendas/star HTTP/1.1\r\nHost: localhost\r\nCookie: confcal_csrf={CSRF}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20000\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    refused(&app, &form, 413);

    // Unknown routes need no body either.
    let nowhere = "POST /nowhere HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\
                   Expect: 100-continue\r\n\r\n";
    refused(&app, nowhere, 404);

    // With the admin API off: 403 naming `authorization`.
    let off = spawn_app_with(|s| {
        options(s);
        s.admin_token = None;
    });
    let a = refused(&off, no_token, 403);
    assert_eq!(a.json()["field"], "authorization");
}

/// A client out of unknown-token lookups gets its 429 before it uploads.
#[test]
fn a_rate_limited_client_gets_429_instead_of_100_continue() {
    let app = spawn_app_with(|s| {
        options(s);
        s.unknown_token_per_minute = 1;
    });
    let guess = "g".repeat(43);
    assert_eq!(app.get(&format!("/api/agendas/{guess}")).status, 404);
    let rotate = format!(
        "POST /api/agendas/{guess}/rotate HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json\r\nContent-Length: 60\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    let a = refused(&app, &rotate, 429);
    assert!(a.header("retry-after").is_some(), "{a:?}");
    assert!(a.json()["error"].as_str().unwrap().contains("too many"));
}

/// A request that passes gets `100 Continue` before it has sent any of its
/// body, then its normal answer; the connection stays usable.
#[test]
fn a_request_that_passes_gets_100_continue_then_its_answer() {
    let app = spawn_app_with(options);

    let body = doc(
        "expect",
        "Europe/Berlin",
        &[("a", "2026-03-09T10:00", "2026-03-09T11:00")],
    )
    .to_string();
    let mut c = Conn::open(&app);
    c.send(
        format!(
            "PUT /api/conferences/expect HTTP/1.1\r\nHost: localhost\r\n\
             Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(c.answer("admin PUT, before its body").status, 100);
    c.send(body.as_bytes());
    let a = c.answer("admin PUT, after its body");
    assert_eq!(a.status, 201, "{}", a.text());
    assert_eq!(a.json()["created"], 1);
    // The same connection serves the next request.
    c.send(b"GET /api/conferences/expect HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let a = c.answer("GET after the upload");
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["slug"], "expect");

    // A JSON API call and a form.
    let mut c = Conn::open(&app);
    c.send(
        b"POST /api/agendas HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
          Content-Length: 15\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(c.answer("POST /api/agendas, before").status, 100);
    c.send(br#"{"name":"mine"}"#);
    let a = c.answer("POST /api/agendas, after");
    assert_eq!(a.status, 201, "{}", a.text());
    assert!(a.json()["token"].is_string());

    let form = format!(
        "csrf={CSRF}&conference=pycon-us-2012&session=dismantling-jinja&action=star&back=%2F"
    );
    let mut c = Conn::open(&app);
    c.send(
        format!(
            "POST /agendas/star HTTP/1.1\r\nHost: localhost\r\nCookie: confcal_csrf={CSRF}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Expect: 100-continue\r\n\r\n",
            form.len()
        )
        .as_bytes(),
    );
    assert_eq!(c.answer("the star form, before").status, 100);
    c.send(form.as_bytes());
    let a = c.answer("the star form, after");
    assert_eq!(a.status, 303, "{}", a.text());
    assert_eq!(a.header("location"), Some("/#s-dismantling-jinja"));
}

/// An admin upload with a wrong token, declaring 10 MB and sending 1 KB of
/// it: refused at once (the rest is never asked for), not after reading
/// or waiting for the body; with `Expect`, no `100 Continue` either.
#[test]
fn admin_calls_with_a_wrong_token_are_refused_before_the_body() {
    let app = spawn_app_with(options);
    for path in [
        "/api/conferences/pycon-us-2012",
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
    ] {
        for expect in ["", "Expect: 100-continue\r\n"] {
            let head = format!(
                "PUT {path} HTTP/1.1\r\nHost: localhost\r\n\
                 Authorization: Bearer wrong-token-0123456789-abcdefghijklmn\r\n\
                 Content-Type: application/json\r\nContent-Length: 10000000\r\n{expect}\r\n"
            );
            let mut c = Conn::open(&app);
            c.send(head.as_bytes());
            if expect.is_empty() {
                c.send(&[b' '; 1024]);
            }
            let a = c.answer(&head);
            assert_eq!(a.status, 401, "{head}\n{}", a.text());
            assert_eq!(a.json()["field"], "authorization");
            assert!(c.closed(), "the connection stays open after: {head}");
        }
    }
    // DELETE has no body, and the same check.
    let r = app.request(
        "DELETE",
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
        &[("Authorization", "Bearer wrong")],
        None,
    );
    r.assert_error(401, "authorization");
}
