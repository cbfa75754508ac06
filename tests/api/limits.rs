//! Per-client rate limits on agenda creation and unknown-token lookups.

use crate::helpers::{spawn_app_with, Options};

#[test]
fn agenda_creation_is_limited_per_client() {
    let app = spawn_app_with(Options {
        rate_limits: (3, 0),
        ..Options::default()
    });
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
    let app = spawn_app_with(Options {
        rate_limits: (0, 5),
        ..Options::default()
    });
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
