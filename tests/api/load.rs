//! A bounded loopback load: readers on every feed kind and the API while
//! writers change sessions and stars. No 5xx, and every acknowledged write
//! is visible afterwards.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, ADMIN_TOKEN};

const READERS: usize = 4;
const READS_EACH: usize = 600;
const WRITES_EACH: usize = 100;

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

fn status(r: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match r {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => panic!("transport error under load: {e}"),
    }
}

#[test]
fn mixed_load_has_no_5xx_and_loses_no_acknowledged_write() {
    let app = Arc::new(spawn_app());
    let base = app.base.clone();
    let token = app.request("POST", "/api/agendas", &[], Some(b"")).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids: Vec<String> = app.ids("/api/conferences/pycon-us-2012/sessions");
    let sessions: HashMap<String, Value> = ids
        .iter()
        .map(|id| {
            let mut s = app
                .get(&format!("/api/conferences/pycon-us-2012/sessions/{id}"))
                .json();
            let o = s.as_object_mut().unwrap();
            for k in ["status", "sequence", "created", "last_modified", "ics_url"] {
                o.remove(k);
            }
            (id.clone(), s)
        })
        .collect();

    let read_paths = Arc::new(vec![
        "/conferences/pycon-us-2012/sessions.ics".to_owned(),
        "/conferences/pycon-us-2012/sessions.ics?room=E1".to_owned(),
        "/conferences/pycon-us-2012/sessions/dismantling-jinja.ics".to_owned(),
        format!("/agendas/{token}.ics"),
        "/api/conferences/pycon-us-2012/sessions?q=python".to_owned(),
        format!("/api/agendas/{token}"),
        "/conferences/pycon-us-2012".to_owned(),
    ]);
    let mut handles = Vec::new();
    for r in 0..READERS {
        let (base, paths) = (base.clone(), read_paths.clone());
        handles.push(std::thread::spawn(move || {
            let a = agent();
            let mut n = 0;
            for i in 0..READS_EACH {
                let path = &paths[(i + r) % paths.len()];
                let enc = ["gzip", "identity", "br"][i % 3];
                let (s, _) = status(
                    a.get(&format!("{base}{path}"))
                        .set("Accept-Encoding", enc)
                        .call(),
                );
                assert!(s < 500, "{path} answered {s}");
                assert_eq!(s, 200, "{path}");
                n += 1;
            }
            n
        }));
    }
    // Session writers: each owns one session and retitles it repeatedly.
    let mut writers = Vec::new();
    for id in ids.iter().take(2).cloned() {
        let (base, mut body) = (base.clone(), sessions[&id].clone());
        writers.push(std::thread::spawn(move || {
            let a = agent();
            let mut last = String::new();
            for n in 0..WRITES_EACH {
                let title = format!("{id} rev {n}");
                body["title"] = json!(title);
                let (s, text) = status(
                    a.put(&format!(
                        "{base}/api/conferences/pycon-us-2012/sessions/{id}"
                    ))
                    .set("Authorization", &format!("Bearer {ADMIN_TOKEN}"))
                    .send_string(&body.to_string()),
                );
                assert_eq!(s, 200, "{text}");
                last = title;
            }
            (id, last)
        }));
    }
    // A star writer toggling stars on the other sessions.
    let star = {
        let (base, token, ids) = (base.clone(), token.clone(), ids.clone());
        std::thread::spawn(move || {
            let a = agent();
            let mut state: HashMap<String, bool> = HashMap::new();
            for n in 0..WRITES_EACH * 2 {
                let id = &ids[2 + n % (ids.len() - 2)];
                let on = (n / 3) % 2 == 0;
                let url = format!("{base}/api/agendas/{token}/sessions/pycon-us-2012/{id}");
                let (s, _) = status(if on {
                    a.put(&url).call()
                } else {
                    a.delete(&url).call()
                });
                assert_eq!(s, 200);
                state.insert(id.clone(), on);
            }
            state
        })
    };

    let reads: usize = handles.into_iter().map(|h| h.join().expect("reader")).sum();
    assert_eq!(reads, READERS * READS_EACH);
    let finals: Vec<(String, String)> = writers
        .into_iter()
        .map(|w| w.join().expect("writer"))
        .collect();
    let stars = star.join().expect("star writer");

    let feed = app
        .get("/conferences/pycon-us-2012/sessions.ics")
        .text()
        .replace("\r\n ", "");
    for (id, title) in finals {
        assert_eq!(
            app.get(&format!("/api/conferences/pycon-us-2012/sessions/{id}"))
                .json()["title"],
            title.as_str()
        );
        assert!(
            feed.contains(&format!("SUMMARY:{title}\r\n")),
            "{title} not in the feed"
        );
    }
    let agenda = app.get(&format!("/api/agendas/{token}")).json();
    let starred: Vec<&str> = agenda["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for (id, on) in stars {
        assert_eq!(starred.contains(&id.as_str()), on, "{id}");
    }
}
