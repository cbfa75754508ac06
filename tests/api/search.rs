//! Search costs what the conference searched holds: a big conference in
//! the same database leaves a small one's searches answering, with the
//! same sessions; the index follows every write, and databases made before
//! it was split by conference are migrated in place.

use confcal::domain::{ConferenceSlug, SessionFilter};
use confcal::store::Store;

use crate::helpers::{doc, repo_path, spawn_app};

/// Sessions of the big conference: enough that, with one index over every
/// conference, the worst search of the five-talk seed ran past its
/// deadline several times over (1.6 to 2.1 s, against 250 ms, in a debug
/// build on the machine this was written on).
const BIG: i64 = 100_000;

/// The worst search the bounds let through: 8 values, 16 words, every one
/// a prefix of 3 characters that begins words of the seed conference and
/// hundreds of words of the big one.
const WORST: [&str; 8] = [
    "pyt+cod", "cas+thr", "met+sci", "jin+com", "mad+gen", "pyc+apa", "evi+gen", "dsl+tem",
];

fn worst(slug: &str) -> String {
    let q: Vec<String> = WORST.iter().map(|v| format!("q={v}")).collect();
    format!("/api/conferences/{slug}/sessions?{}", q.join("&"))
}

/// Adds `BIG` sessions to conference `slug` straight in SQL, in one
/// transaction, the index filled by its triggers as for any write. Each
/// session's abstract has four words for every prefix of [`WORST`] (such
/// as `pyta17 pytb17 pytc17 pytd17`: 964 distinct words a prefix), and its
/// title a word of its own (`Session 000042`).
fn add_big_conference(db: &std::path::Path, slug: &str) {
    let mut conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    confcal::store::register_search_function(&conn).unwrap();
    let mut prefixes: Vec<&str> = WORST.iter().flat_map(|v| v.split('+')).collect();
    prefixes.sort();
    prefixes.dedup();
    let words: Vec<String> = prefixes
        .iter()
        .map(|p| {
            format!(
                "'{p}a' || (i % 251) || ' {p}b' || (i % 241) || ' {p}c' || (i % 239) \
                 || ' {p}d' || (i % 233)"
            )
        })
        .collect();
    let tx = conn.transaction().unwrap();
    let id: i64 = tx
        .query_row("SELECT id FROM conferences WHERE slug = ?1", [slug], |r| {
            r.get(0)
        })
        .unwrap();
    tx.execute(
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1)
             INSERT INTO sessions (conference_id, slug, title, speakers, start_utc, end_utc,
                 room, tracks, abstract, notes, url, status, sequence, created, last_modified)
             SELECT ?1, printf('b%06d', i), printf('Session %06d', i), '[\"Big Speaker\"]',
                 1331200000 + i * 60, 1331200000 + i * 60 + 1800, 'Hall', '[]', {},
                 NULL, NULL, 'confirmed', 0, 1331000000, 1331000000
             FROM n",
            words.join(" || ' ' || ")
        ),
        rusqlite::params![id, BIG],
    )
    .unwrap();
    tx.execute(
        "UPDATE conferences SET version = version + 1 WHERE id = ?1",
        [id],
    )
    .unwrap();
    tx.commit().unwrap();
}

/// With 100,000 sessions of another conference in the database, the
/// seed conference's worst search (16 prefix words) answers 200 with the
/// sessions it finds alone, where one index over every conference made it
/// merge the big conference's words too and answer 503 at its deadline.
/// The big conference's own worst search still ends at the deadline (200
/// with every session, or 503 with `Retry-After`), and a narrow search of
/// it answers.
#[test]
fn a_big_conference_leaves_a_small_ones_search_answering() {
    let app = spawn_app();
    let d = doc(
        "big-conf",
        "UTC",
        &[("opening", "2012-03-08T08:00", "2012-03-08T08:30")],
    );
    assert!(app.put_schedule(&d).status < 300);
    // What the seed's worst search finds while it is the only conference
    // with words.
    let alone = app.ids(&worst("pycon-us-2012"));
    assert_eq!(
        alone,
        [
            "dismantling-jinja",
            "apache-cassandra-and-python",
            "python-metaprogramming-for-mad-scientists"
        ]
    );
    add_big_conference(&app.db, "big-conf");
    assert_eq!(
        app.get("/api/conferences/big-conf").json()["session_count"],
        BIG + 1
    );

    for _ in 0..3 {
        assert_eq!(app.ids(&worst("pycon-us-2012")), alone);
    }
    // Each value alone, too: the same sessions as the seed's own words say.
    assert_eq!(
        app.ids("/api/conferences/pycon-us-2012/sessions?q=pyc+apa"),
        ["apache-cassandra-and-python"]
    );

    let r = app.get(&worst("big-conf"));
    match r.status {
        200 => assert_eq!(r.json()["count"], BIG),
        503 => assert!(r.header("retry-after").is_some()),
        s => panic!("{s}: {}", r.text()),
    }
    assert_eq!(
        app.ids("/api/conferences/big-conf/sessions?q=000042"),
        ["b000042"]
    );
    assert_eq!(
        app.ids("/api/conferences/big-conf/sessions?q=pytb240+pyta250&q=000252"),
        // The last word of each kind (a prefix of no other), in one
        // session only: i % 241 == 240 and i % 251 == 250.
        ["b000252", "b060490"]
    );
    assert_eq!(app.get("/healthz").status, 200);
}

/// Every write keeps the index in step: an import creates, changes and
/// cancels sessions, an admin PUT changes one; words of one conference are
/// never found in another, even where the same words are in both.
#[test]
fn the_index_follows_every_write_within_its_conference() {
    let app = spawn_app();
    let mut d = doc(
        "twin",
        "UTC",
        &[
            ("a", "2012-03-08T09:00", "2012-03-08T10:00"),
            ("b", "2012-03-08T10:00", "2012-03-08T11:00"),
        ],
    );
    d["sessions"][0]["title"] = "Apache Cassandra twin".into();
    d["sessions"][1]["title"] = "Zebra crossings".into();
    assert!(app.put_schedule(&d).status < 300);
    let twin = |q: &str| app.ids(&format!("/api/conferences/twin/sessions?{q}"));
    let pycon = |q: &str| app.ids(&format!("/api/conferences/pycon-us-2012/sessions?{q}"));
    assert_eq!(twin("q=cassandra"), ["a"]);
    assert_eq!(pycon("q=cassandra"), ["apache-cassandra-and-python"]);
    assert!(pycon("q=zebra").is_empty());

    // The import changes one title, drops "b" (cancelled) and adds "c".
    d["sessions"][0]["title"] = "Riak twin".into();
    d["sessions"][1]["id"] = "c".into();
    d["sessions"][1]["title"] = "Zebras again".into();
    assert!(app.put_schedule(&d).status < 300);
    assert!(twin("q=cassandra").is_empty());
    assert_eq!(twin("q=riak"), ["a"]);
    assert_eq!(twin("q=zeb"), ["c"]);
    assert_eq!(twin("q=zeb&status=all"), ["b", "c"]);

    // The admin API's single-session PUT.
    let mut s = d["sessions"][0].clone();
    s["title"] = "Cassandra once more".into();
    s["speakers"] = serde_json::json!(["Ngọc Nguyễn"]);
    assert_eq!(
        app.admin("PUT", "/api/conferences/twin/sessions/a", &s)
            .status,
        200
    );
    assert!(twin("q=riak").is_empty());
    assert_eq!(twin("q=nguyen+cass"), ["a"]);
    assert_eq!(pycon("q=cassandra"), ["apache-cassandra-and-python"]);
    assert!(pycon("q=nguyen").is_empty());
}

/// A database of the version before (one index over every conference) is
/// migrated in place when opened: its sessions are found in their own
/// conference only, the old index is gone, and a connection without
/// confcal's function may still delete a session (and its words go with
/// it) but not write one whose words it cannot index.
#[test]
fn old_single_index_databases_migrate_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v6.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(repo_path("src/store/sqlite/migrations"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        for f in &files[..6] {
            conn.execute_batch(&std::fs::read_to_string(f).unwrap())
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO conferences (slug, name, timezone, created, last_modified)
             VALUES ('one', 'One', 'UTC', 1000, 1000), ('two', 'Two', 'UTC', 1000, 1000);
             INSERT INTO sessions (conference_id, slug, title, speakers, start_utc, end_utc,
                 tracks, abstract, status, created, last_modified)
             VALUES (1, 'x', 'Résumé writing', '[\"Zoë\"]', 3600, 7200, '[]', 'Crash course',
                     'confirmed', 1000, 1000),
                    (2, 'y', 'Resume parsing', '[]', 3600, 7200, '[]', 'Crashes', 'confirmed',
                     1000, 1000),
                    (2, 'z', 'Other', '[]', 7200, 9000, '[]', 'Nothing', 'confirmed', 1000, 1000);
             PRAGMA user_version = 6;",
        )
        .unwrap();
    }
    let store = Store::open(&db).unwrap();
    let find = |slug: &str, q: &str| -> Vec<String> {
        let slug = ConferenceSlug::parse(slug).unwrap();
        let (_, s) = store
            .sessions(&slug, &SessionFilter::from_query(q).unwrap())
            .unwrap();
        s.into_iter().map(|s| s.data.id.to_string()).collect()
    };
    assert_eq!(find("one", "q=resume+cra"), ["x"]);
    assert_eq!(find("two", "q=resume+cra"), ["y"]);
    assert_eq!(find("one", "q=zoe"), ["x"]);
    assert!(find("two", "q=zoe").is_empty());

    let conn = rusqlite::Connection::open(&db).unwrap();
    let old: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'sessions_fts%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0, "the old index and its triggers are gone");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    conn.execute("DELETE FROM sessions WHERE slug = 'y'", [])
        .unwrap();
    assert!(find("two", "q=resume").is_empty());
    let e = conn
        .execute("UPDATE sessions SET title = 'New' WHERE slug = 'z'", [])
        .unwrap_err();
    assert!(e.to_string().contains("confcal_search_words"), "{e}");
    assert_eq!(find("two", "q=other"), ["z"]);
}
