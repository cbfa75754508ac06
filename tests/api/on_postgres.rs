//! The app on PostgreSQL (`CONFCAL_TEST_POSTGRES`, a database the test
//! may create a schema in; skipped with a line saying so without it):
//! two replicas on one database, a write through one seen at once, with a
//! new ETag, in the feeds of both.

use std::sync::atomic::{AtomicUsize, Ordering};

use confcal::store::{DbTarget, PgUrl};
use serde_json::json;

use crate::helpers::{spawn_app_with, TestApp};

const FEED: &str = "/conferences/pycon-us-2012/sessions.ics";
const SESSION: &str = "/api/conferences/pycon-us-2012/sessions/dismantling-jinja";

/// A schema of its own in the test database, dropped afterwards.
struct Schema {
    base: String,
    name: String,
}

impl Schema {
    fn new() -> Option<Schema> {
        let Ok(base) = std::env::var("CONFCAL_TEST_POSTGRES") else {
            eprintln!("skipping: CONFCAL_TEST_POSTGRES is not set");
            return None;
        };
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "api_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        c.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
        Some(Schema { base, name })
    }

    fn target(&self) -> DbTarget {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        DbTarget::Postgres(
            PgUrl::new(&format!(
                "{}{sep}options=-c%20search_path%3D{}",
                self.base, self.name
            ))
            .unwrap(),
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

fn replica(schema: &Schema) -> TestApp {
    let target = schema.target();
    spawn_app_with(move |s| {
        s.db = target;
        // Replicas share one public address (CONFCAL_BASE_URL).
        s.base_url = Some("http://confcal.test".into());
    })
}

fn etag(app: &TestApp) -> (String, String) {
    let r = app.get(FEED);
    assert_eq!(r.status, 200);
    (r.header("etag").unwrap().to_owned(), r.text())
}

#[test]
fn a_write_through_one_replica_is_in_the_feeds_of_both_at_once() {
    let Some(schema) = Schema::new() else { return };
    // Both start at once on the same empty schema: the migrations and the
    // seed run under advisory locks, so neither fails on the other's work.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| replica(&schema));
        let b = s.spawn(|| replica(&schema));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.get("/healthz").status, 200);
    let (tag_a, body_a) = etag(&a);
    let (tag_b, body_b) = etag(&b);
    assert!(
        tag_a == tag_b && body_a == body_b,
        "both serve the same bytes"
    );
    let again = a.request("GET", FEED, &[("If-None-Match", &tag_a)], None);
    assert_eq!(again.status, 304);

    let mut last = tag_a.clone();
    for round in 0..3 {
        let mut s = a.get(SESSION).json();
        let obj = s.as_object_mut().unwrap();
        for k in ["status", "sequence", "created", "last_modified", "ics_url"] {
            obj.remove(k);
        }
        let title = format!("Retitled on replica a in round {round}");
        s["title"] = json!(title);
        let w = a.admin("PUT", SESSION, &s);
        assert_eq!(w.status, 200, "{}", w.text());
        let (tag, body) = etag(&b);
        assert_ne!(
            tag, last,
            "round {round}: a new ETag at once on the other replica"
        );
        assert!(body.contains(&title), "round {round}: the new title");
        assert!(etag(&a) == (tag.clone(), body), "both replicas agree");
        for app in [&b, &a] {
            let stale = app.request("GET", FEED, &[("If-None-Match", &last)], None);
            assert_eq!(stale.status, 200, "the old ETag no longer matches");
            let fresh = app.request("GET", FEED, &[("If-None-Match", &tag)], None);
            assert_eq!(fresh.status, 304);
        }
        last = tag;
        let seq = b.get(SESSION).json()["sequence"].as_i64().unwrap();
        assert_eq!(seq, round + 1, "the SEQUENCE moved once per change");
    }
}

/// An agenda made and starred through one replica is in its feed on
/// another at once, and an unstar through the other is seen by the first.
#[test]
fn an_agenda_starred_through_one_replica_is_in_its_feed_on_another() {
    let Some(schema) = Schema::new() else { return };
    let a = replica(&schema);
    let b = replica(&schema);
    let made = a.request(
        "POST",
        "/api/agendas",
        &[("Content-Type", "application/json")],
        Some(b""),
    );
    assert_eq!(made.status, 201, "{}", made.text());
    let token = made.json()["token"].as_str().unwrap().to_owned();
    let feed = |app: &TestApp| {
        let r = app.get(&format!("/agendas/{token}.ics"));
        assert_eq!(r.status, 200);
        (r.header("etag").unwrap().to_owned(), r.text())
    };
    let (empty_tag, empty) = feed(&b);
    assert!(!empty.contains("UID:dismantling-jinja"));
    let star = |app: &TestApp, method: &str| {
        let r = app.request(
            method,
            &format!("/api/agendas/{token}/sessions/pycon-us-2012/dismantling-jinja"),
            &[],
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
    };
    star(&a, "PUT");
    let (tag, body) = feed(&b);
    assert_ne!(tag, empty_tag);
    assert!(
        body.contains("UID:dismantling-jinja"),
        "starred on a, seen on b"
    );
    star(&b, "DELETE");
    let (tag_after, body_after) = feed(&a);
    assert_ne!(tag_after, tag);
    assert!(
        !body_after.contains("UID:dismantling-jinja"),
        "unstarred on b, seen on a"
    );
}
