use serde_json::json;

use crate::helpers::{doc, fixture, repo_path, spawn_app, spawn_app_with, ADMIN_TOKEN};

const LA: &str = "America/Los_Angeles";

fn session(app: &crate::helpers::TestApp, conf: &str, id: &str) -> serde_json::Value {
    app.get(&format!("/api/conferences/{conf}/sessions/{id}"))
        .json()
}

#[test]
fn admin_auth() {
    let app = spawn_app();
    let body = doc("auth", LA, &[("a", "2012-03-09T10:00", "2012-03-09T11:00")]);
    let path = "/api/conferences/auth";
    let bytes = body.to_string();
    let r = app.request("PUT", path, &[], Some(bytes.as_bytes()));
    r.assert_error(401, "authorization");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    app.request(
        "PUT",
        path,
        &[("Authorization", "Bearer nope")],
        Some(bytes.as_bytes()),
    )
    .assert_error(401, "authorization");
    let almost = format!("Bearer {}", &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1]);
    app.request(
        "PUT",
        path,
        &[("Authorization", &almost)],
        Some(bytes.as_bytes()),
    )
    .assert_error(401, "authorization");
    app.request(
        "DELETE",
        "/api/conferences/pycon-us-2012/sessions/dismantling-jinja",
        &[],
        None,
    )
    .assert_error(401, "authorization");
    app.get("/api/conferences/auth")
        .assert_error(404, "conference");
    assert_eq!(
        session(&app, "pycon-us-2012", "dismantling-jinja")["status"],
        "confirmed"
    );
    assert_eq!(app.put_schedule(&body).status, 201);
    // The auth scheme is case-insensitive.
    let lower = format!("bearer {ADMIN_TOKEN}");
    let r = app.request(
        "PUT",
        path,
        &[("Authorization", &lower)],
        Some(bytes.as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let closed = spawn_app_with(|s| s.admin_token = None);
    let msg = closed
        .put_schedule(&body)
        .assert_error(403, "authorization");
    assert!(msg.contains("CONFCAL_ADMIN_TOKEN"), "{msg}");
}

#[test]
fn reimport_is_idempotent_and_changes_bump_sequence() {
    let app = spawn_app();
    let mut d = fixture("dst-la-2012.json");
    let first = app.put_schedule(&d).json();
    assert_eq!(first["created"], 12);
    let before = app
        .get("/api/conferences/dst-lab/sessions?status=all")
        .text();

    let again = app.put_schedule(&d);
    assert_eq!(again.status, 200);
    let again = again.json();
    assert_eq!(
        (
            again["created"].as_u64(),
            again["updated"].as_u64(),
            again["cancelled"].as_u64(),
            again["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(0), Some(12))
    );
    // Byte-identical listing: same sequence, same last_modified everywhere.
    assert_eq!(
        app.get("/api/conferences/dst-lab/sessions?status=all")
            .text(),
        before
    );

    // Change a title and a time: sequence moves for those two only.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    d["sessions"][0]["title"] = json!("Saturday morning, renamed");
    d["sessions"][6]["start"] = json!("2012-03-12T09:30");
    let r = app.put_schedule(&d).json();
    assert_eq!(
        (r["updated"].as_u64(), r["unchanged"].as_u64()),
        (Some(2), Some(10))
    );
    let sat = session(&app, "dst-lab", "sat-morning");
    assert_eq!(sat["sequence"], 1);
    assert_eq!(sat["title"], "Saturday morning, renamed");
    assert!(sat["last_modified"].as_str() > Some(sat["created"].as_str().unwrap()));
    assert_eq!(
        session(&app, "dst-lab", "mon-morning")["start"],
        "2012-03-12T09:30:00-07:00"
    );
    assert_eq!(session(&app, "dst-lab", "sun-morning")["sequence"], 0);

    // A single-session PUT that changes nothing changes nothing.
    let mut one = d["sessions"][0].clone();
    let r = app.admin("PUT", "/api/conferences/dst-lab/sessions/sat-morning", &one);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["outcome"], "unchanged");
    one["room"] = json!("C");
    let r = app
        .admin("PUT", "/api/conferences/dst-lab/sessions/sat-morning", &one)
        .json();
    assert_eq!(r["outcome"], "updated");
    assert_eq!(r["session"]["sequence"], 2);
    assert_eq!(r["session"]["room"], "C");

    // Create one through the single-session endpoint (id taken from the URL).
    let mut new = d["sessions"][0].clone();
    new.as_object_mut().unwrap().remove("id");
    let r = app.admin("PUT", "/api/conferences/dst-lab/sessions/brand-new", &new);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["session"]["sequence"], 0);
    new["id"] = json!("other-id");
    app.admin("PUT", "/api/conferences/dst-lab/sessions/brand-new", &new)
        .assert_error(422, "id");
}

#[test]
fn sync_cancels_missing_sessions_and_delete_cancels() {
    let app = spawn_app();
    let mut d = fixture("dst-la-2012.json");
    app.put_schedule(&d);
    let removed = d["sessions"].as_array_mut().unwrap().remove(3);
    assert_eq!(removed["id"], "spring-gap-span");
    let r = app.put_schedule(&d).json();
    assert_eq!(r["cancelled"], 1);
    assert_eq!(r["unchanged"], 11);
    let list = |q: &str| app.ids(&format!("/api/conferences/dst-lab/sessions?{q}"));
    assert!(!list("").contains(&"spring-gap-span".to_owned()));
    assert_eq!(list("status=cancelled"), ["spring-gap-span"]);
    assert_eq!(list("status=all").len(), 12);
    let s = session(&app, "dst-lab", "spring-gap-span");
    assert_eq!(
        (s["status"].as_str(), s["sequence"].as_i64()),
        (Some("cancelled"), Some(1))
    );
    // Syncing again does not cancel it twice.
    assert_eq!(app.put_schedule(&d).json()["cancelled"], 0);
    assert_eq!(session(&app, "dst-lab", "spring-gap-span")["sequence"], 1);
    // Bringing it back confirms it again with a new sequence.
    d["sessions"].as_array_mut().unwrap().push(removed);
    assert_eq!(app.put_schedule(&d).json()["updated"], 1);
    let s = session(&app, "dst-lab", "spring-gap-span");
    assert_eq!(
        (s["status"].as_str(), s["sequence"].as_i64()),
        (Some("confirmed"), Some(2))
    );

    let r = app.admin(
        "DELETE",
        "/api/conferences/dst-lab/sessions/sun-morning",
        &json!(null),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["outcome"], "cancelled");
    assert_eq!(r.json()["session"]["status"], "cancelled");
    let r = app.admin(
        "DELETE",
        "/api/conferences/dst-lab/sessions/sun-morning",
        &json!(null),
    );
    assert_eq!(r.json()["outcome"], "unchanged");
    app.admin(
        "DELETE",
        "/api/conferences/dst-lab/sessions/nope",
        &json!(null),
    )
    .assert_error(404, "session");
}

#[test]
fn dst_rules_are_enforced_on_import() {
    let app = spawn_app();
    let cases = [
        (
            ("2012-03-11T02:30", "2012-03-11T04:00"),
            "sessions[0].start",
            "does not exist",
        ),
        (
            ("2012-11-04T01:30", "2012-11-04T03:00"),
            "sessions[0].start",
            "-07:00",
        ),
        (
            ("2012-11-04T00:30", "2012-11-04T01:30"),
            "sessions[0].end",
            "happens twice",
        ),
        (
            ("2012-03-09T14:00-07:00", "2012-03-09T15:00"),
            "sessions[0].start",
            "not the offset",
        ),
        (
            ("2012-07-09T14:00-08:00", "2012-07-09T15:00"),
            "sessions[0].start",
            "it is -07:00",
        ),
        (
            ("2012-03-09T14:00", "2012-03-09T13:00"),
            "sessions[0].end",
            "before start",
        ),
    ];
    // An end equal to its start is an event of no length, not an error.
    let d = doc(
        "no-length",
        LA,
        &[("s", "2012-03-09T14:00", "2012-03-09T14:00")],
    );
    assert_eq!(app.put_schedule(&d).status, 201);
    for ((start, end), field, msg) in cases {
        let d = doc("dst-rules", LA, &[("s", start, end)]);
        let m = app.put_schedule(&d).assert_error(422, field);
        assert!(m.contains(msg), "{start}-{end}: {m}");
    }
    app.get("/api/conferences/dst-rules")
        .assert_error(404, "conference");
    // Both readings of the repeated hour, with offsets, are accepted.
    let d = doc(
        "dst-rules",
        LA,
        &[
            ("first", "2012-11-04T01:30-07:00", "2012-11-04T01:45-07:00"),
            ("second", "2012-11-04T01:30-08:00", "2012-11-04T01:45-08:00"),
        ],
    );
    assert_eq!(app.put_schedule(&d).status, 201);
    let s = app.get("/api/conferences/dst-rules/sessions").json();
    assert_eq!(s["sessions"][0]["start"], "2012-11-04T01:30:00-07:00");
    assert_eq!(s["sessions"][1]["start"], "2012-11-04T01:30:00-08:00");
}

#[test]
fn bad_documents_get_json_errors_and_change_nothing() {
    let app = spawn_app_with(|s| s.body_limit = 4096);
    let listing = || {
        app.get("/api/conferences/pycon-us-2012/sessions?status=all")
            .text()
    };
    let before = listing();
    let path = "/api/conferences/pycon-us-2012";
    let mut good: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::helpers::repo_path("data/pycon-us-2012.json")).unwrap(),
    )
    .unwrap();
    // Make it fit the small body limit, and break the last session only.
    for s in good["sessions"].as_array_mut().unwrap() {
        s["abstract"] = json!("short");
    }
    good["sessions"][0]["title"] = json!("Changed title that must not land");
    let mut bad = good.clone();
    bad["sessions"][4]["end"] = json!("2012-03-09T17:00");
    app.put_schedule(&bad).assert_error(422, "sessions[4].end");

    let auth = format!("Bearer {ADMIN_TOKEN}");
    let h = [("Authorization", auth.as_str())];
    let send = |body: &[u8]| app.request("PUT", path, &h, Some(body));
    send(b"{not json").assert_error(400, "body");
    send(b"").assert_error(400, "body");
    send(b"{} {}").assert_error(400, "body");
    send(br#"{"conference": {"slug": 5}}"#).assert_error(400, "conference.slug");
    let mut wrong_type = good.clone();
    wrong_type["sessions"][2]["speakers"] = json!("Moshe Zadka");
    send(wrong_type.to_string().as_bytes()).assert_error(400, "sessions[2].speakers");
    let mut unknown = good.clone();
    unknown["sessions"][1]["speeker"] = json!(["x"]);
    send(unknown.to_string().as_bytes()).assert_error(400, "sessions[1].speeker");
    let mut missing = good.clone();
    missing["sessions"][1]
        .as_object_mut()
        .unwrap()
        .remove("start");
    send(missing.to_string().as_bytes()).assert_error(400, "sessions[1]");
    let mut slug = good.clone();
    slug["conference"]["slug"] = json!("other-conf");
    send(slug.to_string().as_bytes()).assert_error(422, "conference.slug");
    let mut dup = good.clone();
    dup["sessions"][3]["id"] = json!("dismantling-jinja");
    send(dup.to_string().as_bytes()).assert_error(422, "sessions[3].id");
    send(&[0xff, 0xfe, b'{']).assert_error(400, "body");
    send(&vec![b' '; 5000]).assert_error(413, "body");
    let mut tz = good.clone();
    tz["conference"]["timezone"] = json!("Mars/Olympus_Mons");
    send(tz.to_string().as_bytes()).assert_error(422, "conference.timezone");

    assert_eq!(listing(), before, "a failed import changed stored data");
    // The good document still applies afterwards.
    let r = send(good.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_ne!(listing(), before);
}

/// A weak admin token stops the server at start, with a message naming
/// the setting and how to make a good one; the token itself is not shown.
#[test]
fn weak_admin_tokens_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (weak, why) in [
        ("x", "1 character long"),
        ("0123456789abcdefghijklmnopqrstu", "31 characters long"),
        (
            "abababababababababababababababababab",
            "different characters",
        ),
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_confcal"))
            .arg("--db")
            .arg(dir.path().join("weak.db"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(repo_path("data"))
            .env("CONFCAL_ADMIN_TOKEN", weak)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A server that took the token would run on: give it a minute to
        // refuse (it takes milliseconds), then stop it and fail.
        let refused = (0..600).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            child.try_wait().unwrap().is_some()
        });
        if !refused {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{weak}: the server started with it");
        }
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success(), "{weak}: the server started");
        let err = String::from_utf8_lossy(&out.stderr);
        for part in [
            why,
            "CONFCAL_ADMIN_TOKEN",
            "--admin-token",
            "openssl rand -base64 32",
        ] {
            assert!(err.contains(part), "{weak}: {part:?} not in {err}");
        }
        if weak.len() > 1 {
            assert!(!err.contains(weak), "the token in the message: {err}");
        }
    }
    assert!(
        !dir.path().join("weak.db").exists(),
        "refused before the database was touched"
    );
    // The same check for an app built in-process.
    let settings = confcal::config::Settings::from_args(
        dir.path().join("weak2.db"),
        confcal::config::ServeArgs {
            addr: "127.0.0.1:0".into(),
            admin_token: Some(confcal::config::Secret::new("short")),
            ..confcal::config::ServeArgs::default()
        },
    );
    let built = actix_web::rt::System::new()
        .block_on(async { confcal::startup::Application::build(settings).map(|_| ()) });
    assert!(matches!(
        built,
        Err(confcal::startup::StartupError::WeakAdminToken(_))
    ));
}
