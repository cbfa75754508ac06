//! Feeds of today's data are pinned: the seed and the DST fixtures, whole,
//! filtered, single talks and an agenda, compared with renderings saved in
//! `tests/golden/` by the code before session kinds, links, venues with a
//! map, alarms, compact feeds and colours existed. Data that uses none of
//! those must render exactly as it always did, or every subscriber's
//! calendar would see every event change.
//!
//! What differs from run to run is replaced before comparing: the base URL
//! (a random port), the agenda token, and the import instants (`DTSTAMP`,
//! `LAST-MODIFIED`, `CREATED`). The comparison is on unfolded lines, since
//! the port's length moves fold points (the 75-octet rule is checked on the
//! raw bytes here and by the feed tests). VTIMEZONE blocks are left out:
//! they are checked against chrono-tz by `feeds::served_vtimezones_match_chrono_tz`
//! and belong to other work.
//!
//! `CONFCAL_BLESS=1 cargo test golden` rewrites the files.

use crate::helpers::{fixture, repo_path, spawn_app, TestApp};

const FIXTURES: [&str; 3] = [
    "dst-la-2012.json",
    "lord-howe-2012.json",
    "kolkata-2012.json",
];

/// (file name, path) of every pinned feed.
fn feeds() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        ("pycon", "/conferences/pycon-us-2012/sessions.ics"),
        (
            "pycon-friday-e2",
            "/conferences/pycon-us-2012/sessions.ics?day=2012-03-09&room=E2",
        ),
        (
            "pycon-q",
            "/conferences/pycon-us-2012/sessions.ics?q=cassandra",
        ),
        (
            "pycon-empty",
            "/conferences/pycon-us-2012/sessions.ics?room=Nowhere",
        ),
        ("dst-lab", "/conferences/dst-lab/sessions.ics"),
        (
            "dst-lab-track",
            "/conferences/dst-lab/sessions.ics?track=fall-back",
        ),
        ("lhi-2012", "/conferences/lhi-2012/sessions.ics"),
        ("kolkata-2012", "/conferences/kolkata-2012/sessions.ics"),
    ]
    .iter()
    .map(|(n, p)| (n.to_string(), p.to_string()))
    .collect();
    for id in [
        "dismantling-jinja",
        "apache-cassandra-and-python",
        "make-sure-your-programs-crash",
        "python-metaprogramming-for-mad-scientists",
        "introspecting-running-python-processes",
    ] {
        out.push((
            format!("talk-{id}"),
            format!("/conferences/pycon-us-2012/sessions/{id}.ics"),
        ));
    }
    out
}

/// Unfolded, with run-dependent values replaced and VTIMEZONEs removed.
fn normalise(app: &TestApp, body: &[u8], token: Option<&str>) -> String {
    let text = std::str::from_utf8(body).expect("UTF-8 feed");
    for line in text.split_terminator("\r\n") {
        assert!(line.len() <= 75, "line over 75 octets: {line:?}");
    }
    let unfolded = text.replace("\r\n ", "");
    let mut out = String::new();
    let mut in_tz = false;
    for line in unfolded.split_terminator("\r\n") {
        if line == "BEGIN:VTIMEZONE" {
            in_tz = true;
        }
        if !in_tz {
            let mut l = line.replace(&app.base, "http://confcal.test");
            if let Some(t) = token {
                l = l.replace(t, "<token>");
            }
            for p in ["DTSTAMP:", "LAST-MODIFIED:", "CREATED:"] {
                if l.starts_with(p) {
                    l = format!("{p}<instant>");
                }
            }
            out.push_str(&l);
            out.push('\n');
        }
        if line == "END:VTIMEZONE" {
            in_tz = false;
        }
    }
    out
}

fn check(name: &str, got: &str) {
    let path = repo_path(&format!("tests/golden/{name}.txt"));
    if std::env::var_os("CONFCAL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (CONFCAL_BLESS=1 writes it)", path.display()));
    if want != got {
        let line = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        panic!(
            "{name}: feed differs from tests/golden/{name}.txt at line {}:\n want {:?}\n  got {:?}",
            line + 1,
            want.lines().nth(line),
            got.lines().nth(line)
        );
    }
}

#[test]
fn todays_data_renders_exactly_as_before() {
    let app = spawn_app();
    for f in FIXTURES {
        let r = app.put_schedule(&fixture(f));
        assert_eq!(r.status, 201, "{f}: {}", r.text());
    }
    for (name, path) in feeds() {
        let r = app.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        check(&name, &normalise(&app, &r.body, None));
    }

    // An agenda with talks of two conferences.
    let r = app.request("POST", "/api/agendas", &[], None);
    assert_eq!(r.status, 201, "{}", r.text());
    let token = r.json()["token"].as_str().unwrap().to_owned();
    for (conf, id) in [
        ("pycon-us-2012", "dismantling-jinja"),
        ("pycon-us-2012", "apache-cassandra-and-python"),
        ("kolkata-2012", "opening"),
    ] {
        let r = app.request(
            "PUT",
            &format!("/api/agendas/{token}/sessions/{conf}/{id}"),
            &[],
            None,
        );
        assert_eq!(r.status, 200, "{conf}/{id}: {}", r.text());
    }
    let r = app.get(&format!("/agendas/{token}.ics"));
    assert_eq!(r.status, 200, "{}", r.text());
    check("agenda", &normalise(&app, &r.body, Some(&token)));

    // What `confcal export` prints for them is unchanged too.
    let store = confcal::store::Store::open(&app.db).unwrap();
    for slug in ["pycon-us-2012", "dst-lab", "lhi-2012", "kolkata-2012"] {
        let schedule = store
            .export(&confcal::domain::ConferenceSlug::parse(slug).unwrap())
            .unwrap();
        let doc = confcal::domain::ScheduleDocument::from_schedule(&schedule);
        check(
            &format!("export-{slug}"),
            &serde_json::to_string_pretty(&doc).unwrap(),
        );
    }
}
