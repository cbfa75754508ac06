//! Operations: health, metrics, JSON logs, graceful shutdown of the real
//! binary on SIGTERM, online backups under write load, export → import.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use confcal::domain::{ConferenceSlug, SessionFilter};
use confcal::store::{BackupOptions, Store};
use serde_json::{json, Value};

use crate::helpers::{repo_path, spawn_app, BinaryServer as Server, ADMIN_TOKEN};

const BIN: &str = env!("CARGO_BIN_EXE_confcal");

// ---------------------------------------------------------------- helpers

fn call(method: &str, url: &str, body: Option<&Value>) -> (u16, String) {
    let req = ureq::request(method, url)
        .set("Authorization", &format!("Bearer {ADMIN_TOKEN}"))
        .timeout(Duration::from_secs(60));
    let res = match body {
        Some(b) => req.send_json(b.clone()),
        None => req.call(),
    };
    match res {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{method} {url}: {e}"),
    }
}

/// Runs the CLI; panics with its stderr unless it succeeds; returns stdout.
fn cli(db: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CONFCAL_LOG_FORMAT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "confcal {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `name{labels} value` lines of a Prometheus text exposition.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').expect("name value");
            (k.to_owned(), v.parse().expect("a number"))
        })
        .collect()
}

fn sample(m: &HashMap<String, f64>, key: &str) -> f64 {
    *m.get(key)
        .unwrap_or_else(|| panic!("no sample {key} in {:#?}", m.keys().collect::<Vec<_>>()))
}

fn wal(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

// ------------------------------------------------------------------ tests

#[test]
fn healthz_answers_when_the_database_does() {
    let app = spawn_app();
    let r = app.get("/healthz");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"status": "ok"}));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[test]
fn metrics_after_some_traffic() {
    let app = spawn_app();
    assert_eq!(app.get("/api/conferences").status, 200);
    assert_eq!(app.get("/no/such/page").status, 404);
    assert_eq!(app.get("/api/conferences/no-such-conf").status, 404);
    let r = app.request("POST", "/api/agendas", &[], None);
    assert_eq!(r.status, 201, "{}", r.text());
    let token = r.json()["token"].as_str().unwrap().to_owned();
    let star = format!("/api/agendas/{token}/sessions/pycon-us-2012/dismantling-jinja");
    assert_eq!(app.request("PUT", &star, &[], None).status, 200);
    assert_eq!(app.get(&format!("/agendas/{token}.ics")).status, 200);
    let cancel = app.admin(
        "DELETE",
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
        &json!({}),
    );
    assert_eq!(cancel.status, 200, "{}", cancel.text());

    let before = samples(&app.get("/metrics").text());
    let feed = "/conferences/pycon-us-2012/sessions.ics?room=E2";
    assert_eq!(app.get(feed).status, 200);
    assert_eq!(app.get(feed).status, 200);
    let r = app.get("/metrics");
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = r.text();
    let m = samples(&text);

    let req = |route: &str, method: &str, status: u16| {
        format!(
            "confcal_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"
        )
    };
    assert_eq!(sample(&m, &req("/api/conferences", "GET", 200)), 1.0);
    assert_eq!(sample(&m, &req("unmatched", "GET", 404)), 1.0);
    assert_eq!(sample(&m, &req("/api/conferences/{conf}", "GET", 404)), 1.0);
    assert_eq!(sample(&m, &req("/api/agendas", "POST", 201)), 1.0);
    assert_eq!(
        sample(
            &m,
            &req("/api/agendas/{token}/sessions/{conf}/{id}", "PUT", 200)
        ),
        1.0
    );
    assert_eq!(sample(&m, &req("/agendas/{token}.ics", "GET", 200)), 1.0);
    assert_eq!(
        sample(&m, &req("/conferences/{conf}/sessions.ics", "GET", 200)),
        2.0
    );
    // The histogram: both feed requests counted, buckets cumulative.
    let h = "confcal_http_request_duration_seconds";
    let route = "route=\"/conferences/{conf}/sessions.ics\"";
    assert_eq!(sample(&m, &format!("{h}_count{{{route}}}")), 2.0);
    assert_eq!(
        sample(&m, &format!("{h}_bucket{{{route},le=\"+Inf\"}}")),
        2.0
    );
    let mut last = 0.0;
    for le in ["0.001", "0.01", "0.1", "1", "10"] {
        let v = sample(&m, &format!("{h}_bucket{{{route},le=\"{le}\"}}"));
        assert!(v >= last, "buckets are cumulative");
        last = v;
    }
    // The second fetch of the same feed was a cache hit, the first a render.
    let delta = |name: &str| sample(&m, name) - sample(&before, name);
    assert_eq!(delta("confcal_feed_renders_total"), 1.0);
    assert_eq!(delta("confcal_feed_cache_hits_total"), 1.0);

    let listed = app.ids("/api/conferences/pycon-us-2012/sessions").len() as f64;
    assert_eq!(sample(&m, "confcal_sessions{status=\"confirmed\"}"), listed);
    assert_eq!(sample(&m, "confcal_sessions{status=\"cancelled\"}"), 1.0);
    assert_eq!(sample(&m, "confcal_agendas"), 1.0);
    assert_eq!(sample(&m, "confcal_conferences"), 1.0);
    assert!(sample(&m, "confcal_database_size_bytes") > 0.0);
    assert_eq!(sample(&m, "confcal_database_up"), 1.0);
    assert!(!text.contains(&token), "no agenda token in the metrics");
    assert!(
        !text.contains("pycon-us-2012") && !text.contains("dismantling-jinja"),
        "labels are route patterns, never paths"
    );
}

#[test]
fn json_logs_carry_the_route_and_never_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("json.db"),
        &[
            "--log-format",
            "json",
            "--admin-token",
            "json-admin-secret-0123456789abcdefgh",
        ],
    );
    let (s, body) = call("POST", &server.url("/api/agendas"), None);
    assert_eq!(s, 201);
    let token = serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        call("GET", &server.url(&format!("/agendas/{token}.ics")), None).0,
        200
    );
    assert_eq!(
        call("GET", &server.url(&format!("/api/agendas/{token}")), None).0,
        200
    );
    std::thread::sleep(Duration::from_millis(300));
    let log = server.log();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let feed = lines
        .iter()
        .find(|l| l["route"] == "/agendas/{token}.ics")
        .unwrap_or_else(|| panic!("a request line for the agenda feed: {log}"));
    assert_eq!(feed["message"], "request");
    assert_eq!(feed["method"], "GET");
    assert_eq!(feed["path"], "/agendas/<token>.ics");
    assert_eq!(feed["status"], 200);
    assert!(feed["ms"].is_number() && feed["bytes"].is_number());
    let config = lines
        .iter()
        .find(|l| l["message"] == "effective configuration")
        .expect("the configuration is logged");
    assert!(config["config"]
        .as_str()
        .unwrap()
        .contains("admin_token=<redacted>"));
    assert!(!log.contains(&token), "token in the JSON log");
    assert!(
        !log.contains("json-admin-secret-0123456789abcdefgh"),
        "admin token in the log"
    );
}

/// A request in flight when SIGTERM arrives completes in full, then the
/// process exits 0 within 10 s and leaves no WAL behind.
#[test]
fn sigterm_during_a_slow_request() {
    const SESSIONS: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    let doc_path = dir.path().join("big.json");
    std::fs::write(
        &doc_path,
        cli(&db, &["generate", "--sessions", &SESSIONS.to_string()]),
    )
    .unwrap();
    cli(&db, &["import", doc_path.to_str().unwrap()]);
    let slug = {
        let doc: Value = serde_json::from_slice(&std::fs::read(&doc_path).unwrap()).unwrap();
        doc["conference"]["slug"].as_str().unwrap().to_owned()
    };

    let mut server = Server::start(&db, &[]);
    // A cold cache: the first fetch renders all 20,000 events.
    let feed_url = server.url(&format!("/conferences/{slug}/sessions.ics"));
    let request = std::thread::spawn(move || {
        let r = ureq::get(&feed_url)
            .timeout(Duration::from_secs(60))
            .call()
            .expect("the feed is served");
        let status = r.status();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut r.into_reader(), &mut body).expect("the whole body");
        (status, body)
    });
    // Wait until the feed request is being served: /metrics counts itself
    // and the feed.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "the feed request never started");
        assert!(
            !request.is_finished(),
            "the feed was served before SIGTERM could be sent: make it slower"
        );
        let (_, text) = call("GET", &server.url("/metrics"), None);
        if sample(&samples(&text), "confcal_http_requests_in_flight") >= 2.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(unsafe { libc::kill(server.pid(), libc::SIGTERM) }, 0);

    let (status, body) = request.join().unwrap();
    assert_eq!(status, 200);
    assert!(body.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(body.ends_with("END:VCALENDAR\r\n"), "the full body");
    assert_eq!(body.matches("BEGIN:VEVENT\r\n").count(), SESSIONS);

    let (exit, took) = server
        .wait_exit(Duration::from_secs(10))
        .expect("exits within 10 s of SIGTERM");
    assert!(exit.success(), "exit status {exit:?}: {}", server.log());
    assert!(took < Duration::from_secs(10));
    let log = server.log();
    assert!(log.contains("signal=\"SIGTERM\""), "{log}");
    assert!(log.contains("database checkpointed"), "{log}");
    let wal = wal(&db);
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the WAL is checkpointed away"
    );
    // Nothing new is accepted any more.
    assert!(ureq::get(&server.url("/healthz")).call().is_err());
}

/// Backups taken while a writer keeps adding and changing sessions through
/// the admin API are consistent and hold every session acknowledged before
/// they began.
#[test]
fn backup_under_write_load() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let server = Server::start(&db, &["--admin-token", ADMIN_TOKEN]);
    let base = server.base.clone();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop) = (acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let id = format!("w-{i:05}");
                let minute = i % 60;
                let session = json!({
                    "id": id, "title": format!("Load {i}"), "speakers": ["Writer"],
                    "start": format!("2012-03-10T11:{minute:02}"),
                    "end": format!("2012-03-10T12:{minute:02}"),
                    "room": format!("R{}", i % 7), "abstract": "x".repeat(2000),
                });
                let url = format!("{base}/api/conferences/pycon-us-2012/sessions/{id}");
                let (s, body) = call("PUT", &url, Some(&session));
                assert_eq!(s, 201, "{body}");
                acked.lock().unwrap().push(id);
                if i % 3 == 0 {
                    // And change an earlier one: updates as well as inserts.
                    let old = format!("w-{:05}", i / 2);
                    let mut changed = session.clone();
                    changed["id"] = json!(old);
                    changed["title"] = json!(format!("Changed {i}"));
                    let url = format!("{base}/api/conferences/pycon-us-2012/sessions/{old}");
                    assert!(call("PUT", &url, Some(&changed)).0 < 300);
                }
                i += 1;
            }
        })
    };
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.lock().unwrap().len() < n {
            assert!(Instant::now() < deadline, "the writer is stuck");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for(30);

    // 1. The CLI, as an operator runs it. A backup of a small database can
    //    finish between two writes on a loaded machine: run it again (over
    //    the same path) until the writer got in during one.
    let cli_copy = dir.path().join("backup-cli.db");
    let (mut before_cli, mut after_cli) = (Vec::new(), 0);
    for _ in 0..10 {
        before_cli = acked.lock().unwrap().clone();
        cli(&db, &["backup", cli_copy.to_str().unwrap()]);
        after_cli = acked.lock().unwrap().len();
        if after_cli > before_cli.len() {
            break;
        }
    }
    // 2. The library, in tiny steps with pauses, so the writer gets in
    //    between steps and forces restarts.
    wait_for(after_cli + 10);
    let before_lib: Vec<String> = acked.lock().unwrap().clone();
    let lib_copy = dir.path().join("backup-small-steps.db");
    let report = confcal::store::backup(
        &db,
        &lib_copy,
        BackupOptions {
            pages_per_step: 4,
            pause: Duration::from_millis(20),
            max_restarts: 2,
        },
    )
    .unwrap();
    wait_for(before_lib.len() + 10);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let all: BTreeSet<String> = acked.lock().unwrap().iter().cloned().collect();
    assert!(
        after_cli > before_cli.len(),
        "the writer kept writing during the backup"
    );
    eprintln!("small-step backup: {report:?}");

    let seed: BTreeSet<String> = {
        let doc: Value =
            serde_json::from_slice(&std::fs::read(repo_path("data/pycon-us-2012.json")).unwrap())
                .unwrap();
        doc["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for (copy, before) in [(&cli_copy, &before_cli), (&lib_copy, &before_lib)] {
        assert!(!wal(copy).exists());
        let conn = rusqlite::Connection::open(copy).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "{}", copy.display());
        let fk: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk, 0);
        let held: BTreeSet<String> = conn
            .prepare("SELECT slug FROM sessions")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for id in seed.iter().chain(before.iter()) {
            assert!(
                held.contains(id),
                "{} lacks {id}, acknowledged before it began",
                copy.display()
            );
        }
        assert!(
            held.iter().all(|id| seed.contains(id) || all.contains(id)),
            "only real sessions"
        );
        drop(conn);
        // And it serves: the copy opens as a store and lists its sessions.
        let store = Store::open(copy).unwrap();
        let slug = ConferenceSlug::parse("pycon-us-2012").unwrap();
        let (_, listed) = store.sessions(&slug, &SessionFilter::default()).unwrap();
        assert_eq!(listed.len(), held.len());
        // The full-text index agrees with the table (a torn copy would not).
        let q = SessionFilter::from_query("q=writer").unwrap();
        let (_, found) = store.sessions(&slug, &q).unwrap();
        let writers = held.iter().filter(|id| id.starts_with("w-")).count();
        assert_eq!(found.len(), writers);
    }
    drop(server);
}

/// export → import into an empty database → export gives the same bytes,
/// and the same conference and sessions; cancelled sessions are left out.
#[test]
fn export_import_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    let fixture = repo_path("tests/fixtures/dst-la-2012.json");
    let seed = repo_path("data/pycon-us-2012.json");
    cli(
        &a,
        &["import", seed.to_str().unwrap(), fixture.to_str().unwrap()],
    );
    // Cancel one session of the fixture by importing it without it.
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&fixture).unwrap()).unwrap();
    let removed = doc["sessions"].as_array_mut().unwrap().remove(0);
    let removed_id = removed["id"].as_str().unwrap().to_owned();
    let shorter = dir.path().join("shorter.json");
    std::fs::write(&shorter, doc.to_string()).unwrap();
    cli(&a, &["import", shorter.to_str().unwrap()]);

    for slug in ["pycon-us-2012", doc["conference"]["slug"].as_str().unwrap()] {
        let first = cli(&a, &["export", slug]);
        let exported = dir.path().join(format!("{slug}.json"));
        std::fs::write(&exported, &first).unwrap();
        cli(&b, &["import", exported.to_str().unwrap()]);
        let second = cli(&b, &["export", slug]);
        assert_eq!(
            String::from_utf8(first.clone()).unwrap(),
            String::from_utf8(second).unwrap(),
            "{slug}: export → import → export is the identity"
        );

        let text = String::from_utf8(first).unwrap();
        if slug != "pycon-us-2012" {
            assert!(
                !text.contains(&format!("\"{removed_id}\"")),
                "cancelled sessions are not exported"
            );
        }
        // Same conference and sessions, compared as the store reads them.
        let s = ConferenceSlug::parse(slug).unwrap();
        let from_a = Store::open(&a).unwrap().export(&s).unwrap();
        let from_b = Store::open(&b).unwrap().export(&s).unwrap();
        assert_eq!(from_a, from_b, "{slug}");
        // And what the original document said, minus the cancelled one.
        let original = if slug == "pycon-us-2012" {
            confcal::import::load(&seed).unwrap()
        } else {
            confcal::import::load(&shorter).unwrap()
        };
        let mut want = original.sessions.clone();
        want.sort_by(|x, y| (x.start, x.end, &x.id).cmp(&(y.start, y.end, &y.id)));
        assert_eq!(original.conference, from_b.conference);
        assert_eq!(want, from_b.sessions, "{slug}");
        // Sessions in start order.
        assert!(from_b.sessions.windows(2).all(|w| w[0].start <= w[1].start));
    }

    // Unknown conference or database: an error, not an empty document,
    // and no database is created by mistake.
    let out = Command::new(BIN)
        .args(["--db"])
        .arg(&a)
        .args(["export", "no-such-conf"])
        .output()
        .unwrap();
    assert!(!out.status.success() && out.stdout.is_empty());
    let missing = dir.path().join("missing.db");
    let out = Command::new(BIN)
        .args(["--db"])
        .arg(&missing)
        .args(["backup"])
        .arg(dir.path().join("x.db"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!missing.exists());
}

#[test]
fn healthcheck_command_probes_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&dir.path().join("hc.db"), &[]);
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let probe = |addr: &str| {
        Command::new(BIN)
            .args(["healthcheck", "--addr", addr])
            .env_remove("CONFCAL_ADDR")
            .output()
            .unwrap()
            .status
    };
    assert!(probe(&format!("0.0.0.0:{port}")).success());
    assert_eq!(unsafe { libc::kill(server.pid(), libc::SIGINT) }, 0);
    let (exit, _) = server
        .wait_exit(Duration::from_secs(10))
        .expect("SIGINT stops it too");
    assert!(exit.success(), "SIGINT is a graceful stop, exit 0");
    assert!(!probe(&format!("127.0.0.1:{port}")).success());
}
