//! Imports of schedules as conferences publish them (frab, pretalx,
//! Sessionize, iCalendar), read from `../shared/real-schedules`: the
//! `confcal import` command and `POST /api/conferences/{conf}/import`,
//! their reports and warnings, and their errors.
//! (scripts/check-imports checks every real file's instants against the
//! file itself; these check the command, the endpoint and the errors.)

use std::path::PathBuf;
use std::process::Command;

use crate::helpers::{spawn_app, spawn_app_with, Resp, TestApp, ADMIN_TOKEN};

fn real(name: &str) -> PathBuf {
    let p = crate::helpers::repo_path("../shared/real-schedules").join(name);
    assert!(p.is_file(), "{} is missing", p.display());
    p
}

fn confcal(db: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_confcal"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn post(app: &TestApp, path: &str, body: &[u8]) -> Resp {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    app.request(
        "POST",
        path,
        &[("Authorization", auth.as_str())],
        Some(body),
    )
}

#[test]
fn cli_imports_frab_xml_with_the_operators_zone_and_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let file = real("frab-31c3.schedule.xml");
    let f = file.to_str().unwrap();

    // 31C3 names no zone: without one the import fails, naming the
    // option, and writes nothing.
    let (ok, _, err) = confcal(&db, &["import", f]);
    assert!(!ok);
    assert!(
        err.contains("--timezone") && err.contains("frab-31c3"),
        "{err}"
    );
    let (ok, out, _) = confcal(&db, &["export", "31c3"]);
    assert!(!ok, "nothing was imported: {out}");

    let (ok, out, err) = confcal(&db, &["import", "--timezone", "Europe/Berlin", f]);
    assert!(ok, "{err}");
    assert!(
        out.contains("138 created, 0 updated, 0 cancelled, 0 unchanged"),
        "{out}"
    );
    // Its acronym is the slug; the after-midnight talks are on the next
    // date (checked in full by scripts/check-imports).
    let (ok, export, _) = confcal(&db, &["export", "31c3"]);
    assert!(ok);
    let doc: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(doc["conference"]["timezone"], "Europe/Berlin");
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 138);

    let (ok, out, _) = confcal(&db, &["import", "--timezone", "Europe/Berlin", f]);
    assert!(ok);
    assert!(
        out.contains("0 created, 0 updated, 0 cancelled, 138 unchanged"),
        "{out}"
    );
    let (_, again, _) = confcal(&db, &["export", "31c3"]);
    assert_eq!(again, export);
}

#[test]
fn cli_warnings_name_the_event_and_conference_and_format_flags_apply() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let file = real("wafer-debconf23.pentabarf.xml");
    let (ok, out, err) = confcal(
        &db,
        &[
            "import",
            "--format",
            "frab-xml",
            "--conference",
            "dc23",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    // One per event, and one per day: its bounds are in UTC too.
    assert!(
        out.contains("117 created") && out.contains("125 warnings"),
        "{out}"
    );
    assert!(
        out.contains(
            "  warning: event 455d075f-48c0-2ec2-24b3-f5add30c383a \"Opening Ceremony\": its start \
             2023-09-10T05:00:00+00:00 is written with the offset +00:00, but Asia/Kolkata is at \
             +05:30 then"
        ),
        "{out}"
    );
    let (ok, export, _) = confcal(&db, &["export", "dc23"]);
    assert!(ok);
    let doc: serde_json::Value = serde_json::from_str(&export).unwrap();
    let opening = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "455d075f-48c0-2ec2-24b3-f5add30c383a")
        .unwrap();
    assert_eq!(
        opening["start"], "2023-09-10T10:30",
        "local time in Kolkata"
    );

    // The wrong format for the content is an error naming the file.
    let (ok, _, err) = confcal(&db, &["import", "--format", "ics", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("BEGIN:VCALENDAR"), "{err}");
}

#[test]
fn cli_errors_for_unknown_formats_garbage_urls_and_several_files_with_one_slug() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let (ok, _, err) = confcal(&db, &["import", "--format", "pdf", "x"]);
    assert!(!ok);
    assert!(
        err.contains("--format") && err.contains("frab-xml"),
        "{err}"
    );
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"\x00\x01 not a schedule").unwrap();
    let (ok, _, err) = confcal(&db, &["import", garbage.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("garbage.bin") && err.contains("none of the formats"),
        "{err}"
    );
    let broken = dir.path().join("broken.xml");
    std::fs::write(&broken, b"<schedule><day date='2020-01-01'>").unwrap();
    let (ok, _, err) = confcal(&db, &["import", broken.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("not well-formed XML"), "{err}");
    // A URL whose server is not there fails naming the URL (and no
    // password in it), and changes nothing.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone_url = format!(
        "http://user:secret@{}/schedule.xml",
        gone.local_addr().unwrap()
    );
    drop(gone);
    let (ok, _, err) = confcal(&db, &["import", &gone_url]);
    assert!(!ok);
    assert!(
        err.contains("schedule.xml") && !err.contains("secret"),
        "{err}"
    );
    let a = real("fosdem-2023.schedule.xml");
    let b = real("fosdem-2007.schedule.xml");
    let (ok, _, err) = confcal(
        &db,
        &[
            "import",
            "--conference",
            "fosdem",
            "--timezone",
            "Europe/Brussels",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(err.contains("--conference names one conference"), "{err}");
    // Without --conference, each takes its file's name.
    let (ok, out, err) = confcal(
        &db,
        &[
            "import",
            "--timezone",
            "Europe/Brussels",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("780 created") && out.contains("215 created"),
        "{out}"
    );
    assert!(confcal(&db, &["export", "fosdem-2007"]).0);
}

#[test]
fn admin_import_answers_like_put_with_warnings() {
    let app = spawn_app();
    let body = std::fs::read(real("pretalx-democon.schedule.json")).unwrap();
    let r = post(&app, "/api/conferences/democon/import", &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    assert_eq!(
        (
            j["conference"].as_str(),
            j["created"].as_u64(),
            j["conference_created"].as_bool()
        ),
        (Some("democon"), Some(36), Some(true))
    );
    let warnings = j["warnings"].as_array().unwrap();
    // One for each event, and for each of the three days (their bounds
    // are in +01:00 too).
    assert_eq!(warnings.len(), 39);
    let named = |prefix: &str| {
        warnings
            .iter()
            .filter(|w| w["event"].as_str().is_some_and(|e| e.starts_with(prefix)))
            .count()
    };
    assert_eq!((named("event "), named("day 2020-12-1")), (36, 3));
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains("but UTC is at +00:00 then"),
        "{}",
        warnings[0]
    );
    // Its languages are kept: in the API, and on the title in the feed.
    let sessions = app.get("/api/conferences/democon/sessions").json();
    assert!(sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["language"] == "en"));
    let id = sessions["sessions"][0]["id"].as_str().unwrap();
    let page = app
        .get(&format!("/conferences/democon/sessions/{id}"))
        .text();
    assert!(page.contains("Language: en"), "{page}");
    let feed = app.get("/conferences/democon/sessions.ics").text();
    assert_eq!(
        feed.matches("\r\nSUMMARY;LANGUAGE=en:").count(),
        36,
        "{feed}"
    );
    // The same again: nothing changes, not even a feed's ETag.
    let etag = app
        .get("/conferences/democon/sessions.ics")
        .header("etag")
        .unwrap()
        .to_owned();
    let r = post(
        &app,
        "/api/conferences/democon/import?format=frab-json",
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (r.json()["unchanged"].as_u64(), r.json()["created"].as_u64()),
        (Some(36), Some(0))
    );
    assert_eq!(
        app.get("/conferences/democon/sessions.ics").header("etag"),
        Some(etag.as_str())
    );
    // An override of the file's zone moves no instant, only how it reads.
    let r = post(
        &app,
        "/api/conferences/democon/import?timezone=Europe/Berlin",
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app.get("/api/conferences/democon");
    assert_eq!(r.json()["timezone"], "Europe/Berlin");
    let warnings = post(
        &app,
        "/api/conferences/democon/import?timezone=Europe/Berlin",
        &body,
    )
    .json()["warnings"]
        .clone();
    assert_eq!(
        warnings.as_array().unwrap().len(),
        1,
        "only the zone override: {warnings}"
    );
}

#[test]
fn admin_import_of_sessionize_needs_a_zone_and_keeps_breaks() {
    let app = spawn_app();
    let body = std::fs::read(real("sessionize-qa-or-the-highway-2026.all.json")).unwrap();
    let path = "/api/conferences/qa-2026/import";
    let msg = post(&app, path, &body).assert_error(422, "timezone");
    assert!(msg.contains("?timezone="), "{msg}");
    assert_eq!(
        app.get("/api/conferences/qa-2026").status,
        404,
        "nothing written"
    );
    let r = post(
        &app,
        &format!("{path}?timezone=America/New_York&format=sessionize"),
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["created"], 46);
    let sessions = app
        .get("/api/conferences/qa-2026/sessions?kind=break")
        .json();
    assert_eq!(sessions["count"], 8, "the service sessions");
    let breakfast = &sessions["sessions"][0];
    assert_eq!(breakfast["title"], "Breakfast & Opening Remarks");
    assert_eq!(breakfast["start"], "2026-06-12T07:00:00-04:00");
    assert_eq!(breakfast["id"], "93adc33b-fa58-4e9b-89cb-8c67a42fd276");
}

#[test]
fn admin_import_errors_are_4xx_naming_the_field() {
    let app = spawn_app();
    let xml = std::fs::read(real("frab-31c3.schedule.xml")).unwrap();
    let path = "/api/conferences/c31/import";
    post(&app, &format!("{path}?format=pdf"), &xml).assert_error(400, "format");
    post(&app, &format!("{path}?timezone=Mars/Olympus"), &xml).assert_error(400, "timezone");
    post(&app, &format!("{path}?zone=UTC"), &xml).assert_error(400, "zone");
    post(&app, path, b"\x00garbage").assert_error(400, "format");
    post(&app, &format!("{path}?format=frab-xml"), b"<schedule><day").assert_error(400, "body");
    post(&app, &format!("{path}?format=ics"), &xml).assert_error(400, "body");
    post(&app, "/api/conferences/Not_A_Slug/import", &xml).assert_error(400, "conference");
    // A local time in a daylight-saving gap is refused, naming the event.
    let gap = serde_json::json!({"sessions": [
        {"id": "1", "title": "In the gap", "startsAt": "2026-03-08T02:30:00", "endsAt": "2026-03-08T03:30:00"}
    ], "speakers": [], "rooms": []});
    let msg = post(
        &app,
        &format!("{path}?timezone=America/New_York"),
        gap.to_string().as_bytes(),
    )
    .assert_error(422, "sessions");
    assert!(
        msg.contains("event 1 \"In the gap\"") && msg.contains("does not exist"),
        "{msg}"
    );
    // Admin auth as for the other admin routes.
    let r = app.request("POST", path, &[], Some(&xml));
    r.assert_error(401, "authorization");
    let closed = spawn_app_with(|s| s.admin_token = None);
    let r = post(&closed, path, &xml);
    r.assert_error(403, "authorization");
    assert_eq!(app.get("/api/conferences/c31").status, 404);
}

#[test]
fn a_zero_length_event_stays_zero_length_and_its_feed_has_no_dtend() {
    let app = spawn_app();
    let body = std::fs::read(real("ccc-36c3-voc-merged.schedule.xml")).unwrap();
    let r = post(
        &app,
        "/api/conferences/36c3/import?timezone=Europe/Berlin",
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["created"], 1351);
    let all = app.get("/api/conferences/36c3/sessions").json();
    let zero: Vec<&serde_json::Value> = all["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["start"] == s["end"])
        .collect();
    assert_eq!(zero.len(), 1, "36C3 has one event of no length");
    let ics = app.get(
        zero[0]["ics_url"]
            .as_str()
            .unwrap()
            .trim_start_matches(&app.base),
    );
    assert_eq!(ics.status, 200);
    let text = ics.text();
    assert!(text.contains("DTSTART"), "{text}");
    assert!(!text.contains("DTEND"), "{text}");
    // An independent reader takes it as one event that starts.
    let cal: icalendar::Calendar = text.parse().unwrap();
    let events: Vec<_> = cal.components.iter().filter_map(|c| c.as_event()).collect();
    assert_eq!(events.len(), 1);
    assert!(icalendar::Component::get_start(events[0]).is_some());
    assert!(icalendar::Component::get_end(events[0]).is_none());
    // The repeated guids (a workshop held twice) and reused ids are
    // sessions of their own, with ids that a second import keeps.
    let ids: std::collections::HashSet<&str> = all["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1351);
    let r = post(
        &app,
        "/api/conferences/36c3/import?timezone=Europe/Berlin",
        &body,
    );
    assert_eq!(r.json()["unchanged"], 1351, "{}", r.text());
}

/// Serves `body` to every GET on a loopback port until the test ends, and
/// counts the requests.
fn serve_file(body: Vec<u8>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    (format!("http://{addr}"), hits)
}

#[test]
fn cli_imports_from_a_url_like_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let from_url = dir.path().join("url.db");
    let from_file = dir.path().join("file.db");
    let file = real("ccc-39c3-hub.schedule.xml");
    let (base, hits) = serve_file(std::fs::read(&file).unwrap());
    let url = format!("{base}/39c3/schedule.xml");
    let (ok, out, err) = confcal(&from_url, &["import", &url]);
    assert!(ok, "{err}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(out.starts_with(&format!("{url}: 215 created")), "{out}");
    let (ok, _, err) = confcal(&from_file, &["import", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    // The same sessions either way: the exports of the two databases agree.
    let export = |db: &std::path::Path| {
        let (ok, listing, err) = confcal(db, &["export", "39c3"]);
        assert!(ok, "{err}");
        listing
    };
    assert_eq!(export(&from_url), export(&from_file));
    // Imported again from the URL: nothing changes.
    let (ok, out, err) = confcal(&from_url, &["import", &url]);
    assert!(ok, "{err}");
    assert!(
        out.contains("0 created, 0 updated, 0 cancelled, 215 unchanged"),
        "{out}"
    );
}
