//! SIGKILL the real server in the middle of writes, restart it, and find
//! the database intact: an import applied wholly or not at all, and every
//! acknowledged star still there.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use confcal::generate::{generate, GenerateArgs};
use serde_json::Value;

use crate::helpers::{BinaryServer, ADMIN_TOKEN};

fn start(db: &Path) -> BinaryServer {
    BinaryServer::start(
        db,
        &[
            "--admin-token",
            ADMIN_TOKEN,
            "--agenda-create-per-minute",
            "0",
            "--unknown-token-per-minute",
            "0",
        ],
    )
}

fn doc(seed: u64) -> Value {
    let d = generate(&GenerateArgs {
        sessions: 10_000,
        days: None,
        rooms: 12,
        seed,
    });
    serde_json::to_value(&d).unwrap()
}

fn put(base: &str, path: &str, body: &str) -> Result<u16, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    match agent
        .put(&format!("{base}{path}"))
        .set("Authorization", &format!("Bearer {ADMIN_TOKEN}"))
        .send_string(body)
    {
        Ok(r) => Ok(r.status()),
        Err(ureq::Error::Status(s, _)) => Ok(s),
        Err(e) => Err(e.to_string()),
    }
}

fn integrity_ok(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// id → title of every session served, cancelled ones included.
fn titles(base: &str) -> HashMap<String, String> {
    let j: Value = ureq::get(&format!(
        "{base}/api/conferences/bench-conf/sessions?status=all"
    ))
    .call()
    .unwrap()
    .into_json()
    .unwrap();
    titles_of(&j)
}

/// id → title of the `sessions` of a document or an API listing.
fn titles_of(doc: &Value) -> HashMap<String, String> {
    doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn sigkill_during_a_10k_session_import_leaves_old_or_new_never_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let (old, new) = (doc(1), doc(2));
    let (old_titles, new_titles) = (titles_of(&old), titles_of(&new));
    assert_ne!(old_titles, new_titles);
    let server = start(&db);
    assert_eq!(
        put(
            &server.base,
            "/api/conferences/bench-conf",
            &old.to_string()
        ),
        Ok(201)
    );
    server.kill();

    let body = new.to_string();
    let mut interrupted = 0;
    // Kill at several points of the import; at least one must land while
    // the request is still in flight.
    for delay_ms in [150u64, 400, 800, 1500] {
        let server = start(&db);
        let base = server.base.clone();
        let b = body.clone();
        let request = std::thread::spawn(move || put(&base, "/api/conferences/bench-conf", &b));
        std::thread::sleep(Duration::from_millis(delay_ms));
        server.kill();
        let answer = request.join().unwrap();
        if answer.is_err() {
            interrupted += 1;
        }

        integrity_ok(&db);
        let server = start(&db);
        let now = titles(&server.base);
        assert!(
            now == old_titles || now == new_titles,
            "after a kill at {delay_ms} ms the schedule is a mix of old and new"
        );
        if answer == Ok(200) {
            assert_eq!(now, new_titles, "an acknowledged import was lost");
        }
        // Put the old schedule back for the next round.
        if now == new_titles {
            assert_eq!(
                put(
                    &server.base,
                    "/api/conferences/bench-conf",
                    &old.to_string()
                ),
                Ok(200)
            );
        }
        server.kill();
    }
    assert!(interrupted > 0, "no kill landed during an import");
}

#[test]
fn sigkill_during_a_star_burst_keeps_every_acknowledged_star() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stars.db");
    let server = start(&db);
    let small = generate(&GenerateArgs {
        sessions: 40,
        days: None,
        rooms: 12,
        seed: 3,
    });
    assert_eq!(
        put(
            &server.base,
            "/api/conferences/bench-conf",
            &serde_json::to_string(&small).unwrap()
        ),
        Ok(201)
    );
    let token = ureq::post(&format!("{}/api/agendas", server.base))
        .send_string("")
        .unwrap()
        .into_json::<Value>()
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let base = server.base.clone();
    let t = token.clone();
    // (session, starred, acknowledged): the last message is the call in
    // flight when the server died, which may or may not have been applied.
    let (tx, rx) = std::sync::mpsc::channel::<(String, bool, bool)>();
    let burst = std::thread::spawn(move || {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(5))
            .build();
        let start = Instant::now();
        let mut i = 0u64;
        while start.elapsed() < Duration::from_secs(20) {
            let id = format!("s{:06}", i * 7 % 40);
            let on = (i / 40) % 2 == 0;
            let url = format!("{base}/api/agendas/{t}/sessions/bench-conf/{id}");
            let req = if on {
                agent.put(&url)
            } else {
                agent.delete(&url)
            };
            match req.call() {
                Ok(r) if r.status() == 200 => {
                    if tx.send((id, on, true)).is_err() {
                        break;
                    }
                }
                Ok(r) => panic!("star answered {}", r.status()),
                Err(_) => {
                    // The server is gone.
                    let _ = tx.send((id, on, false));
                    break;
                }
            }
            i += 1;
        }
    });
    // Let a few hundred stars and unstars through, then kill mid-burst.
    let mut acked: HashMap<String, bool> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while acked.values().len() < 40 && Instant::now() < deadline || acked.is_empty() {
        if let Ok((id, on, true)) = rx.recv_timeout(Duration::from_millis(50)) {
            acked.insert(id, on);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    server.kill();
    burst.join().unwrap();
    let mut in_flight = None;
    for (id, on, ok) in rx.try_iter() {
        if ok {
            acked.insert(id, on);
        } else {
            in_flight = Some(id);
        }
    }
    // Unacknowledged: either outcome is right for that one session.
    if let Some(id) = in_flight {
        acked.remove(&id);
    }

    integrity_ok(&db);
    let server = start(&db);
    let agenda: Value = ureq::get(&format!("{}/api/agendas/{token}", server.base))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let starred: std::collections::HashSet<String> = agenda["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(acked.len() >= 20, "only {} acknowledged calls", acked.len());
    for (id, on) in &acked {
        assert_eq!(
            starred.contains(id),
            *on,
            "{id}: acknowledged {on} but lost"
        );
    }
}
