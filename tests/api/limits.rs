//! Per-client rate limits on agenda creation and unknown-token lookups.

use crate::helpers::spawn_app_with;

#[test]
fn agenda_creation_is_limited_per_client() {
    let app = spawn_app_with(|s| s.agenda_create_per_minute = 3);
    for _ in 0..3 {
        assert_eq!(
            app.request("POST", "/api/agendas", &[], Some(b"")).status,
            201
        );
    }
    let r = app.request("POST", "/api/agendas", &[], Some(b""));
    assert_eq!(r.status, 429);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(r.json()["error"].as_str().unwrap().contains("too many"));
}

#[test]
fn unknown_token_lookups_are_limited_and_the_limit_reveals_nothing() {
    let app = spawn_app_with(|s| s.unknown_token_per_minute = 5);
    let good = app.request("POST", "/api/agendas", &[], Some(b"")).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Known tokens do not spend the budget.
    for _ in 0..10 {
        assert_eq!(app.get(&format!("/api/agendas/{good}")).status, 200);
    }
    for i in 0..5 {
        let guess = format!("{}{i}", "g".repeat(42));
        assert_eq!(app.get(&format!("/agendas/{guess}.ics")).status, 404);
    }
    let r = app.get(&format!("/api/agendas/{}", "h".repeat(43)));
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    // Once limited, even the real token gets 429: no oracle.
    assert_eq!(app.get(&format!("/api/agendas/{good}")).status, 429);
    assert_eq!(app.get(&format!("/agendas/{good}.ics")).status, 429);
    // Other URLs are not affected.
    assert_eq!(app.get("/api/conferences").status, 200);
}

/// Lookups in flight at once cannot get past the limit: each holds its
/// unit while it runs (taken before the lookup, given back only for a
/// token that exists), so however many arrive together, no more than the
/// limit are answered "no such agenda".
#[test]
fn concurrent_unknown_token_lookups_stay_within_the_limit() {
    const LIMIT: u32 = 30;
    const CLIENTS: usize = 60;
    const EACH: usize = 3;
    let app = spawn_app_with(|s| s.unknown_token_per_minute = LIMIT);
    let start = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS));
    let base = app.base.clone();
    let began = std::time::Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (start, base) = (start.clone(), base.clone());
            std::thread::spawn(move || {
                let agent = ureq::agent();
                start.wait();
                (0..EACH)
                    .map(|i| {
                        let guess = format!("{:0>43}", format!("c{c}x{i}"));
                        match agent.get(&format!("{base}/agendas/{guess}.ics")).call() {
                            Ok(r) => r.status(),
                            Err(ureq::Error::Status(s, _)) => s,
                            Err(e) => panic!("{e}"),
                        }
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let not_found = statuses.iter().filter(|s| **s == 404).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(not_found + limited, CLIENTS * EACH, "{statuses:?}");
    // The bucket refills as it goes (LIMIT a minute): allow for what came
    // back while the test ran, however long that was.
    let refilled = began.elapsed().as_secs_f64() * f64::from(LIMIT) / 60.0;
    assert!(
        not_found as f64 <= f64::from(LIMIT) + refilled.floor(),
        "{not_found} unknown-token answers for a limit of {LIMIT} (+{refilled:.1} refilled)"
    );
}

/// Search amplification: 50 `q` values of 200 characters, every word a
/// prefix term over the index of all conferences, once cost seconds of
/// database time each. Now the terms are bounded (values, words,
/// word length) and such a query is a 400 naming `q` before it reaches the
/// database; sixteen clients sending it at once leave `/healthz` answering.
#[test]
fn search_terms_are_bounded_and_floods_of_them_leave_health_answering() {
    let app = std::sync::Arc::new(crate::helpers::spawn_app());
    let word = |i: usize| format!("a{i}b");
    let value: String = (0..50).map(word).collect::<Vec<_>>().join("+");
    let value = &value[..197];
    let flood = format!(
        "/api/conferences/pycon-us-2012/sessions?{}",
        (0..50)
            .map(|i| format!("q={i}{value}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    app.get(&flood).assert_error(400, "q");
    let long = format!(
        "/api/conferences/pycon-us-2012/sessions?q={}",
        "x".repeat(41)
    );
    app.get(&long).assert_error(400, "q");
    let many_words = format!(
        "/api/conferences/pycon-us-2012/sessions?q={}",
        vec!["abc"; 17].join("+")
    );
    app.get(&many_words).assert_error(400, "q");
    // The feed and the page refuse it too.
    assert_eq!(
        app.get(&flood.replace(
            "/api/conferences/pycon-us-2012/sessions",
            "/conferences/pycon-us-2012/sessions.ics"
        ))
        .status,
        400
    );

    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (app, flood) = (app.clone(), flood.clone());
            std::thread::spawn(move || (0..4).map(|_| app.get(&flood).status).collect::<Vec<_>>())
        })
        .collect();
    for _ in 0..5 {
        assert_eq!(app.get("/healthz").status, 200);
    }
    for c in clients {
        assert!(c.join().unwrap().iter().all(|&s| s == 400));
    }
    // Honest searches still work: a short word matches whole words only.
    let ids = app.ids("/api/conferences/pycon-us-2012/sessions?q=jinja");
    assert_eq!(ids, ["dismantling-jinja"]);
}

/// Sends a request head (and `body`) on a raw connection, then waits at
/// most 15 s for the status line: a test that cannot hang.
fn status_after_partial_body(app: &crate::helpers::TestApp, head: &str, body: &[u8]) -> String {
    use std::io::{BufRead, BufReader, Write};
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut line = String::new();
    let _ = BufReader::new(s).read_line(&mut line);
    line
}

/// A body that trickles (here: 6 of 100 declared bytes, then nothing) is
/// answered 408 once the body deadline passes, instead of holding the
/// connection for ever; the server goes on accepting and answering while
/// several such uploads are held. A declared body over the limit is a 413
/// before any of it is read, and so is a form that cannot pass its CSRF
/// check (no security cookie, another site's `Origin`): 403.
#[test]
fn slow_bodies_get_a_408_and_the_server_keeps_accepting() {
    let app = std::sync::Arc::new(spawn_app_with(|s| {
        s.body_timeout_ms = 1_000;
        s.body_limit = 64 * 1024;
    }));
    // A well-formed security cookie: the head passes the CSRF checks that
    // need no body, so the body is read (and must arrive in time).
    let head = "POST /agendas/star HTTP/1.1\r\nHost: localhost\r\n\
                Cookie: confcal_csrf=0123456789abcdefghijklmnopqrstuvwxyzABCDEFG\r\n\
                Content-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 100\r\n\r\n";
    // Without the cookie (or from another Origin) the form cannot pass:
    // 403 at once, with none of the body sent.
    let no_cookie = "POST /agendas/star HTTP/1.1\r\nHost: localhost\r\n\
                     Content-Type: application/x-www-form-urlencoded\r\n\
                     Content-Length: 100\r\n\r\n";
    let line = status_after_partial_body(&app, no_cookie, b"");
    assert!(line.starts_with("HTTP/1.1 403"), "{line:?}");
    let foreign = no_cookie.replace(
        "Host: localhost\r\n",
        "Host: localhost\r\nOrigin: https://evil.example\r\n",
    );
    let line = status_after_partial_body(&app, &foreign, b"");
    assert!(line.starts_with("HTTP/1.1 403"), "{line:?}");
    let slow: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            std::thread::spawn(move || status_after_partial_body(&app, head, b"csrf=x"))
        })
        .collect();
    for _ in 0..3 {
        assert_eq!(app.get("/healthz").status, 200);
    }
    for s in slow {
        let line = s.join().unwrap();
        assert!(line.starts_with("HTTP/1.1 408"), "{line:?}");
    }
    let api = "POST /api/agendas HTTP/1.1\r\nHost: localhost\r\n\
               Content-Type: application/json\r\nContent-Length: 50\r\n\r\n";
    let line = status_after_partial_body(&app, api, b"{\"st");
    assert!(line.starts_with("HTTP/1.1 408"), "{line:?}");
    let huge = "POST /agendas/star HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 1000000000\r\n\r\n";
    let line = status_after_partial_body(&app, huge, b"");
    assert!(line.starts_with("HTTP/1.1 413"), "{line:?}");
    assert_eq!(app.get("/healthz").status, 200);
}
