//! Following a source: the app fetches a schedule from a small HTTP
//! upstream on loopback (a thread answering what each test scripts, and
//! recording what it was asked), and the feeds follow each good change and
//! nothing else.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, spawn_on, Resp, TestApp, ADMIN_TOKEN};

// ------------------------------------------------------------ the upstream

/// What the upstream answers next.
#[derive(Clone)]
pub enum Reply {
    /// 200 with the body and these validators; a request whose
    /// If-None-Match (or, without one, If-Modified-Since) matches them
    /// gets a 304. `gzip` compresses the body for clients that take it.
    Schedule {
        body: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
        gzip: bool,
    },
    /// Any status, with headers and a body.
    Status {
        code: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Reads the request and never answers.
    Silent,
}

impl Reply {
    pub fn schedule(body: Vec<u8>, etag: &str) -> Reply {
        Reply::Schedule {
            body,
            etag: Some(format!("\"{etag}\"")),
            last_modified: None,
            gzip: false,
        }
    }

    pub fn status(code: u16) -> Reply {
        Reply::Status {
            code,
            headers: Vec::new(),
            body: b"upstream trouble".to_vec(),
        }
    }
}

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Script {
    /// By path; `default` for any other.
    replies: HashMap<String, Reply>,
    default: Reply,
    seen: Vec<Seen>,
}

pub struct Upstream {
    pub base: String,
    script: Arc<Mutex<Script>>,
    stop: Arc<AtomicBool>,
}

impl Upstream {
    pub fn start(reply: Reply) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(Script {
            replies: HashMap::new(),
            default: reply,
            seen: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (script.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (s, st) = (s.clone(), st.clone());
                std::thread::spawn(move || serve(conn, &s, &st));
            }
        });
        Upstream { base, script, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What every path answers from now on.
    pub fn set(&self, reply: Reply) {
        let mut s = self.script.lock().unwrap();
        s.default = reply;
        s.replies.clear();
    }

    /// What one path answers from now on.
    pub fn set_path(&self, path: &str, reply: Reply) {
        self.script
            .lock()
            .unwrap()
            .replies
            .insert(path.to_owned(), reply);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so it sees the flag.
        let _ = TcpStream::connect(self.base.trim_start_matches("http://"));
    }
}

fn serve(mut conn: TcpStream, script: &Mutex<Script>, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_owned();
    let headers: Vec<(String, String)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let seen = Seen { path, headers };
    let reply = {
        let mut s = script.lock().unwrap();
        s.seen.push(seen.clone());
        s.replies
            .get(&seen.path)
            .cloned()
            .unwrap_or_else(|| s.default.clone())
    };
    let (code, mut extra, body) = match reply {
        Reply::Silent => {
            let until = Instant::now() + Duration::from_secs(20);
            while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        Reply::Status {
            code,
            headers,
            body,
        } => (code, headers, body),
        Reply::Schedule {
            body,
            etag,
            last_modified,
            gzip,
        } => {
            let mut h = Vec::new();
            if let Some(e) = &etag {
                h.push(("ETag".to_owned(), e.clone()));
            }
            if let Some(m) = &last_modified {
                h.push(("Last-Modified".to_owned(), m.clone()));
            }
            let fresh = match (
                seen.header("If-None-Match"),
                seen.header("If-Modified-Since"),
            ) {
                (Some(inm), _) => etag.as_deref() == Some(inm),
                (None, Some(ims)) => last_modified.as_deref() == Some(ims),
                (None, None) => false,
            };
            if fresh {
                (304, h, Vec::new())
            } else if gzip
                && seen
                    .header("Accept-Encoding")
                    .is_some_and(|a| a.contains("gzip"))
            {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(&body).unwrap();
                h.push(("Content-Encoding".to_owned(), "gzip".to_owned()));
                (200, h, enc.finish().unwrap())
            } else {
                (200, h, body)
            }
        }
    };
    let reason = match code {
        200 => "OK",
        304 => "Not Modified",
        301 => "Moved Permanently",
        302 => "Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    };
    extra.push(("Connection".into(), "close".into()));
    let mut out = format!("HTTP/1.1 {code} {reason}\r\n");
    for (k, v) in &extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if code != 304 {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let _ = conn.write_all(out.as_bytes());
    let _ = conn.write_all(&body);
    let _ = conn.flush();
}

// ------------------------------------------------------------ schedules

/// One talk of the upstream's schedule: key, title, local start on
/// 2026-06-05 in Berlin (summer time, +02:00), minutes.
pub type Talk<'a> = (&'a str, &'a str, &'a str, u32);

/// A frab schedule.xml of `talks`, as pretalx writes one.
pub fn frab(talks: &[Talk<'_>]) -> Vec<u8> {
    let mut events = String::new();
    for (key, title, start, minutes) in talks {
        events.push_str(&format!(
            "<event guid=\"{key}\" id=\"{key}\"><date>2026-06-05T{start}:00+02:00</date>\
             <start>{start}</start><duration>{:02}:{:02}</duration><room>Hall</room>\
             <title>{title}</title><type>talk</type><abstract>About {title}.</abstract>\
             <persons><person id=\"1\">Ada</person></persons></event>",
            minutes / 60,
            minutes % 60
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<schedule><version>1</version>\
         <conference><acronym>upfest</acronym><title>Upstream Fest</title>\
         <time_zone_name>Europe/Berlin</time_zone_name></conference>\
         <day index=\"1\" date=\"2026-06-05\" start=\"2026-06-05T04:00:00+02:00\" \
         end=\"2026-06-06T03:59:00+02:00\"><room name=\"Hall\">{events}</room></day></schedule>\n"
    )
    .into_bytes()
}

/// A schedule whose one talk starts at 02:30 on the night the clocks in
/// Berlin skip from 02:00 to 03:00: a time that does not exist.
fn in_the_dst_gap() -> Vec<u8> {
    b"<?xml version=\"1.0\"?><schedule><conference><acronym>upfest</acronym>\
      <title>Upstream Fest</title><time_zone_name>Europe/Berlin</time_zone_name></conference>\
      <day index=\"1\" date=\"2026-03-29\"><room name=\"Hall\">\
      <event guid=\"gap\"><start>02:30</start><duration>00:30</duration><title>Gap</title>\
      </event></room></day></schedule>"
        .to_vec()
}

const V1: &[Talk<'static>] = &[
    ("a", "Talk A", "10:00", 30),
    ("b", "Talk B", "11:00", 30),
    ("c", "Talk C", "12:00", 30),
    ("d", "Talk D", "13:00", 30),
];

/// A moved (+1 h), D gone, E new.
const V2: &[Talk<'static>] = &[
    ("a", "Talk A", "15:00", 30),
    ("b", "Talk B", "11:00", 30),
    ("c", "Talk C", "12:00", 30),
    ("e", "Talk E", "14:00", 45),
];

// ------------------------------------------------------------ helpers

fn app() -> TestApp {
    spawn_app_with(|s| {
        s.data_dir = None;
        s.source_timeout_ms = 1_000;
        s.source_min_every = 1;
    })
}

fn put_source(app: &TestApp, slug: &str, body: &Value) -> Resp {
    app.admin("PUT", &format!("/api/conferences/{slug}/source"), body)
}

fn state(app: &TestApp, slug: &str) -> Value {
    let r = app.request(
        "GET",
        &format!("/api/conferences/{slug}/source"),
        &[("Authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn sync(app: &TestApp, slug: &str, query: &str) -> Resp {
    app.request(
        "POST",
        &format!("/api/conferences/{slug}/source/sync{query}"),
        &[("Authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        Some(b""),
    )
}

/// Polls `f` until it answers, failing the test after `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Follows `url` for `slug` (every hour, so only the first fetch is the
/// scheduler's) and waits for that first fetch to be recorded.
fn follow(app: &TestApp, slug: &str, url: &str) -> Value {
    let r = put_source(app, slug, &json!({"url": url, "every_seconds": 3600}));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["state"], "pending");
    wait_for("the first fetch", Duration::from_secs(15), || {
        let s = state(app, slug);
        (!s["last_attempt"].is_null()).then_some(s)
    })
}

/// The conference feed: (ETag, body).
fn feed(app: &TestApp, slug: &str) -> (String, String) {
    let r = app.get(&format!("/conferences/{slug}/sessions.ics"));
    assert_eq!(r.status, 200, "{}", r.text());
    (r.header("ETag").unwrap().to_owned(), r.text())
}

/// Sessions by title, cancelled ones included.
fn sessions(app: &TestApp, slug: &str) -> HashMap<String, Value> {
    let r = app.get(&format!("/api/conferences/{slug}/sessions?status=all"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["title"].as_str().unwrap().to_owned(), s.clone()))
        .collect()
}

/// The VEVENT of the session called `title` in a feed.
fn vevent<'a>(feed: &'a str, title: &str) -> &'a str {
    feed.split("BEGIN:VEVENT")
        .skip(1)
        .find(|e| {
            e.contains(&format!("SUMMARY:{title}\r\n")) || e.contains(&format!(": {title}\r\n"))
        })
        .unwrap_or_else(|| panic!("no event {title:?} in {feed}"))
}

fn metric(app: &TestApp, line_start: &str) -> f64 {
    let text = app.get("/metrics").text();
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in {text}"))
}

/// Everything that must not move when a sync applies nothing: the feed's
/// bytes and ETag, and the sessions.
fn unchanged_since(app: &TestApp, slug: &str, before: &(String, String), what: &str) {
    assert_eq!(&feed(app, slug), before, "{what}: the feed changed");
}

// ------------------------------------------------------------ tests

/// The whole story: a first sync, an unchanged upstream (304), a moved,
/// a new and a vanished talk, then an upstream answering 500, garbage, a
/// schedule that breaks a rule, nothing in time, and an empty schedule
/// (held until confirmed). The feed follows each good change and nothing
/// else.
/// The kinds of the conference's recorded changes, newest first.
fn change_kinds(app: &TestApp, slug: &str) -> Vec<String> {
    let r = app.get(&format!("/api/conferences/{slug}/changes"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let kinds: Vec<&str> = c["kinds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect();
            kinds.join(",")
        })
        .collect()
}

#[test]
fn a_followed_schedule_through_its_changes() {
    let up = Upstream::start(Reply::schedule(frab(V1), "v1"));
    let app = app();
    let slug = "upfest";

    // First fetch: the scheduler's, as soon as the source is set.
    let first = follow(&app, slug, &up.url("/upfest/schedule.xml"));
    assert_eq!(first["state"], "ok", "{first}");
    assert_eq!(first["format_read"], "frab-xml");
    assert_eq!(first["etag"], "\"v1\"");
    assert_eq!(
        first["last_sync"],
        json!({"created": 4, "updated": 0, "cancelled": 0, "unchanged": 0})
    );
    assert!(!first["last_success"].is_null() && !first["last_change"].is_null());
    assert_eq!(
        change_kinds(&app, slug),
        Vec::<String>::new(),
        "a conference's first schedule is no change"
    );
    let seen = up.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/upfest/schedule.xml");
    assert!(
        seen[0]
            .header("User-Agent")
            .unwrap()
            .starts_with("confcal/"),
        "{seen:?}"
    );
    assert_eq!(seen[0].header("If-None-Match"), None);
    let s = sessions(&app, slug);
    assert_eq!(s.len(), 4);
    assert_eq!(s["Talk A"]["start"], "2026-06-05T10:00:00+02:00");
    let v1_feed = feed(&app, slug);
    assert_eq!(v1_feed.1.matches("BEGIN:VEVENT").count(), 4);

    // Unchanged: the fetch is conditional, the upstream answers 304, and
    // no byte of the feed changes.
    let r = sync(&app, slug, "");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["outcome"], "not_modified");
    assert_eq!(
        up.seen().last().unwrap().header("If-None-Match"),
        Some("\"v1\"")
    );
    unchanged_since(&app, slug, &v1_feed, "a 304");
    let st = state(&app, slug);
    assert_eq!(st["state"], "not_modified");
    assert_eq!(st["http_status"], 304);
    assert_eq!(st["last_change"], first["last_change"]);

    // A moved talk, a new one, a vanished one.
    up.set(Reply::schedule(frab(V2), "v2"));
    let r = sync(&app, slug, "");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["outcome"], "ok", "{j}");
    assert_eq!(j["sync"]["created"].as_array().unwrap().len(), 1);
    assert_eq!(j["sync"]["updated"].as_array().unwrap().len(), 1);
    assert_eq!(j["sync"]["cancelled"].as_array().unwrap().len(), 1);
    assert_eq!(j["sync"]["unchanged"], 2);
    assert_eq!(j["source"]["etag"], "\"v2\"");
    let s = sessions(&app, slug);
    assert_eq!(s["Talk A"]["start"], "2026-06-05T15:00:00+02:00");
    assert_eq!(s["Talk A"]["sequence"], 1);
    // The history has the followed source's changes too.
    let mut kinds = change_kinds(&app, slug);
    kinds.sort();
    assert_eq!(kinds, ["cancelled", "moved", "new"]);
    assert_eq!(s["Talk B"]["sequence"], 0);
    assert_eq!(s["Talk D"]["status"], "cancelled", "cancelled, not deleted");
    assert_eq!(s["Talk E"]["status"], "confirmed");
    let v2_feed = feed(&app, slug);
    assert_ne!(v2_feed.0, v1_feed.0);
    assert_eq!(v2_feed.1.matches("BEGIN:VEVENT").count(), 5);
    let a = vevent(&v2_feed.1, "Talk A");
    assert!(a.contains("SEQUENCE:1\r\n"), "{a}");
    assert!(
        a.contains("DTSTART;TZID=Europe/Berlin:20260605T150000"),
        "{a}"
    );
    let d = vevent(&v2_feed.1, "Talk D");
    assert!(d.contains("STATUS:CANCELLED\r\n"), "{d}");
    assert!(vevent(&v2_feed.1, "Talk B").contains("SEQUENCE:0\r\n"));

    // What an upstream does wrong changes nothing; each is in the state.
    let failures: [(&str, Reply, &str, u16); 3] = [
        ("a 500", Reply::status(500), "500", 502),
        (
            "garbage",
            Reply::schedule(
                b"<html><body>Bad gateway, try later</body>".to_vec(),
                "junk",
            ),
            "cannot be imported",
            502,
        ),
        (
            "a DST gap",
            Reply::schedule(in_the_dst_gap(), "gap"),
            "does not exist",
            502,
        ),
    ];
    let errors_before = metric(&app, "confcal_source_fetches_total{outcome=\"error\"}");
    for (n, (what, reply, says, status)) in failures.into_iter().enumerate() {
        up.set(reply);
        let r = sync(&app, slug, "");
        let msg = r.assert_error(status, "source");
        assert!(msg.contains(says), "{what}: {msg}");
        let j = r.json();
        assert_eq!(j["outcome"], "error");
        assert_eq!(j["source"]["consecutive_failures"], n as i64 + 1, "{what}");
        assert_eq!(j["source"]["etag"], "\"v2\"", "{what}: the validators stay");
        unchanged_since(&app, slug, &v2_feed, what);
        let st = state(&app, slug);
        assert_eq!(st["state"], "error");
        assert!(st["last_error"].as_str().unwrap().contains(says), "{st}");
    }
    assert_eq!(
        metric(&app, "confcal_source_fetches_total{outcome=\"error\"}"),
        errors_before + 3.0
    );
    assert_eq!(
        metric(&app, "confcal_source_up{conference=\"upfest\"}"),
        0.0
    );
    assert_eq!(
        metric(
            &app,
            "confcal_source_consecutive_failures{conference=\"upfest\"}"
        ),
        3.0
    );

    // No answer within the timeout (1 s here): a 504, nothing changes.
    up.set(Reply::Silent);
    let r = sync(&app, slug, "");
    let msg = r.assert_error(504, "source");
    assert!(msg.contains("no complete answer within 1000 ms"), "{msg}");
    unchanged_since(&app, slug, &v2_feed, "a timeout");

    // The upstream recovers with what it had: a 304 again, and all is well.
    up.set(Reply::schedule(frab(V2), "v2"));
    let r = sync(&app, slug, "");
    assert_eq!(r.json()["outcome"], "not_modified", "{}", r.text());
    assert_eq!(state(&app, slug)["consecutive_failures"], 0);
    assert_eq!(
        metric(&app, "confcal_source_up{conference=\"upfest\"}"),
        1.0
    );
    unchanged_since(&app, slug, &v2_feed, "the recovery");

    // Suddenly empty: held, nothing cancelled, until the operator confirms.
    up.set(Reply::schedule(frab(&[]), "empty"));
    let r = sync(&app, slug, "");
    let msg = r.assert_error(409, "confirm");
    assert!(msg.contains("would cancel 4 of the 4"), "{msg}");
    unchanged_since(&app, slug, &v2_feed, "a held sync");
    let st = state(&app, slug);
    assert_eq!(st["state"], "held");
    assert_eq!(st["held"]["would_cancel"], 4);
    assert_eq!(st["held"]["confirmed"], 4);
    assert_eq!(st["held"]["sessions"], 0);
    assert_eq!(
        st["etag"], "\"v2\"",
        "a held schedule's validators are not kept"
    );
    // Held again on the next fetch: not a 304, the schedule is read again.
    let r = sync(&app, slug, "");
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        up.seen().last().unwrap().header("If-None-Match"),
        Some("\"v2\"")
    );
    assert_eq!(
        metric(&app, "confcal_source_fetches_total{outcome=\"held\"}"),
        2.0
    );

    let r = sync(&app, slug, "?confirm=true");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["outcome"], "ok");
    assert_eq!(j["sync"]["cancelled"].as_array().unwrap().len(), 4);
    assert_eq!(j["source"]["etag"], "\"empty\"");
    assert!(j["source"]["held"].is_null());
    let s = sessions(&app, slug);
    assert!(s.values().all(|s| s["status"] == "cancelled"), "{s:?}");
    let last = feed(&app, slug);
    assert_eq!(last.1.matches("STATUS:CANCELLED").count(), 5);
}

/// A 200 with the same schedule (an upstream without validators) applies
/// nothing new: no byte of the feed changes. Last-Modified alone is sent
/// back as If-Modified-Since; a gzip body is read.
#[test]
fn an_unchanged_schedule_changes_no_byte() {
    let up = Upstream::start(Reply::Schedule {
        body: frab(V1),
        etag: None,
        last_modified: None,
        gzip: true,
    });
    let app = app();
    let st = follow(&app, "upfest", &up.url("/s.xml"));
    assert_eq!(st["state"], "ok", "{st}");
    assert!(st["etag"].is_null());
    assert_eq!(
        up.seen()[0].header("Accept-Encoding"),
        Some("gzip"),
        "compression is asked for"
    );
    let before = feed(&app, "upfest");
    let r = sync(&app, "upfest", "");
    let j = r.json();
    assert_eq!(j["outcome"], "ok", "{j}");
    assert_eq!(j["sync"]["unchanged"], 4);
    assert!(j["sync"]["updated"].as_array().unwrap().is_empty());
    unchanged_since(&app, "upfest", &before, "the same schedule again");
    assert_eq!(j["source"]["last_change"], st["last_change"]);

    let date = "Fri, 05 Jun 2026 08:00:00 GMT";
    up.set(Reply::Schedule {
        body: frab(V1),
        etag: None,
        last_modified: Some(date.into()),
        gzip: false,
    });
    assert_eq!(sync(&app, "upfest", "").json()["outcome"], "ok");
    let r = sync(&app, "upfest", "");
    assert_eq!(r.json()["outcome"], "not_modified", "{}", r.text());
    let last = up.seen().pop().unwrap();
    assert_eq!(last.header("If-Modified-Since"), Some(date));
    assert_eq!(last.header("If-None-Match"), None);
    unchanged_since(&app, "upfest", &before, "a 304 on the date");
}

/// The interval itself triggers fetches (every second here).
#[test]
fn the_interval_fetches_again() {
    let up = Upstream::start(Reply::schedule(frab(V1), "v1"));
    let app = app();
    let r = put_source(
        &app,
        "upfest",
        &json!({"url": up.url("/s.xml"), "every_seconds": 1}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    wait_for("three fetches", Duration::from_secs(20), || {
        (up.seen().len() >= 3).then_some(())
    });
    let seen = up.seen();
    assert_eq!(seen[0].header("If-None-Match"), None);
    assert!(
        seen[1..]
            .iter()
            .all(|s| s.header("If-None-Match") == Some("\"v1\"")),
        "{seen:?}"
    );
    wait_for("a 304 recorded", Duration::from_secs(10), || {
        (state(&app, "upfest")["state"] == "not_modified").then_some(())
    });
    assert!(
        metric(
            &app,
            "confcal_source_fetches_total{outcome=\"not_modified\"}"
        ) >= 1.0
    );

    // Deleted: no more fetches, and the sessions stay as last synced.
    let r = app.request(
        "DELETE",
        "/api/conferences/upfest/source",
        &[("Authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    // A fetch already running when the source went may still arrive.
    std::thread::sleep(Duration::from_millis(1500));
    let after_delete = up.seen().len();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(up.seen().len(), after_delete, "fetched after DELETE");
    assert_eq!(sessions(&app, "upfest").len(), 4);
    let r = app.request(
        "GET",
        "/api/conferences/upfest/source",
        &[("Authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        None,
    );
    r.assert_error(404, "source");
    let r = app.request(
        "DELETE",
        "/api/conferences/upfest/source",
        &[("Authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        None,
    );
    r.assert_error(404, "source");
    sync(&app, "upfest", "").assert_error(404, "source");
}

/// While an upstream fails, the next attempt moves further away; a
/// Retry-After is honoured; one good answer ends the backoff.
#[test]
fn backoff_while_failing_and_retry_after() {
    let up = Upstream::start(Reply::status(500));
    let app = app();
    put_source(
        &app,
        "upfest",
        &json!({"url": up.url("/s.xml"), "every_seconds": 100}),
    );
    wait_for("the first fetch", Duration::from_secs(15), || {
        let s = state(&app, "upfest");
        (!s["last_attempt"].is_null()).then_some(())
    });
    let gap = |s: &Value| {
        let t = |k: &str| chrono::DateTime::parse_from_rfc3339(s[k].as_str().unwrap()).unwrap();
        (t("next_attempt") - t("last_attempt")).num_seconds()
    };
    let mut gaps = vec![gap(&state(&app, "upfest"))];
    for _ in 0..3 {
        gaps.push(gap(&sync(&app, "upfest", "").json()["source"]));
    }
    assert_eq!(gaps, [100, 200, 400, 800]);

    up.set(Reply::Status {
        code: 503,
        headers: vec![("Retry-After".into(), "7200".into())],
        body: Vec::new(),
    });
    let r = sync(&app, "upfest", "");
    r.assert_error(502, "source");
    assert_eq!(gap(&r.json()["source"]), 7200);
    assert_eq!(r.json()["source"]["http_status"], 503);

    up.set(Reply::schedule(frab(V1), "v1"));
    let r = sync(&app, "upfest", "");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(gap(&r.json()["source"]), 100);
    assert_eq!(r.json()["source"]["consecutive_failures"], 0);
    assert!(r.json()["source"]["last_error"].is_null());
}

/// Redirects are followed (to the final URL's schedule); a body over the
/// limit is refused unread; a source set for a new URL starts afresh.
#[test]
fn redirects_size_limit_and_a_new_url() {
    let up = Upstream::start(Reply::schedule(frab(V1), "v1"));
    up.set_path(
        "/old.xml",
        Reply::Status {
            code: 301,
            headers: vec![("Location".into(), "/new.xml".into())],
            body: Vec::new(),
        },
    );
    up.set_path(
        "/loop.xml",
        Reply::Status {
            code: 302,
            headers: vec![("Location".into(), "/loop.xml".into())],
            body: Vec::new(),
        },
    );
    let app = spawn_app_with(|s| {
        s.data_dir = None;
        s.source_timeout_ms = 2_000;
        s.source_min_every = 1;
        s.body_limit = 1024;
    });
    let st = follow(&app, "upfest", &up.url("/old.xml"));
    assert_eq!(st["state"], "error", "4 talks are more than 1 KiB: {st}");
    assert!(st["last_error"]
        .as_str()
        .unwrap()
        .contains("larger than the limit of 1024 bytes"));
    let paths: Vec<String> = up.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/old.xml", "/new.xml"]);

    up.set_path("/new.xml", Reply::schedule(frab(&V1[..1]), "one"));
    let r = sync(&app, "upfest", "");
    assert_eq!(r.json()["outcome"], "ok", "{}", r.text());
    assert_eq!(sessions(&app, "upfest").len(), 1);

    // Another URL: new validators (none sent), state afresh.
    let r = put_source(
        &app,
        "upfest",
        &json!({"url": up.url("/loop.xml"), "every_seconds": 3600}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["state"], "pending");
    assert!(j["etag"].is_null());
    assert!(
        !j["last_success"].is_null(),
        "the schedule served is still the old source's"
    );
    let before = up.seen().len();
    let r = sync(&app, "upfest", "");
    let msg = r.assert_error(502, "source");
    assert!(msg.contains("more than 5 redirects"), "{msg}");
    let seen = up.seen();
    assert!(seen[before..]
        .iter()
        .all(|s| s.header("If-None-Match").is_none()));
    assert_eq!(sessions(&app, "upfest").len(), 1);
}

/// What the operator sends is checked field by field (400 naming it);
/// the admin token is needed for every source call.
#[test]
fn bad_settings_are_400s_naming_the_field() {
    let app = app();
    for (body, field) in [
        (json!({"url": "ftp://example.org/s.xml"}), "url"),
        (json!({"url": "schedule.xml"}), "url"),
        (json!({"format": "auto"}), "url"),
        (json!({"url": 5}), "url"),
        (
            json!({"url": "https://x.example/s", "every_seconds": 0}),
            "every_seconds",
        ),
        (
            json!({"url": "https://x.example/s", "every_seconds": 700000}),
            "every_seconds",
        ),
        (
            json!({"url": "https://x.example/s", "every_seconds": 1.5}),
            "every_seconds",
        ),
        (
            json!({"url": "https://x.example/s", "format": "pdf"}),
            "format",
        ),
        (
            json!({"url": "https://x.example/s", "timezone": "Mars/Olympus"}),
            "timezone",
        ),
        (json!({"url": "https://x.example/s", "every": 60}), "every"),
        (json!(["https://x.example/s"]), "body"),
    ] {
        let r = put_source(&app, "conf", &body);
        r.assert_error(400, field);
    }
    let r = put_source(&app, "Not_A_Slug", &json!({"url": "https://x.example/s"}));
    r.assert_error(400, "conference");
    // Nothing was stored.
    let r = app.request(
        "GET",
        "/api/conferences/conf/source",
        &[("Authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        None,
    );
    r.assert_error(404, "source");

    let r = app.request(
        "PUT",
        "/api/conferences/conf/source",
        &[("Content-Type", "application/json")],
        Some(br#"{"url": "https://x.example/s"}"#),
    );
    r.assert_error(401, "authorization");
    for (method, path) in [
        ("GET", "/api/conferences/conf/source"),
        ("DELETE", "/api/conferences/conf/source"),
        ("POST", "/api/conferences/conf/source/sync"),
    ] {
        app.request(method, path, &[], None)
            .assert_error(401, "authorization");
    }
    let r = put_source(
        &app,
        "conf",
        &json!({"url": "https://x.example/s", "every_seconds": 3600}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    sync(&app, "conf", "?confirm=maybe").assert_error(400, "confirm");
    sync(&app, "conf", "?force=1").assert_error(400, "query");
}

/// The state survives a restart: the next fetch after it is conditional.
/// The conference page says when the schedule was last updated from its
/// source. A password in the URL is in no answer, metric or page.
#[test]
fn state_survives_a_restart_and_the_page_says_when() {
    let up = Upstream::start(Reply::schedule(frab(V1), "v1"));
    let opts = |s: &mut confcal::config::Settings| {
        s.data_dir = None;
        s.source_timeout_ms = 1_000;
        s.source_min_every = 1;
    };
    let keep = tempfile::tempdir().unwrap();
    let db = keep.path().join("confcal.db");
    let app = spawn_on(tempfile::tempdir().unwrap(), db.clone(), opts);
    let url = up
        .url("/s.xml")
        .replace("http://", "http://ops:hunter2-secret@");
    let st = follow(&app, "upfest", &url);
    assert_eq!(st["state"], "ok", "{st}");
    assert!(
        up.seen()[0]
            .header("Authorization")
            .is_some_and(|a| a.starts_with("Basic ")),
        "the URL's credentials are sent"
    );
    assert!(!st.to_string().contains("hunter2"), "{st}");
    assert!(!app.get("/metrics").text().contains("hunter2"));
    let page = app.get("/conferences/upfest").text();
    assert!(!page.contains("hunter2"));
    let note = page
        .split("id=\"source-note\">")
        .nth(1)
        .and_then(|r| r.split("</p>").next())
        .unwrap_or_else(|| panic!("no source note in {page}"));
    assert!(
        note.starts_with("Schedule updated from 127.0.0.1: last checked "),
        "{note}"
    );
    assert!(
        note.contains(" CET") || note.contains(" CEST"),
        "in the conference's zone: {note}"
    );

    // Restart on the same database.
    drop(app);
    let app = spawn_on(keep, db, opts);
    let again = state(&app, "upfest");
    for k in ["etag", "last_success", "last_change", "last_sync", "state"] {
        assert_eq!(again[k], st[k], "{k}");
    }
    let r = sync(&app, "upfest", "");
    assert_eq!(r.json()["outcome"], "not_modified", "{}", r.text());
    assert_eq!(
        up.seen().last().unwrap().header("If-None-Match"),
        Some("\"v1\"")
    );
}

/// `confcal` on the command line, on a database file: (exit ok, stdout,
/// stderr).
fn cli(db: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_confcal"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CONFCAL_BASE_URL")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `confcal source set|show|sync|delete` act on the database directly:
/// the same settings, checks, syncs and state as the API.
#[test]
fn the_command_line_sets_shows_syncs_and_deletes() {
    let up = Upstream::start(Reply::schedule(frab(V1), "v1"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("confcal.db");
    let url = up.url("/s.xml");

    let (ok, _, err) = cli(&db, &["source", "set", "upfest", "ftp://x/y"]);
    assert!(!ok);
    assert!(err.contains("URL: a ftp: URL"), "{err}");
    let (ok, _, err) = cli(&db, &["source", "set", "upfest", &url, "--every", "5"]);
    assert!(!ok);
    assert!(err.contains("--every: 5 is not between 60"), "{err}");
    let (ok, out, err) = cli(
        &db,
        &[
            "source", "set", "upfest", &url, "--format", "frab-xml", "--every", "600",
        ],
    );
    assert!(ok, "{err}");
    let set: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(set["state"], "pending");
    assert_eq!(set["format"], "frab-xml");
    assert_eq!(set["every_seconds"], 600);

    let (ok, out, err) = cli(&db, &["source", "sync", "upfest"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("upfest: ok: 4 created, 0 updated, 0 cancelled, 0 unchanged"),
        "{out}"
    );
    let ua = up.seen()[0].header("User-Agent").unwrap().to_owned();
    assert!(ua.starts_with("confcal/"), "{ua}");
    let (ok, out, _) = cli(&db, &["source", "sync", "upfest"]);
    assert!(ok);
    assert_eq!(out.trim(), "upfest: not_modified");

    up.set(Reply::schedule(frab(&V1[..1]), "one"));
    let (ok, _, err) = cli(&db, &["source", "sync", "upfest"]);
    assert!(!ok, "three of four cancelled is held");
    assert!(err.contains("would cancel 3 of the 4"), "{err}");
    assert!(err.contains("--confirm"), "{err}");
    let (ok, out, err) = cli(&db, &["source", "sync", "upfest", "--confirm"]);
    assert!(ok, "{err}");
    assert!(out.contains("3 cancelled"), "{out}");

    up.set(Reply::status(500));
    let (ok, _, err) = cli(&db, &["source", "sync", "upfest"]);
    assert!(!ok);
    assert!(err.contains("the upstream answered 500"), "{err}");

    let (ok, out, _) = cli(&db, &["source", "show", "upfest"]);
    assert!(ok);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["state"], "error");
    assert_eq!(shown["etag"], "\"one\"");
    assert_eq!(shown["consecutive_failures"], 1);
    let (ok, out, _) = cli(&db, &["source", "show"]);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let (ok, _, _) = cli(&db, &["source", "delete", "upfest"]);
    assert!(ok);
    let (ok, _, err) = cli(&db, &["source", "delete", "upfest"]);
    assert!(!ok);
    assert!(err.contains("follows no source"), "{err}");
    let (ok, _, err) = cli(&db, &["source", "show", "upfest"]);
    assert!(!ok && err.contains("follows no source"), "{err}");
}

/// The real binary: a failing source is in the log (without the URL's
/// password), and a stop is not held up by a fetch that never ends.
#[test]
fn the_binary_logs_failures_and_stops_with_a_fetch_in_flight() {
    use crate::helpers::BinaryServer;
    let up = Upstream::start(Reply::status(500));
    up.set_path("/slow.xml", Reply::Silent);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("confcal.db");
    let mut server = BinaryServer::start_env(
        &db,
        &["--source-timeout-ms", "60000", "--source-min-every", "1"],
        &[("CONFCAL_ADMIN_TOKEN", ADMIN_TOKEN)],
    );
    let admin = |method: &str, path: &str, body: Option<Value>| {
        let req = ureq::request(method, &server.url(path))
            .set("Authorization", &format!("Bearer {ADMIN_TOKEN}"));
        let res = match body {
            Some(b) => req.send_string(&b.to_string()),
            None => req.call(),
        };
        Resp::from_result(method, path, res)
    };
    let url = up
        .url("/broken.xml")
        .replace("http://", "http://ops:hunter2-secret@");
    let r = admin(
        "PUT",
        "/api/conferences/broken/source",
        Some(json!({"url": url, "every_seconds": 3600})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    wait_for("the failure in the log", Duration::from_secs(15), || {
        server
            .log()
            .lines()
            .find(|l| l.contains("source: nothing applied"))
            .map(str::to_owned)
    });
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("source: nothing applied"))
        .unwrap();
    assert!(line.contains("broken") && line.contains("500"), "{line}");
    assert!(line.contains("/broken.xml"), "{line}");
    assert!(!log.contains("hunter2"), "a password in the log: {log}");

    let r = admin(
        "PUT",
        "/api/conferences/slow/source",
        Some(json!({"url": up.url("/slow.xml"), "every_seconds": 3600})),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    wait_for("the slow fetch to start", Duration::from_secs(15), || {
        up.seen()
            .iter()
            .any(|s| s.path == "/slow.xml")
            .then_some(())
    });
    assert_eq!(unsafe { libc::kill(server.pid(), libc::SIGTERM) }, 0);
    let (exit, _) = server
        .wait_exit(Duration::from_secs(10))
        .expect("exits within 10 s of SIGTERM, a fetch still waiting");
    assert!(exit.success(), "{exit:?}: {}", server.log());
    assert!(
        server.log().contains("database checkpointed"),
        "{}",
        server.log()
    );
}
