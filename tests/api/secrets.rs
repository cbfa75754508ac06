//! Agenda tokens must never reach the log or the database file: run the
//! real binary, use an agenda for a while, then search both for the tokens.

use crate::helpers::BinaryServer;

fn start(db: &std::path::Path) -> BinaryServer {
    BinaryServer::start_env(db, &[], &[("RUST_LOG", "trace")])
}

fn call(method: &str, url: &str) -> (u16, String) {
    match ureq::request(method, url).call() {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn tokens_never_reach_the_log_or_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("secret.db");
    let server = start(&db);
    let b = &server.base;
    let mut tokens = Vec::new();
    let (s, body) = call("POST", &format!("{b}/api/agendas"));
    assert_eq!(s, 201);
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    tokens.push(token.clone());
    for id in ["dismantling-jinja", "apache-cassandra-and-python"] {
        assert_eq!(
            call(
                "PUT",
                &format!("{b}/api/agendas/{token}/sessions/pycon-us-2012/{id}")
            )
            .0,
            200
        );
    }
    assert_eq!(
        call(
            "DELETE",
            &format!("{b}/api/agendas/{token}/sessions/pycon-us-2012/dismantling-jinja")
        )
        .0,
        200
    );
    assert_eq!(call("GET", &format!("{b}/api/agendas/{token}")).0, 200);
    assert_eq!(call("GET", &format!("{b}/agendas/{token}.ics")).0, 200);
    assert_eq!(call("GET", &format!("{b}/agendas/{token}/changes")).0, 200);
    assert_eq!(
        call("GET", &format!("{b}/agendas/{token}/changes.atom")).0,
        200
    );
    let (s, body) = call("POST", &format!("{b}/api/agendas/{token}/rotate"));
    assert_eq!(s, 200);
    let new = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    tokens.push(new.clone());
    assert_eq!(call("GET", &format!("{b}/agendas/{token}.ics")).0, 404);
    assert_eq!(call("GET", &format!("{b}/agendas/{new}.ics")).0, 200);
    // A wrong guess is not logged either.
    let guess = "G".repeat(43);
    tokens.push(guess.clone());
    assert_eq!(call("GET", &format!("{b}/api/agendas/{guess}")).0, 404);
    assert_eq!(
        call("GET", &format!("{b}/agendas/{guess}/changes.atom")).0,
        404
    );
    let (s, body) = call("POST", &format!("{b}/api/agendas"));
    assert_eq!(s, 201);
    let third = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    tokens.push(third.clone());
    assert_eq!(call("DELETE", &format!("{b}/api/agendas/{third}")).0, 204);

    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = server.log();
    assert!(
        log.contains("/agendas/<token>.ics") && log.contains("/agendas/<token>/changes.atom"),
        "access log lines are there: {log}"
    );
    drop(server);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        files.push(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(!files.is_empty());
    for t in &tokens {
        assert!(!log.contains(t.as_str()), "token in the log");
        for f in &files {
            assert!(
                !f.windows(t.len()).any(|w| w == t.as_bytes()),
                "token in a database file"
            );
        }
    }
}

/// Paths that route nowhere (or elsewhere) but carry a token all the same:
/// the log must not show it, however the path is spelled.
#[test]
fn tokens_in_odd_paths_never_reach_the_log() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("odd.db"));
    let (s, body) = call("POST", &format!("{}/api/agendas", server.base));
    assert_eq!(s, 201);
    let token = serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let encoded: String = token.bytes().map(|b| format!("%{b:02X}")).collect();
    let addr = server.base.trim_start_matches("http://").to_owned();
    for path in [
        format!("//agendas/{token}.ics"),
        format!("/Agendas/{token}"),
        format!("/AGENDAS/{token}/rotate"),
        format!("/agendas//{token}.ics"),
        format!("/api//agendas/{token}"),
        format!("/agendas/{encoded}.ics"),
        format!("/somewhere/{token}x"),
    ] {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            c,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = Vec::new();
        c.read_to_end(&mut answer).unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 "), "{path}");
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = server.log();
    assert!(log.contains("//agendas/<token>.ics"), "{log}");
    assert!(log.contains("/Agendas/<token>"), "{log}");
    assert!(!log.contains(&token[1..]), "token in the log: {log}");
}
