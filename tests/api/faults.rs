//! Real faults, as an unlucky operator meets them: another process holding
//! the write lock or a read transaction, servers racing on a new file, the
//! `-wal` file deleted before a crash, a database file deleted or made
//! read-only, killed backups, a rotation whose answer was lost.
//!
//! Loads are bounded in count and time and stop by themselves; nothing here
//! asserts how fast anything is, only what it answers while the fault lasts.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{repo_path, spawn_app, spawn_app_with, BinaryServer, ADMIN_TOKEN};

const BIN: &str = env!("CARGO_BIN_EXE_confcal");
const SEEDED: &str = "seeded the empty database";

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .redirects(0)
        .build()
}

/// (status, Retry-After, body) of an answer.
type Answer = (u16, Option<String>, String);

/// Any answer, 4xx and 5xx included; a transport error panics.
fn call(method: &str, url: &str, body: Option<&Value>) -> Answer {
    let req = agent()
        .request(method, url)
        .set("Authorization", &format!("Bearer {ADMIN_TOKEN}"));
    let res = match body {
        Some(b) => req.send_json(b.clone()),
        None => req.call(),
    };
    let r = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = r.status();
    let retry = r.header("Retry-After").map(str::to_owned);
    (status, retry, r.into_string().unwrap_or_default())
}

fn side(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn seed_session_count() -> usize {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(repo_path("data/pycon-us-2012.json")).unwrap())
            .unwrap();
    doc["sessions"].as_array().unwrap().len()
}

fn new_agenda(base: &str) -> String {
    let (s, _, body) = call("POST", &format!("{base}/api/agendas"), None);
    assert_eq!(s, 201, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn starred(base: &str, token: &str) -> Vec<String> {
    let (s, _, body) = call("GET", &format!("{base}/api/agendas/{token}"), None);
    assert_eq!(s, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

const STAR: &str = "pycon-us-2012/dismantling-jinja";

// ------------------------------------------------------ 1. the write lock

/// Another process holds the write lock (`BEGIN IMMEDIATE`, as `confcal
/// import` or a long admin import does) while a dozen clients keep writing:
/// more writers than the server has pooled connections. Reads, pages,
/// feeds and `/healthz` answer 200 while the lock is held; every write
/// answers 503 with `Retry-After`, never 500; once the lock is gone writes
/// succeed again.
#[test]
fn a_write_lock_held_elsewhere_blocks_writes_but_never_reads() {
    let app = spawn_app_with(|s| s.write_timeout_ms = 300);
    let token = new_agenda(&app.base);
    let locker = rusqlite::Connection::open(&app.db).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let answers: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let writers: Vec<_> = (0..12)
        .map(|i| {
            let (stop, answers) = (stop.clone(), answers.clone());
            let (base, token) = (app.base.clone(), token.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
                    let a = if i % 3 == 0 {
                        // An admin write: a session upsert.
                        let s = json!({"title": "Locked out", "start": "2012-03-10T09:00",
                                       "end": "2012-03-10T09:30"});
                        call(
                            "PUT",
                            &format!("{base}/api/conferences/pycon-us-2012/sessions/locked-{i}"),
                            Some(&s),
                        )
                    } else if i % 3 == 1 {
                        call("POST", &format!("{base}/api/agendas"), None)
                    } else {
                        call(
                            "PUT",
                            &format!("{base}/api/agendas/{token}/sessions/{STAR}"),
                            None,
                        )
                    };
                    answers.lock().unwrap().push(a);
                }
            })
        })
        .collect();
    // Let the writers pile up first (not a timing assertion: only so that
    // the reads below meet writers that wait).
    let deadline = Instant::now() + Duration::from_secs(30);
    while answers.lock().unwrap().len() < 12 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let reads = [
        "/healthz".to_owned(),
        "/api/conferences".to_owned(),
        "/api/conferences/pycon-us-2012/sessions".to_owned(),
        "/conferences/pycon-us-2012/sessions.ics?room=E2".to_owned(),
        "/conferences/pycon-us-2012".to_owned(),
        format!("/api/agendas/{token}"),
        format!("/agendas/{token}.ics"),
        "/metrics".to_owned(),
    ];
    for round in 0..3 {
        for path in &reads {
            let (s, _, body) = call("GET", &app.url(path), None);
            assert_eq!(
                s, 200,
                "round {round}: GET {path} while writers wait: {body}"
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    // Every write was answered while the lock was still held.
    let answers = std::mem::take(&mut *answers.lock().unwrap());
    assert!(answers.len() >= 12, "{} writes answered", answers.len());
    for (status, retry, body) in &answers {
        assert_eq!(*status, 503, "a write while the lock is held: {body}");
        let secs: u64 = retry
            .as_deref()
            .expect("503 with Retry-After")
            .parse()
            .expect("Retry-After in seconds");
        assert!(secs >= 1);
        let j: Value = serde_json::from_str(body).expect("a JSON error");
        assert!(j["error"].as_str().is_some_and(|e| !e.is_empty()), "{j}");
    }
    // A whole-schedule import waits and answers the same way.
    let doc: Value =
        serde_json::from_slice(&std::fs::read(repo_path("data/pycon-us-2012.json")).unwrap())
            .unwrap();
    let (s, retry, body) = call(
        "PUT",
        &app.url("/api/conferences/pycon-us-2012"),
        Some(&doc),
    );
    assert_eq!((s, retry.is_some()), (503, true), "{body}");

    locker.execute_batch("ROLLBACK").unwrap();
    let (s, _, body) = call(
        "PUT",
        &app.url(&format!("/api/agendas/{token}/sessions/{STAR}")),
        None,
    );
    assert_eq!(s, 200, "after the lock is released: {body}");
    assert_eq!(starred(&app.base, &token), ["dismantling-jinja"]);
}

// ----------------------------------------------- 2. servers racing at start

/// The schema (`sqlite_schema`) of a database, sorted.
fn schema(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut rows: Vec<String> = conn
        .prepare("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.sort();
    rows
}

/// Four real servers started at the same moment on a file that does not
/// exist yet, three times over: every one starts and serves, the schema is
/// the one a lone start makes, and exactly one of them seeds.
#[test]
fn servers_started_together_on_a_new_file_all_start_and_one_seeds() {
    let dir = tempfile::tempdir().unwrap();
    // What a lone start makes: the schema, and the seed's conference at the
    // version one import gives it.
    let reference = dir.path().join("reference.db");
    let store = confcal::store::Store::open(&reference).unwrap();
    assert!(confcal::import::seed_dir(&store, &repo_path("data"))
        .unwrap()
        .is_some());
    drop(store);
    let want = schema(&reference);
    let want_version: i64 = rusqlite::Connection::open(&reference)
        .unwrap()
        .query_row("SELECT version FROM conferences", [], |r| r.get(0))
        .unwrap();
    for round in 0..3 {
        let db = dir.path().join(format!("race-{round}.db"));
        let starters: Vec<_> = (0..4)
            .map(|_| {
                let db = db.clone();
                std::thread::spawn(move || BinaryServer::start(&db, &[]))
            })
            .collect();
        let servers: Vec<BinaryServer> = starters
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.join()
                    .unwrap_or_else(|_| panic!("round {round}: server {i} did not start"))
            })
            .collect();
        for s in &servers {
            let (st, _, body) = call("GET", &s.url("/healthz"), None);
            assert_eq!(st, 200, "{body}");
            let (st, _, body) = call(
                "GET",
                &s.url("/api/conferences/pycon-us-2012/sessions"),
                None,
            );
            assert_eq!(st, 200, "{body}");
            let j: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(j["count"], seed_session_count());
        }
        // Give the log readers a moment to drain (lines are already written).
        std::thread::sleep(Duration::from_millis(200));
        let seeders = servers.iter().filter(|s| s.log().contains(SEEDED)).count();
        assert_eq!(seeders, 1, "round {round}: {seeders} servers seeded");
        assert_eq!(schema(&db), want, "round {round}");
        let conn = rusqlite::Connection::open(&db).unwrap();
        let conferences: i64 = conn
            .query_row("SELECT count(*) FROM conferences", [], |r| r.get(0))
            .unwrap();
        let version: i64 = conn
            .query_row("SELECT version FROM conferences", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            (conferences, version),
            (1, want_version),
            "one conference, written once"
        );
    }
}

// --------------------------------------------------- 3. the files go away

/// Waits for a process to exit; kills it and fails past `limit`.
fn exit_of(mut child: std::process::Child, limit: Duration) -> (bool, String) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.success(), err);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A WAL deleted while the server runs, then a SIGKILL. The migrations and
/// the seed were checkpointed into the database file, so the restart finds
/// them and does not seed again; `/healthz` noticed the missing WAL and
/// said 503, and the star made before was saved into the file with it.
#[test]
fn a_wal_deleted_before_a_sigkill_loses_nothing_and_is_not_seeded_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wal.db");
    let server = BinaryServer::start(&db, &[]);
    assert!(server.log().contains(SEEDED));
    let token = new_agenda(&server.base);
    let (s, _, _) = call(
        "PUT",
        &server.url(&format!("/api/agendas/{token}/sessions/{STAR}")),
        None,
    );
    assert_eq!(s, 200);
    std::fs::remove_file(side(&db, "-wal")).unwrap();
    let (s, _, body) = call("GET", &server.url("/healthz"), None);
    assert_eq!(s, 503, "a deleted WAL is not healthy: {body}");
    assert!(body.contains("-wal"), "{body}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.log().contains("-wal"), "{}", server.log());
    server.kill();

    let server = BinaryServer::start(&db, &[]);
    let (s, _, body) = call("GET", &server.url("/api/conferences"), None);
    assert_eq!(s, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["conferences"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(starred(&server.base, &token), ["dismantling-jinja"]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(!server.log().contains(SEEDED), "{}", server.log());
    assert_eq!(call("GET", &server.url("/healthz"), None).0, 200);
}

/// The same with nobody asking `/healthz` between the deletion and the
/// kill: the seed is in the database file, not only in the lost WAL, so
/// the restart serves it and does not seed it again.
#[test]
fn a_wal_deleted_right_after_start_then_a_sigkill_keeps_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wal.db");
    let server = BinaryServer::start(&db, &[]);
    std::fs::remove_file(side(&db, "-wal")).unwrap();
    server.kill();
    let server = BinaryServer::start(&db, &[]);
    let (s, _, body) = call(
        "GET",
        &server.url("/api/conferences/pycon-us-2012/sessions"),
        None,
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["count"],
        seed_session_count()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(!server.log().contains(SEEDED), "{}", server.log());
}

/// A database that had data and is found empty (its file truncated, its
/// WAL gone) is not created and seeded anew: `confcal serve` refuses to
/// start and says why and what to do.
#[test]
fn a_database_found_empty_after_having_data_is_not_created_anew() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lost.db");
    let mut server = BinaryServer::start(&db, &[]);
    // Serving: its signal handlers are in place.
    assert_eq!(health(&server.base).0, 200);
    assert_eq!(unsafe { libc::kill(server.pid(), libc::SIGTERM) }, 0);
    let (exit, _) = server.wait_exit(Duration::from_secs(15)).expect("stops");
    assert!(exit.success());
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(side(&db, suffix));
    }
    std::fs::File::create(&db).unwrap(); // truncated to nothing

    let child = Command::new(BIN)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(repo_path("data"))
        .env("RUST_LOG", "info")
        .env_remove("CONFCAL_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (ok, err) = exit_of(child, Duration::from_secs(30));
    assert!(!ok, "started on a database that lost its data: {err}");
    assert!(err.contains("lost.db"), "{err}");
    assert!(err.contains("backup"), "says what to do: {err}");
    assert!(!err.contains(SEEDED), "{err}");
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0, "left as found");
}

fn health(base: &str) -> (u16, String) {
    let (s, _, body) = call("GET", &format!("{base}/healthz"), None);
    (s, body)
}

/// `/healthz` looks at the files, not only at a query (which the open
/// connections keep answering from a deleted or read-only file).
#[test]
fn healthz_notices_a_database_file_deleted_or_made_read_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app();
    assert_eq!(health(&app.base).0, 200);

    let mode = |m: u32| std::fs::set_permissions(&app.db, std::fs::Permissions::from_mode(m));
    mode(0o444).unwrap();
    let (s, body) = health(&app.base);
    mode(0o644).unwrap();
    assert_eq!(s, 503, "{body}");
    assert!(body.contains("read-only"), "{body}");
    assert_eq!(health(&app.base).0, 200, "healthy again once writable");

    let moved = app.db.with_extension("moved");
    std::fs::rename(&app.db, &moved).unwrap();
    let (s, body) = health(&app.base);
    assert_eq!(s, 503, "{body}");
    assert!(body.contains("deleted"), "{body}");
    // What the server still reads was copied beside where the file was.
    let rescued: Vec<PathBuf> = std::fs::read_dir(app.db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".rescued-"))
        .collect();
    assert_eq!(rescued.len(), 1, "{rescued:?}");
    let copy = rusqlite::Connection::open(&rescued[0]).unwrap();
    let n: i64 = copy
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n as usize, seed_session_count());
    drop(copy);
    std::fs::rename(&moved, &app.db).unwrap();
    assert_eq!(health(&app.base).0, 200, "the same file is back");
}

// ------------------------------------------------ 4. a stop inside 10 s

/// Another process holds a read transaction on an old snapshot, so the
/// shutdown checkpoint cannot finish: the server still exits 0 well inside
/// the 10 s `docker stop` waits.
#[test]
fn sigterm_while_another_process_reads_still_exits_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reader.db");
    let mut server = BinaryServer::start(&db, &[]);
    let token = new_agenda(&server.base);
    let reader = rusqlite::Connection::open(&db).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let n: i64 = reader
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
    // A write after the reader's snapshot: the WAL cannot be reset under it.
    let (s, _, _) = call(
        "PUT",
        &server.url(&format!("/api/agendas/{token}/sessions/{STAR}")),
        None,
    );
    assert_eq!(s, 200);

    assert_eq!(unsafe { libc::kill(server.pid(), libc::SIGTERM) }, 0);
    let (exit, _) = server
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("not stopped within 10 s of SIGTERM"));
    assert!(exit.success(), "{exit:?}: {}", server.log());
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    // Nothing acknowledged is lost: the star is in the database.
    let server = BinaryServer::start(&db, &[]);
    assert_eq!(starred(&server.base, &token), ["dismantling-jinja"]);
}

// ------------------------------------- 5. temporary files of killed backups

/// A pid that is not running: a child that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

/// What killed backups leave (a database-sized hidden file beside the
/// destination) is removed by the next backup into that folder, and said;
/// the temporary file of a backup still running, and anything else, stays.
#[test]
fn a_backup_removes_what_killed_backups_left_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let server = BinaryServer::start(&db, &[]);
    drop(server);
    let out = dir.path().join("backups");
    std::fs::create_dir(&out).unwrap();
    let sqlite = std::fs::read(&db).unwrap();
    assert!(sqlite.starts_with(b"SQLite format 3\0"));

    let dead = dead_pid();
    // Left by killed backups: to today's name and to yesterday's.
    let stale = [
        out.join(format!(".today.db.tmp-{dead}")),
        out.join(format!(".confcal-2024-01-01.db.tmp-{dead}")),
    ];
    for p in &stale {
        std::fs::write(p, &sqlite).unwrap();
    }
    // A backup still running (this very process, alive) and files that are
    // not a backup's.
    let running = out.join(format!(".other.db.tmp-{}", std::process::id()));
    std::fs::write(&running, &sqlite).unwrap();
    let unrelated = [
        out.join(format!(".notes.txt.tmp-{dead}")),
        out.join("keep.db"),
    ];
    std::fs::write(&unrelated[0], b"not a database").unwrap();
    std::fs::write(&unrelated[1], &sqlite).unwrap();

    let dest = out.join("today.db");
    let run = Command::new(BIN)
        .arg("--db")
        .arg(&db)
        .arg("backup")
        .arg(&dest)
        .env("RUST_LOG", "info")
        .env_remove("CONFCAL_LOG_FORMAT")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(dest.is_file());
    for p in &stale {
        assert!(!p.exists(), "{} left behind", p.display());
        let name = p.file_name().unwrap().to_string_lossy();
        assert!(err.contains(name.as_ref()), "names {name}: {err}");
    }
    assert!(err.contains("interrupted backup"), "{err}");
    assert!(running.exists(), "a running backup's file is left alone");
    for p in &unrelated {
        assert!(p.exists(), "{} is not a backup's", p.display());
    }
    let left: HashSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 4, "{left:?}");
}

// ---------------------------------------------- 6. a rotation's lost answer

/// The client proposes the new token; if the answer is lost (a crash, a
/// dropped connection after the commit), sending the same request again
/// answers the same links, so the agenda is never out of reach. The old
/// token still stops working at once.
#[test]
fn a_rotation_whose_answer_was_lost_is_retried_safely() {
    let app = spawn_app();
    let old = new_agenda(&app.base);
    let star = app.url(&format!("/api/agendas/{old}/sessions/{STAR}"));
    assert_eq!(call("PUT", &star, None).0, 200);

    let proposed = confcal::domain::agenda::AgendaToken::generate().unwrap();
    let new = proposed.expose().to_owned();
    let rotate = app.url(&format!("/api/agendas/{old}/rotate"));
    let body = json!({ "token": new });
    let (s, _, first) = call("POST", &rotate, Some(&body));
    assert_eq!(s, 200, "{first}");
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["token"], new.as_str());
    // The answer was lost: the client sends the same request again.
    let (s, _, again) = call("POST", &rotate, Some(&body));
    assert_eq!(s, 200, "a retried rotation: {again}");
    assert_eq!(serde_json::from_str::<Value>(&again).unwrap(), first);
    assert_eq!(starred(&app.base, &new), ["dismantling-jinja"]);
    assert_eq!(
        call("GET", &app.url(&format!("/api/agendas/{old}")), None).0,
        404
    );
    // A retry with a different proposal, or after the agenda rotated on,
    // is an unknown token like any other.
    let other = confcal::domain::agenda::AgendaToken::generate().unwrap();
    let (s, _, _) = call("POST", &rotate, Some(&json!({"token": other.expose()})));
    assert_eq!(s, 404);
    let (s, _, _) = call(
        "POST",
        &app.url(&format!("/api/agendas/{new}/rotate")),
        Some(&json!({"token": other.expose()})),
    );
    assert_eq!(s, 200);
    let (s, _, _) = call("POST", &rotate, Some(&body));
    assert_eq!(s, 404, "rotated on: the first rotation's retry is dead");

    // Bad proposals are 4xx JSON naming `token`, and never echo it.
    let current = other.expose().to_owned();
    let rotate = app.url(&format!("/api/agendas/{current}/rotate"));
    for bad in [
        json!({"token": "short"}),
        json!({"token": format!("{}!", &current[1..])}),
        json!({"token": current}),
        json!({"token": 42}),
    ] {
        let (s, _, body) = call("POST", &rotate, Some(&bad));
        assert!(s == 400 || s == 422, "{bad}: {s} {body}");
        let j: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(j["field"], "token", "{j}");
        assert!(!body.contains(&current[1..]), "{body}");
    }
    let (s, _, body) = call("POST", &rotate, Some(&json!({"tokn": "x"})));
    assert_eq!(s, 400, "{body}");
    // Without a proposal the server picks the token, as before.
    let (s, _, body) = call("POST", &rotate, None);
    assert_eq!(s, 200, "{body}");
    let picked = serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(starred(&app.base, &picked), ["dismantling-jinja"]);
}
