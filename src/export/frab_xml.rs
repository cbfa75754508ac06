//! `schedule.xml` in the frab/c3voc format, valid against the c3voc XSD
//! (`https://c3voc.de/schedule/schema.xsd`).
//!
//! The XSD decides the shape: `<version>` and one `<conference>` before the
//! days; every event has an `id` (a positive integer) and a `guid`, a
//! `<room>`, `<track>`, `<type>` and `<abstract>` even when empty; a
//! `<slug>` only where it matches the XSD's `name-rest` pattern (four
//! characters on each side of a hyphen), since the element is optional.

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
    w.text("url", &format!("{}/schedule.xml", e.conference_url));
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
    if slug_fits_xsd(&ev.slug) {
        w.text("slug", &ev.slug);
    }
    w.text("url", &ev.url);
    w.text("title", &s.title);
    w.text("track", &ev.track());
    w.text("type", ev.kind());
    w.text("abstract", &s.abstract_);
    if let Some(notes) = &s.notes {
        w.text("description", notes);
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

/// The XSD's `voc-slug-new`: `[a-z0-9_]{4,}-[a-z0-9\-_]{4,}`, whole.
/// Our slugs are `{acronym}-{id}` with an acronym of four or more
/// characters and no `-`, so this holds exactly when the id has four or
/// more characters.
fn slug_fits_xsd(slug: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    let Some(dash) = slug.find('-') else {
        return false;
    };
    let (head, tail) = (&slug[..dash], &slug[dash + 1..]);
    head.len() >= 4
        && head.chars().all(ok)
        && tail.len() >= 4
        && tail.chars().all(|c| ok(c) || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_as_the_xsd_has_them() {
        assert!(slug_fits_xsd("pycon_us_2012-dismantling-jinja"));
        assert!(slug_fits_xsd("ab__-abcd"));
        assert!(!slug_fits_xsd("ab__-abc"));
        assert!(!slug_fits_xsd("abc-abcd"));
        assert!(!slug_fits_xsd("abcd"));
    }
}
