//! What the templates show, computed from stored records: times in words,
//! abstracts as paragraphs and lists, and the calendar links of a session
//! or a feed. Templates only print these (escaped); no logic lives there.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use url::form_urlencoded::{byte_serialize, Serializer};

use crate::domain::urls::LOCAL;
use crate::domain::{ConferenceRecord, Link, SessionRecord, Site, Status};
use crate::ical::feed::full_location;

/// "9th", "22nd".
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "Friday 9th March".
pub fn day_label(d: NaiveDate) -> String {
    format!("{} {} {}", d.format("%A"), ordinal(d.day()), d.format("%B"))
}

/// "2:00pm".
fn clock(t: DateTime<Tz>) -> String {
    t.format("%-I:%M%P").to_string()
}

/// "2:00pm to 2:40pm, Friday 9th March" in the conference's zone, or with
/// both days when a session runs past midnight; "2:00pm, Friday 9th
/// March" for an event of no length.
pub fn when(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> String {
    let (s, e) = (start.with_timezone(&tz), end.with_timezone(&tz));
    if start == end {
        format!("{}, {}", clock(s), day_label(s.date_naive()))
    } else if s.date_naive() == e.date_naive() {
        format!(
            "{} to {}, {}",
            clock(s),
            clock(e),
            day_label(s.date_naive())
        )
    } else {
        format!(
            "{}, {} to {}, {}",
            clock(s),
            day_label(s.date_naive()),
            clock(e),
            day_label(e.date_naive())
        )
    }
}

/// See [`SessionCard::when_short`].
pub fn when_short(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> String {
    let (s, e) = (start.with_timezone(&tz), end.with_timezone(&tz));
    if start == end {
        clock(s)
    } else if s.date_naive() == e.date_naive() {
        format!("{} to {}", clock(s), clock(e))
    } else {
        when(start, end, tz)
    }
}

/// A paragraph, or a list made of consecutive "• " lines.
pub struct Block {
    pub list: bool,
    pub items: Vec<String>,
}

/// An abstract as blocks: every line starting with "• " is an item of a
/// list (consecutive ones share the list), every other non-blank line is a
/// paragraph.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        if let Some(item) = line.strip_prefix('•') {
            let item = item.trim().to_owned();
            match out.last_mut() {
                Some(b) if b.list => b.items.push(item),
                _ => out.push(Block {
                    list: true,
                    items: vec![item],
                }),
            }
        } else {
            out.push(Block {
                list: false,
                items: vec![line.to_owned()],
            });
        }
    }
    out
}

pub fn encode(s: &str) -> String {
    byte_serialize(s.as_bytes()).collect()
}

/// `20120309T220000Z`.
fn utc_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Google Calendar's "add an event" link, with UTC times.
pub fn google_event(
    title: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    details: &str,
    location: Option<&str>,
    tz: Tz,
) -> String {
    // `dates` keeps its `/` literal, as Google documents the link.
    let mut url = format!(
        "https://calendar.google.com/calendar/render?action=TEMPLATE&dates={}/{}&",
        utc_stamp(start),
        utc_stamp(end)
    );
    let mut q = Serializer::new(String::new());
    q.append_pair("text", title).append_pair("details", details);
    if let Some(l) = location {
        q.append_pair("location", l);
    }
    q.append_pair("ctz", tz.name());
    url.push_str(&q.finish());
    url
}

/// One session as the pages show it.
pub struct SessionCard {
    pub conference: String,
    pub conference_name: String,
    pub id: String,
    pub title: String,
    /// Local path of the session's page.
    pub page: String,
    pub speakers: String,
    pub tracks: Vec<String>,
    pub blocks: Vec<Block>,
    pub notes: Option<String>,
    pub url: Option<String>,
    pub kind: Option<String>,
    /// `de` or `de, en`.
    pub language: Option<String>,
    /// Slides, video, code: validated http(s) URLs.
    pub links: Vec<Link>,
    pub when: String,
    /// [`when`] without the day, for a list under a day's heading ("2:00pm
    /// to 2:40pm"; a session past midnight keeps both days).
    pub when_short: String,
    /// The same times in the visitor's zone, with its name, when the
    /// visitor chose one other than the conference's (see [`super::zone`]).
    pub when_mine: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub tz: Tz,
    pub room: Option<String>,
    pub location: Option<String>,
    /// The venue on OpenStreetMap, when the conference has `geo`.
    pub map: Option<String>,
    pub cancelled: bool,
    /// Local path of the single-talk `.ics`.
    pub ics: String,
    pub google: String,
    pub starred: bool,
    /// Titles of starred sessions overlapping this one (agenda page).
    pub conflicts: Vec<String>,
}

impl SessionCard {
    pub fn new(s: &SessionRecord, conf: &ConferenceRecord, site: &Site, starred: bool) -> Self {
        let c = &conf.conference;
        let d = &s.data;
        let loc = full_location(d.room.as_deref(), c.venue.as_deref(), c.address.as_deref());
        let page_abs = site.links().session(&c.slug, &d.id);
        let mut details = String::new();
        if !d.speakers.is_empty() {
            details.push_str(&format!("by {}\n\n", d.speakers.join(", ")));
        }
        details.push_str(&format!("{} — {page_abs}", c.name));
        SessionCard {
            conference: c.slug.to_string(),
            conference_name: c.name.clone(),
            id: d.id.to_string(),
            title: d.title.clone(),
            page: LOCAL.session(&c.slug, &d.id),
            speakers: d.speakers.join(", "),
            tracks: d.tracks.clone(),
            blocks: blocks(&d.abstract_),
            notes: d.notes.clone(),
            // Links only to the web, whatever the store holds.
            url: d
                .url
                .clone()
                .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
            kind: d.kind.clone(),
            language: d.language.clone(),
            links: d
                .links
                .iter()
                .filter(|l| l.url.starts_with("https://") || l.url.starts_with("http://"))
                .cloned()
                .collect(),
            when: when(d.start, d.end, c.tz),
            when_short: when_short(d.start, d.end, c.tz),
            when_mine: None,
            start: d.start,
            end: d.end,
            tz: c.tz,
            room: d.room.clone(),
            map: c.geo.map(map_link),
            google: google_event(&d.title, d.start, d.end, &details, loc.as_deref(), c.tz),
            location: loc,
            cancelled: s.status == Status::Cancelled,
            ics: LOCAL.session_feed(&c.slug, &d.id, ""),
            starred,
            conflicts: Vec::new(),
        }
    }

    /// Adds the times in `mine` (none: conference time only).
    pub fn show_zone(&mut self, mine: Option<Tz>) {
        self.when_mine = mine
            .filter(|z| *z != self.tz)
            .map(|z| when_in(self.start, self.end, z));
    }
}

/// An OpenStreetMap link to a point.
pub fn map_link(g: crate::domain::Geo) -> String {
    let (lat, lon) = (g.lat(), g.lon());
    format!("https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}")
}

/// [`when`] in a visitor's zone, naming it: "11:00pm to 11:40pm, Friday
/// 9th March (Europe/Berlin)".
pub fn when_in(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> String {
    format!("{} ({})", when(start, end, tz), tz.name())
}

/// "2:00pm" in `tz`: the timetable's and now-and-next's short times.
pub fn clock_in(t: DateTime<Utc>, tz: Tz) -> String {
    clock(t.with_timezone(&tz))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_in_words() {
        let tz: Tz = "America/Los_Angeles".parse().unwrap();
        let s = Utc.with_ymd_and_hms(2012, 3, 9, 22, 0, 0).unwrap();
        let e = Utc.with_ymd_and_hms(2012, 3, 9, 22, 40, 0).unwrap();
        assert_eq!(when(s, e, tz), "2:00pm to 2:40pm, Friday 9th March");
        assert_eq!(when(s, s, tz), "2:00pm, Friday 9th March");
        let late = Utc.with_ymd_and_hms(2012, 3, 10, 9, 0, 0).unwrap();
        assert_eq!(
            when(s, late, tz),
            "2:00pm, Friday 9th March to 1:00am, Saturday 10th March"
        );
        for (n, o) in [
            (1, "1st"),
            (2, "2nd"),
            (3, "3rd"),
            (11, "11th"),
            (12, "12th"),
            (21, "21st"),
            (22, "22nd"),
            (23, "23rd"),
            (30, "30th"),
        ] {
            assert_eq!(ordinal(n), o);
        }
    }

    #[test]
    fn times_in_the_visitors_zone() {
        let tz: Tz = "America/Los_Angeles".parse().unwrap();
        let s = Utc.with_ymd_and_hms(2012, 3, 9, 22, 0, 0).unwrap();
        let e = Utc.with_ymd_and_hms(2012, 3, 9, 22, 40, 0).unwrap();
        assert_eq!(
            when_in(s, e, chrono_tz::Europe::Berlin),
            "11:00pm to 11:40pm, Friday 9th March (Europe/Berlin)"
        );
        // Tokyo is already on Saturday; the day follows the zone.
        assert_eq!(
            when_in(s, e, chrono_tz::Asia::Tokyo),
            "7:00am to 7:40am, Saturday 10th March (Asia/Tokyo)"
        );
        // Kolkata's half hour.
        assert_eq!(clock_in(s, chrono_tz::Asia::Kolkata), "3:30am");
        assert_eq!(clock_in(s, tz), "2:00pm");
    }

    #[test]
    fn outline_lines_become_lists() {
        let b = blocks("Intro line.\n\n• one\n• two\nAfter.\n• three");
        let shape: Vec<(bool, usize)> = b.iter().map(|b| (b.list, b.items.len())).collect();
        assert_eq!(shape, [(false, 1), (true, 2), (false, 1), (true, 1)]);
        assert_eq!(b[1].items, ["one", "two"]);
    }

    #[test]
    fn google_link_uses_utc() {
        let tz: Tz = "America/Los_Angeles".parse().unwrap();
        let s = Utc.with_ymd_and_hms(2012, 3, 9, 22, 0, 0).unwrap();
        let e = Utc.with_ymd_and_hms(2012, 3, 9, 22, 40, 0).unwrap();
        let g = google_event("A & B", s, e, "x", Some("E2, Hall"), tz);
        assert!(g.starts_with("https://calendar.google.com/calendar/render?action=TEMPLATE&dates=20120309T220000Z/20120309T224000Z&text=A+%26+B&"), "{g}");
        assert!(g.contains("location=E2%2C+Hall"), "{g}");
    }
}
