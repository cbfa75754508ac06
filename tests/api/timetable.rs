//! The attendee's pages of issue 16: the timetable grid (rows, columns,
//! the DST days, filters and the subscribe panel), now and next at a given
//! moment, the time-zone choice (`?tz=`, its cookie, an unknown zone), and
//! the list's shared star form.

use crate::helpers::{doc, fixture, spawn_app, Resp};
use crate::support::browser::Browser;

fn set_cookie<'a>(r: &'a Resp, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// The grid placement classes of session `id`'s block.
fn block_class(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"s-{id}\""))
        .unwrap_or_else(|| panic!("no block {id}"));
    let open = html[..at].rfind("<article class=\"").unwrap() + "<article class=\"".len();
    let class = &html[open..];
    class[..class.find('"').unwrap()].to_owned()
}

/// Ids of the blocks (or cards) in document order.
fn ids(html: &str) -> Vec<String> {
    html.split("id=\"s-")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect()
}

/// The hour labels of a grid, in order.
fn hours(html: &str) -> Vec<String> {
    html.split("<div class=\"hour ")
        .skip(1)
        .map(|s| {
            let a = s.find("<span>").unwrap() + 6;
            s[a..a + s[a..].find('<').unwrap()].to_owned()
        })
        .collect()
}

#[test]
fn the_seed_friday_is_a_grid_of_three_rooms() {
    let app = spawn_app();
    let r = app.get("/conferences/pycon-us-2012/timetable?day=2012-03-09");
    assert_eq!(r.status, 200);
    let html = r.text();
    // Rooms E1, E2, E3 are grid columns 2, 3, 4 (1 holds the hours).
    for (room, col) in [("E1", 2), ("E2", 3), ("E3", 4)] {
        assert!(
            html.contains(&format!(
                "<div class=\"room-h r1 c{col} w1\" aria-hidden=\"true\">{room}</div>"
            )),
            "{room}"
        );
    }
    // Rows are five minutes from 2:00pm, the first talk's hour; row 1 is
    // the header, so 2:00pm is grid row 2.
    assert_eq!(block_class(&html, "dismantling-jinja"), "slot r2 h8 c3 w1");
    assert_eq!(
        block_class(&html, "apache-cassandra-and-python"),
        "slot r10 h8 c3 w1"
    );
    assert_eq!(
        block_class(&html, "make-sure-your-programs-crash"),
        "slot r18 h6 c2 w1 short"
    );
    assert_eq!(
        block_class(&html, "python-metaprogramming-for-mad-scientists"),
        "slot r31 h11 c4 w1"
    );
    assert_eq!(
        block_class(&html, "introspecting-running-python-processes"),
        "slot r42 h8 c2 w1"
    );
    // Document (and screen-reader) order is time order.
    assert_eq!(
        ids(&html),
        [
            "dismantling-jinja",
            "apache-cassandra-and-python",
            "make-sure-your-programs-crash",
            "python-metaprogramming-for-mad-scientists",
            "introspecting-running-python-processes"
        ]
    );
    assert_eq!(hours(&html), ["2:00pm", "3:00pm", "4:00pm", "5:00pm"]);
    assert!(html.contains("<time datetime=\"2012-03-09T22:00:00+00:00\">2:00pm–2:40pm</time>"));
    // The placements' stylesheet is linked, and serves the classes.
    let css_path = html
        .split("href=\"/assets/grid.")
        .nth(1)
        .map(|s| format!("/assets/grid.{}", &s[..s.find('"').unwrap()]))
        .expect("grid.css linked");
    let css = app.get(&css_path).text();
    assert!(css.contains(".r42{grid-row-start:42}") && css.contains(".h11{grid-row-end:span 11}"));
    // Without a day: the conference's first day (2012 is not today).
    let first = app.get("/conferences/pycon-us-2012/timetable").text();
    assert_eq!(ids(&first), ids(&html));
}

#[test]
fn filters_apply_to_the_grid_and_its_subscribe_panel() {
    let app = spawn_app();
    let html = app
        .get("/conferences/pycon-us-2012/timetable?day=2012-03-09&room=E2")
        .text();
    assert_eq!(
        ids(&html),
        ["dismantling-jinja", "apache-cassandra-and-python"]
    );
    // One room: its column is grid column 2.
    assert_eq!(block_class(&html, "dismantling-jinja"), "slot r2 h8 c2 w1");
    let feed = format!(
        "{}/conferences/pycon-us-2012/sessions.ics?day=2012-03-09&amp;room=E2",
        app.base
    );
    assert!(
        html.contains(&format!("id=\"subscribe-https\" href=\"{feed}\"")),
        "{html}"
    );
    // The day links and views keep the filters.
    assert!(html.contains("href=\"/conferences/pycon-us-2012/timetable?day=2012-03-09&amp;room=E2\" aria-current=\"page\""));
    assert!(
        html.contains("href=\"/conferences/pycon-us-2012?day=2012-03-09&amp;room=E2\">List</a>")
    );
    // A filter that cannot be read is a 400 naming it; an empty field goes
    // to the tidy URL.
    let bad = app.get("/conferences/pycon-us-2012/timetable?day=tomorrow");
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("“day”"));
    let tidy =
        Browser::new(&app).get("/conferences/pycon-us-2012/timetable?day=2012-03-09&speaker=");
    assert_eq!(tidy.status, 302);
    assert_eq!(
        tidy.header("location"),
        Some("/conferences/pycon-us-2012/timetable?day=2012-03-09")
    );
    assert_eq!(app.get("/conferences/nope/timetable").status, 404);
}

#[test]
fn dst_days_draw_real_durations_and_past_midnight_runs_on() {
    let app = spawn_app();
    assert_eq!(app.put_schedule(&fixture("dst-la-2012.json")).status, 201);
    // 2012-03-11 has 23 hours: 2am does not exist.
    let html = app
        .get("/conferences/dst-lab/timetable?day=2012-03-11")
        .text();
    assert_eq!(block_class(&html, "sun-before-gap"), "slot r8 h12 c2 w1");
    // 1:30am PST to 3:30am PDT is one real hour: 12 rows.
    assert_eq!(block_class(&html, "spring-gap-span"), "slot r20 h12 c3 w1");
    assert_eq!(block_class(&html, "sun-after-gap"), "slot r26 h12 c2 w1");
    // 9am PDT is 8 real hours after midnight PST.
    assert_eq!(block_class(&html, "sun-morning"), "slot r98 h12 c3 w1");
    let h = hours(&html);
    assert_eq!(&h[..3], ["12:00am", "1:00am", "3:00am"]);
    assert_eq!(h.len(), 9, "{h:?}");
    // Saturday's late talk runs on below midnight, labelled with the day.
    let sat = app
        .get("/conferences/dst-lab/timetable?day=2012-03-10")
        .text();
    assert_eq!(
        block_class(&sat, "sat-late-cross-midnight"),
        "slot r176 h12 c3 w1"
    );
    assert_eq!(hours(&sat).last().unwrap(), "12:00am (Sun)");
    // 2012-11-04 has 25 hours: 1am twice, overlapping talks in lanes.
    let fall = app
        .get("/conferences/dst-lab/timetable?day=2012-11-04")
        .text();
    assert_eq!(
        &hours(&fall)[..4],
        ["12:00am", "1:00am", "1:00am", "2:00am"]
    );
    assert_eq!(block_class(&fall, "fall-into-repeat"), "slot r8 h21 c2 w1");
    assert_eq!(
        block_class(&fall, "fall-repeat-full-hour"),
        "slot r16 h12 c3 w1"
    );
    assert!(fall.contains("<div class=\"room-h r1 c2 w2\" aria-hidden=\"true\">A</div>"));
}

#[test]
fn now_and_next_at_a_given_moment() {
    let app = spawn_app();
    let at = |q: &str| app.get(&format!("/conferences/pycon-us-2012/now?at={q}"));
    let html = at("2012-03-09T14:10").text();
    assert!(
        html.contains("It is 2:10pm, Friday 9th March 2012."),
        "{html}"
    );
    assert!(html.contains("PyCon US 2012 is on: Friday 9th March, day 1 of 1."));
    assert!(html.contains("<div class=\"now-item\" data-now=\"dismantling-jinja\">"));
    assert!(html.contains("<div class=\"next-item\" data-next=\"apache-cassandra-and-python\">"));
    assert!(html.contains("<div class=\"next-item\" data-next=\"make-sure-your-programs-crash\">"));
    assert!(!html.contains("data-now=\"make-sure-your-programs-crash\""));
    // At a talk's end it is over: the next one is on.
    let html = at("2012-03-09T14:40").text();
    assert!(html.contains("data-now=\"apache-cassandra-and-python\""));
    assert!(!html.contains("data-now=\"dismantling-jinja\""));
    let before = at("2012-03-01T09:00").text();
    assert!(
        before.contains(
            "PyCon US 2012 has not begun: it starts at 2:00pm, Friday 9th March 2012, in 8 days."
        ),
        "{before}"
    );
    assert!(!before.contains("data-now="));
    let after = at("2012-03-10T09:00").text();
    assert!(after.contains("PyCon US 2012 is over: it ended at 6:00pm, Friday 9th March 2012."));
    assert!(!after.contains("data-next="));
    let bad = at("yesterday");
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("“at”"));
    // A local time that does not exist is refused like in documents.
    assert_eq!(
        app.get("/conferences/dst-lab/now?at=2012-03-11T02:30")
            .status,
        404,
        "no such conference yet"
    );
    assert_eq!(app.put_schedule(&fixture("dst-la-2012.json")).status, 201);
    assert_eq!(
        app.get("/conferences/dst-lab/now?at=2012-03-11T02:30")
            .status,
        400
    );
    assert_eq!(
        app.get("/conferences/dst-lab/now?at=2012-03-11T03:10")
            .status,
        200
    );
}

#[test]
fn times_in_my_zone_beside_the_conferences() {
    let app = spawn_app();
    let mut b = Browser::new(&app);
    let path = "/conferences/pycon-us-2012/sessions/dismantling-jinja";
    let plain = b.get(path).text();
    assert!(plain.contains("2:00pm to 2:40pm, Friday 9th March"));
    assert!(!plain.contains("(Europe/Berlin)"));
    assert!(plain.contains("Conference time: America/Los_Angeles"));

    let r = b.get(&format!("{path}?tz=Europe%2FBerlin"));
    assert_eq!(r.status, 200);
    let cookie = set_cookie(&r, "confcal_tz").expect("the choice is remembered");
    assert!(cookie.starts_with("confcal_tz=Europe/Berlin;") && cookie.contains("SameSite=Lax"));
    let html = r.text();
    // Both: the conference's own time, and mine (Berlin is 9 hours ahead).
    assert!(html.contains("2:00pm to 2:40pm, Friday 9th March <span class=\"muted\">(conference time, America/Los_Angeles)</span>"));
    assert!(html.contains("11:00pm to 11:40pm, Friday 9th March (Europe/Berlin)"));

    // The cookie carries it to the other pages.
    let list = b.get("/conferences/pycon-us-2012").text();
    assert!(list.contains(
        "<span class=\"mine\">11:00pm to 11:40pm, Friday 9th March (Europe/Berlin)</span>"
    ));
    assert!(list.contains("<p>2:00pm to 2:40pm · E2 · by Armin Ronacher"));
    let grid = b.get("/conferences/pycon-us-2012/timetable").text();
    assert!(grid.contains("(11:00pm–11:40pm Europe/Berlin)"));
    let now = b
        .get("/conferences/pycon-us-2012/now?at=2012-03-09T14:10")
        .text();
    assert!(now.contains(
        "It is 2:10pm, Friday 9th March 2012 (11:10pm, Friday 9th March 2012 in Europe/Berlin)."
    ));
    // Tokyo is on the next day.
    let tokyo = b.get(&format!("{path}?tz=Asia/Tokyo")).text();
    assert!(tokyo.contains("7:00am to 7:40am, Saturday 10th March (Asia/Tokyo)"));

    // Back to conference time: `tz=` empty clears the cookie.
    let r = b.get(&format!("{path}?tz="));
    assert!(set_cookie(&r, "confcal_tz").unwrap().contains("Max-Age=0"));
    assert!(!r.text().contains("Asia/Tokyo"));
    assert!(!b
        .get("/conferences/pycon-us-2012")
        .text()
        .contains("class=\"mine\""));

    // An unknown zone in the URL is a 400 naming the field; in a cookie,
    // ignored.
    let bad = b.get(&format!("{path}?tz=Mars%2FOlympus"));
    assert_eq!(bad.status, 400);
    let text = bad.text();
    assert!(
        text.contains("“tz”") && text.contains("Mars/Olympus"),
        "{text}"
    );
    let bad = b.get("/conferences/pycon-us-2012/timetable?tz=PST");
    assert_eq!(bad.status, 400);
    b.cookies.insert("confcal_tz".into(), "Mars/Olympus".into());
    let r = b.get(path);
    assert_eq!(r.status, 200);
    assert!(!r.text().contains("Mars"));
}

#[test]
fn the_lists_one_star_form_stars_and_marks_conflicts() {
    let app = spawn_app();
    let d = doc(
        "clash",
        "Europe/Berlin",
        &[
            ("a", "2030-06-01T10:00", "2030-06-01T11:00"),
            ("b", "2030-06-01T10:30", "2030-06-01T11:30"),
            ("c", "2030-06-01T12:00", "2030-06-01T13:00"),
        ],
    );
    assert_eq!(app.put_schedule(&d).status, 201);
    let mut b = Browser::new(&app);
    let _ = b.get("/conferences/clash");
    let csrf = b.cookies["confcal_csrf"].clone();
    for id in ["a", "b"] {
        let r = b.post(
            "/agendas/star",
            &[
                ("csrf", &csrf),
                ("conference", "clash"),
                ("back", "/conferences/clash/timetable"),
                ("star", id),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(
            r.header("location"),
            Some(format!("/conferences/clash/timetable#s-{id}").as_str())
        );
    }
    let list = b.get("/conferences/clash").text();
    assert!(list.contains("name=\"unstar\" value=\"a\""));
    assert!(list.contains("name=\"star\" value=\"c\""));
    assert_eq!(
        list.matches("<span class=\"badge conflict\">Conflict</span>")
            .count(),
        2
    );
    assert!(list.contains("Overlaps “Talk b”"));
    // Overlapping talks in one room: two lanes in the grid.
    let grid = b.get("/conferences/clash/timetable").text();
    assert_eq!(
        block_class(&grid, "a"),
        "slot r2 h12 c2 w1 is-starred has-conflict"
    );
    assert_eq!(
        block_class(&grid, "b"),
        "slot r8 h12 c3 w1 is-starred has-conflict"
    );
    assert_eq!(block_class(&grid, "c"), "slot r26 h12 c2 w2");
    let r = b.post(
        "/agendas/star",
        &[("csrf", &csrf), ("conference", "clash"), ("unstar", "a")],
    );
    assert_eq!(r.status, 303);
    assert!(b
        .get("/conferences/clash")
        .text()
        .contains("name=\"star\" value=\"a\""));
}

#[test]
fn a_talk_page_has_everything_and_a_map_when_the_venue_has_a_point() {
    let app = spawn_app();
    let mut d = doc(
        "geo",
        "Europe/Berlin",
        &[("a", "2030-06-01T10:00", "2030-06-01T11:00")],
    );
    d["conference"]["geo"] = serde_json::json!({"lat": 52.52, "lon": 13.405});
    d["sessions"][0]["kind"] = "workshop".into();
    d["sessions"][0]["links"] =
        serde_json::json!([{"title": "Slides", "url": "https://example.com/s.pdf"}]);
    assert_eq!(app.put_schedule(&d).status, 201);
    let html = app.get("/conferences/geo/sessions/a").text();
    assert!(html.contains("by Someone"));
    assert!(html.contains("10:00am to 11:00am, Saturday 1st June"));
    assert!(html.contains("In Hall, Venue · <a class=\"map\" href=\"https://www.openstreetmap.org/?mlat=52.52&amp;mlon=13.405#map=17/52.52/13.405\""));
    assert!(html.contains("<span class=\"badge kind\">workshop</span>"));
    assert!(html.contains(">Slides</a>"));
    assert!(html.contains("href=\"/conferences/geo/sessions/a.ics\" download>Download .ics</a>"));
    assert!(html.contains("https://calendar.google.com/calendar/render?action=TEMPLATE&amp;dates=20300601T080000Z/20300601T090000Z&amp;text=Talk+a"));
    assert!(html.contains("value=\"star\""));
    // Without geo, no map link.
    let plain = app
        .get("/conferences/pycon-us-2012/sessions/dismantling-jinja")
        .text();
    assert!(!plain.contains("class=\"map\""));
}
