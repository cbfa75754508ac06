//! `schedule.xml` in the frab/c3voc format, valid against the c3voc XSD
//! (`https://c3voc.de/schedule/schema.xsd`).
//!
//! The XSD decides the shape: `<version>` and one `<conference>` before the
//! days; every event has an `id` (a positive integer) and a `guid`, a
//! `<room>`, `<track>`, `<type>` and `<abstract>` even when empty; the
//! `<slug>` has four characters or more on each side of its hyphen (see
//! [`super::event_slug`]).

use super::xml::Writer;
use super::{iso, Export, GENERATOR};

/// The whole document.
pub fn render(e: &Export<'_>) -> String {
    let events: usize = e
        .days
        .iter()
        .flat_map(|d| &d.rooms)
        .map(|r| r.events.len())
        .sum();
    let mut w = Writer::new(2048 + events * 1536);
    w.open("schedule", &[]);
    w.leaf(
        "generator",
        &[("name", GENERATOR), ("version", env!("CARGO_PKG_VERSION"))],
        "",
    );
    w.text("url", &e.xml_url);
    w.text("version", &e.version);
    conference(&mut w, e);
    for day in &e.days {
        let date = day.date.to_string();
        let (start, end, index) = (iso(day.start), iso(day.end), day.index.to_string());
        w.open(
            "day",
            &[
                ("index", &index),
                ("date", &date),
                ("start", &start),
                ("end", &end),
            ],
        );
        for room in &day.rooms {
            let r = &e.rooms[room.room];
            w.open("room", &[("name", &r.name), ("guid", &r.guid)]);
            for ev in &room.events {
                event(&mut w, ev, &r.name);
            }
            w.close();
        }
        w.close();
    }
    w.close();
    w.finish()
}

fn conference(w: &mut Writer, e: &Export<'_>) {
    let c = e.conference;
    w.open("conference", &[]);
    w.text("acronym", &e.acronym);
    w.text("title", &c.name);
    w.text("start", &e.first_date().to_string());
    w.text("end", &e.last_date().to_string());
    w.text("days", &e.days.len().to_string());
    w.text("timeslot_duration", &e.timeslot);
    if let Some(url) = &c.url {
        w.text("url", url);
    }
    w.text("time_zone_name", c.tz.name());
    if let Some(color) = &c.color {
        w.leaf("color", &[("primary", color)], "");
    }
    for t in &e.tracks {
        w.leaf("track", &[("name", t)], "");
    }
    w.close();
}

fn event(w: &mut Writer, ev: &super::Event<'_>, room: &str) {
    let s = ev.session;
    let number = ev.number.to_string();
    w.open("event", &[("guid", &ev.guid), ("id", &number)]);
    w.text("date", &ev.date());
    w.text("start", &ev.start_time());
    w.text("duration", &ev.duration());
    w.text("room", room);
    w.text("slug", &ev.slug);
    w.text("url", &ev.url);
    w.text("title", &s.title);
    w.text("track", &ev.track());
    w.text("type", ev.kind());
    w.text("abstract", &s.abstract_);
    if let Some(notes) = &s.notes {
        w.text("description", notes);
    }
    if let Some(language) = &s.language {
        w.text("language", language);
    }
    if !s.speakers.is_empty() {
        w.open("persons", &[]);
        for p in &s.speakers {
            w.text("person", p);
        }
        w.close();
    }
    if !s.links.is_empty() {
        w.open("links", &[]);
        for l in &s.links {
            w.leaf("link", &[("href", &l.url)], &l.title);
        }
        w.close();
    }
    w.close();
}
