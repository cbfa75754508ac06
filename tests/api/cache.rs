//! The feed cache must never serve stale data: every write is visible in
//! the very next response of every feed kind, whatever the encoding, and
//! under concurrent writers and readers no reader ever goes back in time.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const CONF: &str = "/conferences/pycon-us-2012/sessions.ics";

fn session(app: &TestApp, id: &str) -> Value {
    let mut s = app
        .get(&format!("/api/conferences/pycon-us-2012/sessions/{id}"))
        .json();
    let obj = s.as_object_mut().unwrap();
    for k in ["status", "sequence", "created", "last_modified", "ics_url"] {
        obj.remove(k);
    }
    // The API gives offsets; the document format wants them too.
    s
}

fn retitle(app: &TestApp, id: &str, title: &str) {
    let mut s = session(app, id);
    s["title"] = json!(title);
    let r = app.admin(
        "PUT",
        &format!("/api/conferences/pycon-us-2012/sessions/{id}"),
        &s,
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

/// The feed's text, unfolded, read with `encoding` and decoded.
fn feed(app: &TestApp, path: &str, encoding: &str) -> String {
    let r = app.request("GET", path, &[("Accept-Encoding", encoding)], None);
    assert_eq!(r.status, 200, "{path}");
    let raw = match r.header("content-encoding") {
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&r.body[..])
                .read_to_end(&mut out)
                .unwrap();
            out
        }
        Some("br") => {
            let mut out = Vec::new();
            brotli::Decompressor::new(&r.body[..], 4096)
                .read_to_end(&mut out)
                .unwrap();
            out
        }
        None => r.body.clone(),
        Some(other) => panic!("unexpected coding {other}"),
    };
    String::from_utf8(raw).unwrap().replace("\r\n ", "")
}

fn new_agenda(app: &TestApp, stars: &[&str]) -> String {
    let r = app.request("POST", "/api/agendas", &[], Some(b""));
    let token = r.json()["token"].as_str().unwrap().to_owned();
    for id in stars {
        let r = app.request(
            "PUT",
            &format!("/api/agendas/{token}/sessions/pycon-us-2012/{id}"),
            &[],
            None,
        );
        assert_eq!(r.status, 200);
    }
    token
}

#[test]
fn every_write_shows_in_the_next_response_of_every_feed_kind() {
    let app = spawn_app();
    let token = new_agenda(&app, &["dismantling-jinja"]);
    let agenda = format!("/agendas/{token}.ics");
    let kinds = [
        CONF.to_owned(),
        format!("{CONF}?room=E2"),
        format!("{CONF}?day=2012-03-09&q=jinja"),
        "/conferences/pycon-us-2012/sessions/dismantling-jinja.ics".to_owned(),
        agenda.clone(),
    ];
    for round in 0..12 {
        let title = format!("Dismantling Jinja, take {round}");
        // Warm every cache entry in every coding, then write, then read.
        for path in &kinds {
            for enc in ["identity", "gzip", "br"] {
                feed(&app, path, enc);
            }
        }
        retitle(&app, "dismantling-jinja", &title);
        for path in &kinds {
            for enc in ["identity", "gzip", "br"] {
                let text = feed(&app, path, enc);
                assert!(
                    text.contains(&format!("SUMMARY:{}\r\n", title.replace(',', "\\,"))),
                    "round {round}: {path} ({enc}) is stale"
                );
            }
        }
    }
    // Stars: the agenda feed follows each star and unstar at once.
    for round in 0..6 {
        let on = round % 2 == 0;
        let method = if on { "PUT" } else { "DELETE" };
        app.request(
            method,
            &format!("/api/agendas/{token}/sessions/pycon-us-2012/make-sure-your-programs-crash"),
            &[],
            None,
        );
        for enc in ["identity", "gzip", "br"] {
            let text = feed(&app, &agenda, enc);
            assert_eq!(
                text.contains("UID:make-sure-your-programs-crash."),
                on,
                "round {round} ({enc})"
            );
        }
    }
    // A session that leaves a filter leaves that feed at once.
    let mut s = session(&app, "apache-cassandra-and-python");
    s["room"] = json!("E9");
    app.admin(
        "PUT",
        "/api/conferences/pycon-us-2012/sessions/apache-cassandra-and-python",
        &s,
    );
    assert!(!feed(&app, &format!("{CONF}?room=E2"), "gzip").contains("apache-cassandra"));
    assert!(feed(&app, &format!("{CONF}?room=E9"), "gzip").contains("apache-cassandra"));
}

/// The counter in a title like "Talk 17": what a reader saw of a writer.
fn counters(text: &str, ids: &[String]) -> Vec<i64> {
    ids.iter()
        .map(|id| {
            let event = text
                .split("BEGIN:VEVENT")
                .find(|e| e.contains(&format!("UID:{id}.")))
                .unwrap_or_else(|| panic!("{id} missing"));
            let summary = event
                .lines()
                .find_map(|l| l.strip_prefix("SUMMARY:"))
                .unwrap();
            summary
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(-1)
        })
        .collect()
}

#[test]
fn concurrent_writers_and_readers_never_see_stale_data() {
    let app = Arc::new(spawn_app());
    let ids: Vec<String> = [
        "dismantling-jinja",
        "apache-cassandra-and-python",
        "make-sure-your-programs-crash",
    ]
    .map(String::from)
    .to_vec();
    let token = new_agenda(&app, &ids.iter().map(String::as_str).collect::<Vec<_>>());
    let paths = Arc::new(vec![
        CONF.to_owned(),
        format!("{CONF}?day=2012-03-09"),
        format!("/agendas/{token}.ics"),
    ]);
    let done = Arc::new(AtomicBool::new(false));
    let ids = Arc::new(ids);

    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (app, paths, ids, done) = (app.clone(), paths.clone(), ids.clone(), done.clone());
            std::thread::spawn(move || {
                let mut seen = vec![vec![-1i64; ids.len()]; paths.len()];
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) || reads < 10 {
                    for (p, path) in paths.iter().enumerate() {
                        let enc = ["identity", "gzip", "br"][(reads + r) % 3];
                        let now = counters(&feed(&app, path, enc), &ids);
                        for (i, (&before, &after)) in seen[p].iter().zip(&now).enumerate() {
                            assert!(
                                after >= before,
                                "{path}: {} went back {before} → {after}",
                                ids[i]
                            );
                        }
                        seen[p] = now;
                    }
                    reads += 1;
                }
                reads
            })
        })
        .collect();

    let writers: Vec<_> = (0..ids.len())
        .map(|w| {
            let (app, paths, ids) = (app.clone(), paths.clone(), ids.clone());
            std::thread::spawn(move || {
                let id = &ids[w];
                for n in 0..15i64 {
                    retitle(&app, id, &format!("Talk {n}"));
                    // Read-your-writes, through the cache, on every kind.
                    for path in paths.iter() {
                        let c = counters(&feed(&app, path, "gzip"), &ids)[w];
                        assert!(c >= n, "{path}: wrote {n} for {id}, read {c}");
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader") >= 10);
    }
    for path in paths.iter() {
        for enc in ["identity", "gzip", "br"] {
            assert_eq!(
                counters(&feed(&app, path, enc), &ids),
                vec![14; ids.len()],
                "{path} {enc}"
            );
        }
    }
}

#[test]
fn a_write_by_another_process_shows_at_once() {
    let app = spawn_app();
    let before = feed(&app, CONF, "gzip");
    assert!(before.contains("SUMMARY:Code Generation in Python: Dismantling Jinja\r\n"));
    // Warm the cache, verified at the current data version.
    feed(&app, CONF, "gzip");
    let mut doc: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::helpers::repo_path("data/pycon-us-2012.json")).unwrap(),
    )
    .unwrap();
    doc["sessions"][0]["title"] = json!("Renamed by another process");
    let file = app.dir.path().join("renamed.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_confcal"))
        .arg("--db")
        .arg(&app.db)
        .arg("import")
        .arg(&file)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for enc in ["identity", "gzip", "br"] {
        let after = feed(&app, CONF, enc);
        assert!(
            after.contains("SUMMARY:Renamed by another process\r\n"),
            "{enc} is stale"
        );
    }
}
