//! HTTP that other software relies on, tried on raw sockets (no client
//! library smoothing anything over): HTTP/1.0 framing, HEAD everywhere,
//! If-None-Match over several header lines and against the coding
//! selected, one strong ETag per coding actually sent, the framework's own
//! errors as JSON, and validators on the JSON API.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const PYCON: &str = "/conferences/pycon-us-2012/sessions.ics";

/// One response as it came off the wire.
#[derive(Debug)]
struct Raw {
    status_line: String,
    status: u16,
    headers: Vec<(String, String)>,
    /// The bytes after the head, as sent (still chunked if it was).
    wire_body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// The body with the transfer coding undone (chunked or not).
    fn body(&self) -> Vec<u8> {
        if self
            .header("transfer-encoding")
            .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
        {
            dechunk(&self.wire_body)
        } else {
            self.wire_body.clone()
        }
    }

    /// The body with the content coding undone too.
    fn decoded(&self) -> Vec<u8> {
        let body = self.body();
        let mut out = Vec::new();
        match self.header("content-encoding") {
            None => return body,
            Some("gzip") => {
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Some("br") => {
                brotli::Decompressor::new(&body[..], 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Some(other) => panic!("unexpected content coding {other}"),
        }
        out
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.decoded()).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {:?}",
                self.status_line,
                String::from_utf8_lossy(&self.body())
            )
        })
    }
}

fn dechunk(mut wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = wire
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("size line");
        let size = std::str::from_utf8(&wire[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        wire = &wire[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&wire[..size]);
        wire = &wire[size + 2..];
    }
}

/// Sends `request` as is and reads the answer: to the end of the
/// connection when the request asked for it to close (`Connection: close`,
/// or HTTP/1.0 without keep-alive), else by the response's own framing.
/// The read timeout only keeps a broken server from hanging the test;
/// nothing is timed.
fn raw(app: &TestApp, request: &str) -> Raw {
    let addr = app.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let lower = request.to_ascii_lowercase();
    let until_close = !lower.contains("connection: keep-alive");
    let mut bytes = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = s
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("no complete answer ({e}): {request:?} {bytes:?}"));
        bytes.extend_from_slice(&buf[..n]);
        if n == 0 {
            break;
        }
        if until_close {
            continue;
        }
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let r = parse(&bytes, request);
        let have = bytes.len() - end - 4;
        let head_only = lower.starts_with("head ") || matches!(r.status, 204 | 304);
        let done = if head_only {
            true
        } else if let Some(n) = r.header("content-length") {
            have >= n.parse::<usize>().unwrap()
        } else if r.has("transfer-encoding") {
            bytes.ends_with(b"\r\n0\r\n\r\n") || have == 5 && bytes.ends_with(b"0\r\n\r\n")
        } else {
            false
        };
        if done {
            break;
        }
    }
    parse(&bytes, request)
}

fn parse(bytes: &[u8], request: &str) -> Raw {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head for {request:?}: {bytes:?}"));
    let head = std::str::from_utf8(&bytes[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap().to_owned();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    Raw {
        status_line,
        status,
        headers,
        wire_body: bytes[end + 4..].to_vec(),
    }
}

/// `METHOD path HTTP/1.1` with `Connection: close` and extra header lines.
fn req11(method: &str, path: &str, extra: &[(&str, &str)]) -> String {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (k, v) in extra {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r
}

fn req10(method: &str, path: &str, extra: &[(&str, &str)]) -> String {
    let mut r = format!("{method} {path} HTTP/1.0\r\n");
    for (k, v) in extra {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r
}

fn new_agenda(app: &TestApp) -> String {
    let t = app.request("POST", "/api/agendas", &[], Some(b"")).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let star = format!("/api/agendas/{t}/sessions/pycon-us-2012/dismantling-jinja");
    assert_eq!(app.request("PUT", &star, &[], None).status, 200);
    t
}

fn css_path(app: &TestApp) -> String {
    let page = app.get("/").text();
    let at = page.find("/assets/app.").unwrap();
    let end = at + page[at..].find('"').unwrap();
    page[at..end].to_owned()
}

/// Every GET the service answers, one of each kind.
fn every_kind_of_get(app: &TestApp) -> Vec<String> {
    let t = new_agenda(app);
    vec![
        "/".into(),
        "/conferences/pycon-us-2012".into(),
        "/conferences/pycon-us-2012?room=E2".into(),
        "/conferences/pycon-us-2012/sessions/dismantling-jinja".into(),
        "/agendas".into(),
        format!("/agendas/{t}"),
        css_path(app),
        "/api/conferences".into(),
        "/api/conferences/pycon-us-2012".into(),
        "/api/conferences/pycon-us-2012/sessions?day=2012-03-09".into(),
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja".into(),
        format!("/api/agendas/{t}"),
        PYCON.into(),
        "/conferences/pycon-us-2012/sessions/dismantling-jinja.ics".into(),
        format!("/agendas/{t}.ics"),
        "/conferences/pycon-us-2012/schedule.xml".into(),
        "/conferences/pycon-us-2012/schedule.json".into(),
        "/healthz".into(),
        "/metrics".into(),
        // And the errors: HEAD must answer them the same way too.
        "/api/conferences/no-such-conf".into(),
        "/no/such/page".into(),
    ]
}

/// RFC 9112 §6.1: a server MUST NOT send `Transfer-Encoding` to an
/// HTTP/1.0 client. Every response must be length-delimited or end with
/// the connection, also the first compressed response of a feed (streamed
/// as it is compressed) and what the Compress middleware streams.
#[test]
fn http10_clients_never_get_chunked() {
    let app = spawn_app();
    let mut paths = every_kind_of_get(&app);
    paths.push(format!("{PYCON}?room=E1"));
    for path in &paths {
        for coding in ["gzip", "br", "identity"] {
            for keep_alive in [false, true] {
                let mut extra = vec![("Accept-Encoding", coding)];
                if keep_alive {
                    extra.push(("Connection", "keep-alive"));
                }
                for method in ["GET", "HEAD"] {
                    let r = raw(&app, &req10(method, path, &extra));
                    let what = format!("{method} {path} ({coding}, keep-alive {keep_alive})");
                    assert!(r.status_line.starts_with("HTTP/1.0 "), "{what}: {r:?}");
                    assert!(
                        !r.has("transfer-encoding"),
                        "{what}: Transfer-Encoding to HTTP/1.0: {:?}",
                        r.headers
                    );
                    if method == "HEAD" {
                        assert!(r.wire_body.is_empty(), "{what}: HEAD with a body");
                        continue;
                    }
                    match r.header("content-length") {
                        Some(n) => assert_eq!(n.parse::<usize>().unwrap(), r.wire_body.len()),
                        // Close-delimited: then the connection must not
                        // have been offered for reuse.
                        None => assert!(
                            !r.header("connection")
                                .is_some_and(|c| c.eq_ignore_ascii_case("keep-alive")),
                            "{what}: close-delimited body on a kept-alive connection"
                        ),
                    }
                }
            }
        }
    }
    // The bytes are right too: the first gzip response of a feed, streamed
    // to HTTP/1.1 clients, is the whole feed for an HTTP/1.0 client.
    let plain = app.get(&format!("{PYCON}?room=E3")).body;
    let r = raw(
        &app,
        &req10(
            "GET",
            &format!("{PYCON}?room=E3"),
            &[("Accept-Encoding", "gzip")],
        ),
    );
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.decoded(), plain);
}

/// RFC 9110 §9.3.2: HEAD is GET without the content, so the same status
/// and the same header fields (Content-Length, ETag, Content-Encoding...),
/// on pages, the JSON API, feeds, assets, `/healthz` and `/metrics`.
#[test]
fn head_answers_wherever_get_does_with_the_same_headers() {
    let app = spawn_app();
    // Fields that legitimately differ between two requests.
    let varying = ["date", "last-modified", "set-cookie"];
    for path in every_kind_of_get(&app) {
        for coding in ["identity", "gzip"] {
            let ae = [("Accept-Encoding", coding)];
            // HEAD before any GET (a feed's coding not compressed yet),
            // then after (compressed and kept): each as GET would be then.
            let cold_head = raw(&app, &req11("HEAD", &path, &ae));
            let cold_get = raw(&app, &req11("GET", &path, &ae));
            let get = raw(&app, &req11("GET", &path, &ae));
            let head = raw(&app, &req11("HEAD", &path, &ae));
            let what = format!("HEAD {path} ({coding})");
            assert_eq!(head.status, get.status, "{what}: {head:?}");
            assert!(head.wire_body.is_empty(), "{what} has a body");
            let fields = |r: &Raw| {
                let mut f: Vec<(String, String)> = r
                    .headers
                    .iter()
                    .filter(|(k, _)| !varying.contains(&k.as_str()))
                    // The metrics count requests: their length moves.
                    .filter(|(k, _)| !(path == "/metrics" && k == "content-length"))
                    .cloned()
                    .collect();
                f.sort();
                f
            };
            assert_eq!(fields(&head), fields(&get), "{what}");
            assert_eq!(fields(&cold_head), fields(&cold_get), "first {what}");
            let names = |r: &Raw| {
                let mut n: Vec<String> = r.headers.iter().map(|(k, _)| k.clone()).collect();
                n.sort();
                n.dedup();
                n
            };
            assert_eq!(
                names(&head),
                names(&get),
                "{what}: the same fields, varying ones included"
            );
        }
    }
}

/// RFC 9110 §13.1.2: If-None-Match is a list that may come on several
/// header lines, compared weakly with the ETag of the representation
/// that would be selected, the coding chosen for this request.
#[test]
fn if_none_match_reads_every_line_against_the_selected_coding() {
    let app = spawn_app();
    let t = new_agenda(&app);
    let css = css_path(&app);
    for path in [
        PYCON.to_owned(),
        format!("/agendas/{t}.ics"),
        css,
        "/api/conferences".to_owned(),
        "/api/conferences/pycon-us-2012/sessions".to_owned(),
    ] {
        let mut tags = HashMap::new();
        for coding in ["identity", "gzip", "br"] {
            let r = raw(&app, &req11("GET", &path, &[("Accept-Encoding", coding)]));
            assert_eq!(r.status, 200, "{path}");
            let tag = r
                .header("etag")
                .unwrap_or_else(|| panic!("{path}: no ETag"))
                .to_owned();
            tags.insert(coding, tag);
        }
        for coding in ["identity", "gzip", "br"] {
            let mine = tags[coding].as_str();
            let ae = ("Accept-Encoding", coding);
            // The tag on the second line of two.
            let r = raw(
                &app,
                &req11(
                    "GET",
                    &path,
                    &[ae, ("If-None-Match", "\"other\""), ("If-None-Match", mine)],
                ),
            );
            assert_eq!(r.status, 304, "{path} ({coding}): second line ignored");
            assert_eq!(r.header("etag"), Some(mine));
            assert!(r.wire_body.is_empty());
            // In a list, and weak: W/"x" matches "x" (weak comparison).
            let list = format!("\"a\", W/{mine}, \"b\"");
            let r = raw(&app, &req11("GET", &path, &[ae, ("If-None-Match", &list)]));
            assert_eq!(r.status, 304, "{path} ({coding}): {list}");
            assert_eq!(r.header("etag"), Some(mine));
            // Another coding's tag is another representation: 200, with
            // this coding's tag, never a 304 carrying a different ETag.
            for other in ["identity", "gzip", "br"] {
                if other == coding || tags[other] == tags[coding] {
                    continue;
                }
                let r = raw(
                    &app,
                    &req11("GET", &path, &[ae, ("If-None-Match", &tags[other])]),
                );
                assert_eq!(r.status, 200, "{path}: {coding} request, {other} tag");
                assert_eq!(r.header("etag"), Some(mine));
            }
            let r = raw(&app, &req11("GET", &path, &[ae, ("If-None-Match", "*")]));
            assert_eq!(r.status, 304, "{path}: *");
        }
    }
}

/// Every ETag names exactly one sequence of bytes and one coding; no
/// coding is compressed again per request under another body's tag.
/// `deflate` (not one we precompute) gets the identity body, with the
/// identity tag.
#[test]
fn each_coding_sent_has_its_own_tag_and_bytes() {
    let app = spawn_app();
    let t = new_agenda(&app);
    let css = css_path(&app);
    for path in [
        PYCON.to_owned(),
        "/conferences/pycon-us-2012/sessions/dismantling-jinja.ics".to_owned(),
        format!("/agendas/{t}.ics"),
        css,
        "/api/conferences".to_owned(),
        "/api/conferences/pycon-us-2012".to_owned(),
    ] {
        // ETag -> (Content-Encoding, bytes on the wire after transfer coding)
        let mut seen: HashMap<String, (Option<String>, Vec<u8>)> = HashMap::new();
        let identity = raw(&app, &req11("GET", &path, &[])).decoded();
        for ae in [
            "identity",
            "gzip",
            "br",
            "deflate",
            "deflate, gzip;q=0.5",
            "br;q=0.1, gzip",
            "*",
            "deflate, identity;q=0",
        ] {
            for _ in 0..2 {
                let r = raw(&app, &req11("GET", &path, &[("Accept-Encoding", ae)]));
                assert_eq!(r.status, 200, "{path} ({ae})");
                let tag = r.header("etag").expect("ETag").to_owned();
                assert!(!tag.starts_with("W/"), "{path}: strong tags");
                let coding = r.header("content-encoding").map(str::to_owned);
                assert!(
                    matches!(coding.as_deref(), None | Some("gzip" | "br")),
                    "{path} ({ae}): a coding we do not keep: {coding:?}"
                );
                assert_eq!(r.decoded(), identity, "{path} ({ae})");
                let entry = (coding, r.body());
                match seen.get(&tag) {
                    Some(before) => assert_eq!(
                        before, &entry,
                        "{path} ({ae}): one ETag, two representations"
                    ),
                    None => {
                        assert!(
                            !seen.values().any(|v| v == &entry),
                            "{path}: one representation, two ETags"
                        );
                        seen.insert(tag, entry);
                    }
                }
            }
        }
        assert_eq!(seen.len(), 3, "{path}: identity, gzip and br");
    }
}

/// The read API carries `Cache-Control`, a strong ETag per coding, and
/// answers If-None-Match with 304 until the data changes.
#[test]
fn json_api_has_cache_control_and_validators() {
    let app = spawn_app();
    let paths = [
        "/api/conferences",
        "/api/conferences/pycon-us-2012",
        "/api/conferences/pycon-us-2012/sessions",
        "/api/conferences/pycon-us-2012/sessions?room=E2",
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
    ];
    let mut before = Vec::new();
    for path in paths {
        let r = raw(&app, &req11("GET", path, &[]));
        assert_eq!(r.status, 200);
        let cache = r.header("cache-control").expect("Cache-Control");
        assert!(cache.contains("no-cache"), "{path}: {cache}");
        assert_eq!(r.header("vary"), Some("Accept-Encoding"));
        let tag = r.header("etag").expect("ETag").to_owned();
        let again = raw(&app, &req11("GET", path, &[("If-None-Match", &tag)]));
        assert_eq!(again.status, 304, "{path}");
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        assert_eq!(again.header("cache-control"), Some(cache));
        assert!(again.wire_body.is_empty());
        before.push(tag);
    }
    // A change of the abstract: the answers that show it are new (the
    // others may keep their bytes, and so their tags: timestamps have
    // one-second resolution).
    let mut session = app
        .get("/api/conferences/pycon-us-2012/sessions/dismantling-jinja")
        .json();
    let doc = json!({
        "id": "dismantling-jinja",
        "title": session["title"].take(),
        "speakers": ["Armin Ronacher"],
        "start": "2012-03-09T14:00",
        "end": "2012-03-09T14:40",
        "room": "E2",
        "abstract": "Changed.",
    });
    let r = app.admin(
        "PUT",
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
        &doc,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    for (path, tag) in paths.iter().zip(&before).skip(2) {
        let r = raw(&app, &req11("GET", path, &[("If-None-Match", tag)]));
        assert_eq!(r.status, 200, "{path}: stale 304 after a change");
        assert_ne!(r.header("etag"), Some(tag.as_str()));
    }
    // Errors are never cached.
    let r = raw(&app, &req11("GET", "/api/conferences/nope", &[]));
    assert_eq!(r.status, 404);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(!r.has("etag"));
}

/// The errors actix raises itself (not our handlers) answer in our JSON
/// shape: an impossible Accept-Encoding (406 from the Compress middleware).
#[test]
fn framework_errors_are_json() {
    let app = spawn_app();
    for path in ["/healthz", "/api/conferences", "/", PYCON] {
        for ae in ["identity;q=0", "*;q=0", "compress, identity;q=0"] {
            let r = raw(&app, &req11("GET", path, &[("Accept-Encoding", ae)]));
            assert_eq!(r.status, 406, "{path} ({ae})");
            assert!(
                r.header("content-type")
                    .is_some_and(|c| c.starts_with("application/json")),
                "{path}: {:?}",
                r.headers
            );
            let j = r.json();
            assert_eq!(j["field"], "accept-encoding", "{j}");
            let msg = j["error"].as_str().unwrap();
            assert!(msg.contains("gzip") && msg.contains("br"), "{msg}");
        }
    }
}

/// Sends `bytes` and reads until the server closes (or resets, after
/// answering a head it did not read to the end).
fn send_until_closed(app: &TestApp, bytes: &[u8]) -> Vec<u8> {
    let addr = app.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // A head the server stops reading may be refused part way.
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no complete answer ({e}): {out:?}"),
        }
    }
    out
}

/// The last response on the wire, checked to be one of our JSON errors
/// with `status` and `field`, framed by its `Content-Length`.
fn assert_json_error(wire: &[u8], status: u16, field: &str, what: &str) {
    let text = String::from_utf8_lossy(wire);
    let at = text
        .rfind("HTTP/1.1 ")
        .unwrap_or_else(|| panic!("{what}: {text:?}"));
    let r = parse(&wire[at..], what);
    assert_eq!(r.status, status, "{what}: {text:?}");
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{what}: {:?}",
        r.headers
    );
    let len: usize = r.header("content-length").unwrap().parse().unwrap();
    assert_eq!(len, r.wire_body.len(), "{what}: framed by its length");
    let j: Value = serde_json::from_slice(&r.wire_body).unwrap();
    assert_eq!(j["field"], field, "{what}: {j}");
    assert!(!j["error"].as_str().unwrap().is_empty(), "{what}: {j}");
}

/// What actix-http answers before any code of ours sees the request (a
/// request it cannot parse, a head too large, a head too slow) has our
/// JSON body too, also after a pipelined response that went before it.
#[test]
fn errors_actix_http_writes_itself_are_json() {
    let app = spawn_app();
    for (what, request) in [
        ("garbage request line", b"GARBAGE\r\n\r\n".to_vec()),
        (
            "header line without a colon",
            b"GET / HTTP/1.0\r\nHost: x\r\nBad Header\r\n\r\n".to_vec(),
        ),
    ] {
        assert_json_error(&send_until_closed(&app, &request), 400, "request", what);
    }
    let many: String = (0..100).map(|i| format!("X-{i}: a\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert_json_error(
        &send_until_closed(&app, many.as_bytes()),
        431,
        "headers",
        "100 fields",
    );
    let long = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "a".repeat(140_000)
    );
    assert_json_error(
        &send_until_closed(&app, long.as_bytes()),
        431,
        "headers",
        "140 KB head",
    );

    // Pipelined: our answer to the first request, then actix-http's to the
    // garbage after it.
    let wire = send_until_closed(&app, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nBAD\r\n\r\n");
    let text = String::from_utf8_lossy(&wire);
    assert!(
        text.starts_with("HTTP/1.1 200 ") && text.contains("{\"status\":\"ok\"}"),
        "{text:?}"
    );
    assert_json_error(&wire, 400, "request", "garbage after a good request");

    // A head that never completes: the client request timeout (5 s).
    let wire = send_until_closed(&app, b"GET / HTTP/1.1\r\n");
    assert_json_error(&wire, 408, "request", "unfinished head");
}
