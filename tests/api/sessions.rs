use crate::helpers::{fixture, spawn_app};

#[test]
fn seeded_pycon_sessions_have_pacific_times() {
    let app = spawn_app();
    let r = app.get("/api/conferences/pycon-us-2012/sessions");
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let j = r.json();
    let sessions = j["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 5);
    let jinja = &sessions[0];
    assert_eq!(jinja["id"], "dismantling-jinja");
    assert_eq!(
        jinja["title"],
        "Code Generation in Python: Dismantling Jinja"
    );
    assert_eq!(jinja["speakers"], serde_json::json!(["Armin Ronacher"]));
    assert_eq!(jinja["start"], "2012-03-09T14:00:00-08:00");
    assert_eq!(jinja["end"], "2012-03-09T14:40:00-08:00");
    assert_eq!(jinja["room"], "E2");
    assert_eq!(jinja["status"], "confirmed");
    assert_eq!(jinja["sequence"], 0);
    // 14:00 in Santa Clara on 2012-03-09 (PST, UTC-8) is 22:00 UTC.
    let start = chrono::DateTime::parse_from_rfc3339(jinja["start"].as_str().unwrap()).unwrap();
    assert_eq!(
        start.with_timezone(&chrono::Utc).to_rfc3339(),
        "2012-03-09T22:00:00+00:00"
    );
    let starts: Vec<&str> = sessions
        .iter()
        .map(|s| s["start"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "start order");
    let meta = sessions
        .iter()
        .find(|s| s["id"] == "python-metaprogramming-for-mad-scientists")
        .unwrap();
    assert_eq!(meta["notes"], "Coverage video note");

    let one = app
        .get("/api/conferences/pycon-us-2012/sessions/dismantling-jinja")
        .json();
    assert_eq!(one["title"], jinja["title"]);

    let confs = app.get("/api/conferences").json();
    assert_eq!(confs["conferences"][0]["slug"], "pycon-us-2012");
    assert_eq!(confs["conferences"][0]["timezone"], "America/Los_Angeles");
    assert_eq!(confs["conferences"][0]["session_count"], 5);
    let conf = app.get("/api/conferences/pycon-us-2012").json();
    assert_eq!(conf["name"], "PyCon US 2012");
    assert_eq!(conf["venue"], "Santa Clara Convention Center");
}

#[test]
fn filters_and_their_combinations() {
    let app = spawn_app();
    assert_eq!(app.put_schedule(&fixture("dst-la-2012.json")).status, 201);
    let list = |q: &str| app.ids(&format!("/api/conferences/dst-lab/sessions?{q}"));

    // day is the local date in the conference's zone: the session that starts
    // at 23:30 on the 10th belongs to the 10th although it is the 11th in UTC.
    assert_eq!(
        list("day=2012-03-10"),
        ["sat-morning", "sat-late-cross-midnight"]
    );
    assert_eq!(
        list("day=2012-03-11"),
        [
            "sun-before-gap",
            "spring-gap-span",
            "sun-after-gap",
            "sun-morning"
        ]
    );
    // The 25-hour day of the fall-back holds all five sessions of that night.
    assert_eq!(list("day=2012-11-04").len(), 5);
    // Repeated filter = OR.
    assert_eq!(list("day=2012-03-10&day=2012-03-12").len(), 3);
    // room, case-insensitively, and OR across repeats.
    assert_eq!(list("room=a").len(), list("room=A").len());
    assert_eq!(list("room=A&room=B").len(), 12);
    // Different filters = AND.
    assert_eq!(
        list("day=2012-03-11&room=A"),
        ["sun-before-gap", "sun-after-gap"]
    );
    assert_eq!(list("speaker=Ada%20Lovelace"), ["sat-morning"]);
    assert_eq!(
        list("speaker=ada+lovelace&speaker=Alan+Turing"),
        ["sat-morning", "sun-before-gap"]
    );
    assert_eq!(list("track=control"), ["sat-morning", "mon-morning"]);
    assert_eq!(list("track=spring-forward&room=B"), ["spring-gap-span"]);
    assert_eq!(
        list("track=control&day=2012-03-12&room=A&speaker=Margaret+Hamilton"),
        ["mon-morning"]
    );
    assert!(list("track=control&room=B").is_empty());
    // Full text over title, abstract and speakers.
    assert_eq!(list("q=Dijkstra"), ["spring-gap-span"]);
    assert_eq!(
        list("q=dijkstra&q=knuth"),
        ["spring-gap-span", "sun-morning"]
    );
    assert!(list("q=dijkstra&room=A").is_empty());
    let pycon = |q: &str| app.ids(&format!("/api/conferences/pycon-us-2012/sessions?{q}"));
    assert_eq!(pycon("q=jinja"), ["dismantling-jinja"]);
    assert_eq!(pycon("q=pycassa"), ["apache-cassandra-and-python"]);
    assert_eq!(pycon("q=Cassandra thrift"), ["apache-cassandra-and-python"]);
    // FTS5 syntax in user text is inert: it is searched as plain words.
    assert_eq!(pycon("q=%22%20OR%20*"), pycon("q=or"));
    assert_eq!(
        pycon("q=jinja%20NEAR%2F2%20compiler"),
        pycon("q=jinja+near+2+compiler")
    );
    assert_eq!(
        pycon("room=E1"),
        [
            "make-sure-your-programs-crash",
            "introspecting-running-python-processes"
        ]
    );
    assert!(pycon("day=2012-03-10").is_empty());
}

#[test]
fn bad_filters_are_400_with_the_field() {
    let app = spawn_app();
    let base = "/api/conferences/pycon-us-2012/sessions";
    app.get(&format!("{base}?day=friday-ish"))
        .assert_error(400, "day");
    app.get(&format!("{base}?rooms=E2"))
        .assert_error(400, "rooms");
    app.get(&format!("{base}?status=gone"))
        .assert_error(400, "status");
    app.get(&format!("{base}?room=")).assert_error(400, "room");
    app.get("/api/conferences/nope/sessions")
        .assert_error(404, "conference");
    app.get("/api/conferences/Bad%20Slug")
        .assert_error(404, "conference");
    app.get("/api/conferences/pycon-us-2012/sessions/nope")
        .assert_error(404, "session");
    let r = app.get("/no/such/page");
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_string());
}
