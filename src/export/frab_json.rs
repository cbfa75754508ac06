//! `schedule.json` in the frab/c3voc format, valid against the c3voc JSON
//! schema (`https://c3voc.de/schedule/schema.json`, draft-06).
//!
//! The schema decides the shape: every event carries each required key,
//! `null` where we have nothing (`subtitle`, a `language` not known, a
//! missing track);
//! `start` and `duration` are `HH:MM` (the schema allows no seconds, which
//! `date` and `end` keep); persons are `{"name", "public_name"}`, which
//! matches exactly one of the schema's two person shapes (pretalx's) while
//! older readers still find `public_name`.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::{iso, Export, GENERATOR};

/// The whole document.
pub fn render(e: &Export<'_>) -> Vec<u8> {
    let doc = Document {
        schema: "https://c3voc.de/schedule/schema.json",
        generator: Generator {
            name: GENERATOR,
            version: env!("CARGO_PKG_VERSION"),
        },
        schedule: Schedule {
            url: e.json_url.clone(),
            version: &e.version,
            conference: ConferenceJson::new(e),
        },
    };
    // Serialising plain structs and strings into memory cannot fail.
    serde_json::to_vec(&doc).expect("serialisable")
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    generator: Generator,
    schedule: Schedule<'a>,
}

#[derive(Serialize)]
struct Generator {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Schedule<'a> {
    url: String,
    version: &'a str,
    conference: ConferenceJson<'a>,
}

#[derive(Serialize)]
struct ConferenceJson<'a> {
    acronym: &'a str,
    title: &'a str,
    start: String,
    end: String,
    #[serde(rename = "daysCount")]
    days_count: usize,
    timeslot_duration: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_zone_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    colors: Option<Colors<'a>>,
    tracks: Vec<Track<'a>>,
    rooms: Vec<RoomJson<'a>>,
    days: Vec<DayJson<'a>>,
}

#[derive(Serialize)]
struct Colors<'a> {
    primary: &'a str,
}

#[derive(Serialize)]
struct Track<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct RoomJson<'a> {
    name: &'a str,
    guid: &'a str,
}

#[derive(Serialize)]
struct DayJson<'a> {
    index: usize,
    date: String,
    day_start: String,
    day_end: String,
    rooms: DayRooms<'a>,
}

/// `{"Room A": [events…], …}` in room order (a map would sort the keys).
struct DayRooms<'a>(Vec<(&'a str, Vec<EventJson<'a>>)>);

impl Serialize for DayRooms<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (name, events) in &self.0 {
            m.serialize_entry(name, events)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct EventJson<'a> {
    guid: &'a str,
    id: u32,
    date: String,
    start: String,
    end: String,
    duration: String,
    room: &'a str,
    slug: &'a str,
    url: &'a str,
    title: &'a str,
    subtitle: Option<&'a str>,
    track: Option<String>,
    #[serde(rename = "type")]
    kind: &'a str,
    language: Option<&'a str>,
    #[serde(rename = "abstract")]
    abstract_: &'a str,
    description: Option<&'a str>,
    persons: Vec<Person<'a>>,
    links: Vec<LinkJson<'a>>,
}

#[derive(Serialize)]
struct Person<'a> {
    name: &'a str,
    public_name: &'a str,
}

#[derive(Serialize)]
struct LinkJson<'a> {
    url: &'a str,
    title: &'a str,
}

impl<'a> ConferenceJson<'a> {
    fn new(e: &'a Export<'a>) -> Self {
        let c = e.conference;
        ConferenceJson {
            acronym: &e.acronym,
            title: &c.name,
            start: e.first_date().to_string(),
            end: e.last_date().to_string(),
            days_count: e.days.len(),
            timeslot_duration: &e.timeslot,
            time_zone_name: e.json_zone_name(),
            url: c.url.as_deref(),
            colors: c.color.as_deref().map(|primary| Colors { primary }),
            tracks: e.tracks.iter().map(|name| Track { name }).collect(),
            rooms: e
                .rooms
                .iter()
                .map(|r| RoomJson {
                    name: &r.name,
                    guid: &r.guid,
                })
                .collect(),
            days: e
                .days
                .iter()
                .map(|d| DayJson {
                    index: d.index,
                    date: d.date.to_string(),
                    day_start: iso(d.start),
                    day_end: iso(d.end),
                    rooms: DayRooms(
                        d.rooms
                            .iter()
                            .map(|r| {
                                let name = e.rooms[r.room].name.as_str();
                                (name, r.events.iter().map(|ev| event(ev, name)).collect())
                            })
                            .collect(),
                    ),
                })
                .collect(),
        }
    }
}

fn event<'a>(ev: &'a super::Event<'a>, room: &'a str) -> EventJson<'a> {
    let s = ev.session;
    EventJson {
        guid: &ev.guid,
        id: ev.number,
        date: ev.date(),
        start: ev.start_hm(),
        end: ev.end_date(),
        duration: ev.duration_hm(),
        room,
        slug: &ev.slug,
        url: &ev.url,
        title: &s.title,
        subtitle: None,
        track: (!s.tracks.is_empty()).then(|| ev.track()),
        kind: ev.kind(),
        language: s.language.as_deref(),
        abstract_: &s.abstract_,
        description: s.notes.as_deref(),
        persons: s
            .speakers
            .iter()
            .map(|p| Person {
                name: p,
                public_name: p,
            })
            .collect(),
        links: s
            .links
            .iter()
            .map(|l| LinkJson {
                url: &l.url,
                title: &l.title,
            })
            .collect(),
    }
}
