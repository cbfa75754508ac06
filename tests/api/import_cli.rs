//! `confcal import`: the binary itself, on a temporary database.

use std::process::Command;

use crate::helpers::{fixture, repo_path};

fn confcal(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_confcal"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn dump(db: &std::path::Path) -> Vec<(String, String, i64, i64, i64, String, i64)> {
    let conn = rusqlite_like::open(db);
    rusqlite_like::rows(&conn)
}

/// Reading the database back through the library's own store keeps the
/// test independent of the schema's column names.
mod rusqlite_like {
    use confcal::domain::filter::StatusFilter;
    use confcal::domain::SessionFilter;
    use confcal::store::Store;

    pub fn open(db: &std::path::Path) -> Store {
        Store::open(db).unwrap()
    }

    pub fn rows(store: &Store) -> Vec<(String, String, i64, i64, i64, String, i64)> {
        let filter = SessionFilter {
            status: StatusFilter::All,
            ..SessionFilter::default()
        };
        let mut out = Vec::new();
        for c in store.conferences().unwrap() {
            let (_, sessions) = store.sessions(&c.conference.slug, &filter).unwrap();
            for s in sessions {
                out.push((
                    c.conference.slug.to_string(),
                    s.data.id.to_string(),
                    s.data.start.timestamp(),
                    s.sequence,
                    s.last_modified.timestamp(),
                    s.data.title.clone(),
                    c.version,
                ));
            }
        }
        out
    }
}

#[test]
fn import_reports_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let pycon = repo_path("data/pycon-us-2012.json");
    let lab = repo_path("tests/fixtures/dst-la-2012.json");
    let out = confcal(
        &db,
        &["import", pycon.to_str().unwrap(), lab.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("5 created, 0 updated, 0 cancelled, 0 unchanged"),
        "{text}"
    );
    assert!(text.contains("created dismantling-jinja"), "{text}");
    assert!(text.contains("12 created"), "{text}");
    let before = dump(&db);
    assert_eq!(before.len(), 17);

    let out = confcal(&db, &["import", lab.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("0 created, 0 updated, 0 cancelled, 12 unchanged"),
        "{text}"
    );
    assert_eq!(dump(&db), before);
}

#[test]
fn a_bad_file_exits_non_zero_names_the_problem_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let pycon = repo_path("data/pycon-us-2012.json");
    assert!(confcal(&db, &["import", pycon.to_str().unwrap()])
        .status
        .success());
    let before = dump(&db);

    // A good new version of PyCon plus a broken second file: neither lands.
    let mut changed = fixture("../../data/pycon-us-2012.json");
    changed["sessions"][0]["title"] = serde_json::json!("Should not land");
    let good = dir.path().join("good.json");
    std::fs::write(&good, changed.to_string()).unwrap();
    let mut broken = fixture("dst-la-2012.json");
    broken["sessions"][3]["start"] = serde_json::json!("2012-03-11T02:30");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, broken.to_string()).unwrap();

    let out = confcal(
        &db,
        &["import", good.to_str().unwrap(), bad.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad.json"), "{err}");
    assert!(err.contains("sessions[3].start"), "{err}");
    assert!(err.contains("spring-gap-span"), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert_eq!(dump(&db), before);

    let missing = confcal(&db, &["import", "/nonexistent.json"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.json"));
}
