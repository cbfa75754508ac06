//! The calendars confcal serves, built from the domain's records: a
//! conference's (all its sessions, or those a filter selects), one talk's,
//! and an agenda's. Each with its name, description, addresses and the
//! file name it is saved as; [`super::feed`] writes them.
//!
//! A conference's sessions are streamed in (see [`conference_calendar`]),
//! so a 100,000-session feed never holds every session in memory.

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::feed::{self, CalendarMeta, Event, FeedBuilder};
use crate::domain::agenda::{AgendaToken, DEFAULT_NAME};
use crate::domain::feed_options::join_query;
use crate::domain::{
    AgendaView, ConferenceRecord, FeedOptions, SessionFilter, SessionRecord, Site,
};

/// A rendered calendar and what its answer needs besides the body.
pub struct Calendar {
    pub body: Bytes,
    /// The calendar's last change (Last-Modified).
    pub last_modified: DateTime<Utc>,
    /// The name to save it as, e.g. `pycon-us-2012-2012-03-09-e2.ics`.
    pub filename: String,
}

/// A conference's calendar with the sessions `filter` selects.
/// `each_session` hands every selected session, in start order, to the
/// function it is given, and returns the conference as read in the same
/// snapshot (whose `version` then stamps what was rendered).
///
/// Last-Modified is the conference's last change, not only its listed
/// sessions': a session that left this filter changes the feed too.
pub fn conference_calendar<E>(
    site: &Site,
    filter: &SessionFilter,
    options: FeedOptions,
    each_session: impl FnOnce(
        &mut dyn FnMut(&ConferenceRecord, SessionRecord),
    ) -> Result<ConferenceRecord, E>,
) -> Result<(ConferenceRecord, Calendar), E> {
    let mut builder: Option<FeedBuilder<'_>> = None;
    let conf = each_session(&mut |conf, session| {
        builder
            .get_or_insert_with(|| {
                let mut b =
                    FeedBuilder::with_options(site, conf.session_count.max(0) as usize, options);
                // The zone's rule comes from the whole conference, so every
                // filtered feed of it carries the same VTIMEZONE.
                b.plan_zone(conf.conference.tz, conference_window(conf));
                b
            })
            .push(&Event {
                conference: &conf.conference,
                session: &session,
            });
    })?;
    let builder = builder.unwrap_or_else(|| FeedBuilder::with_options(site, 0, options));
    let c = &conf.conference;
    // The options too: SOURCE must give back this very feed, and the page
    // hands them on to the feed URL it offers.
    let query = join_query(&filter.canonical(), &options.canonical());
    let links = site.links();
    let meta = CalendarMeta {
        name: calendar_name(&conf, filter),
        description: format!(
            "Sessions of {}{}, kept up to date by confcal.",
            c.name,
            c.venue
                .as_deref()
                .map(|v| format!(" at {v}"))
                .unwrap_or_default()
        ),
        source_url: links.conference_feed(&c.slug, &query),
        page_url: links.conference(&c.slug, &query),
        tz: c.tz,
        empty_window: conference_window(&conf),
        color: c.color.clone(),
    };
    let calendar = Calendar {
        body: builder.finish(&meta),
        last_modified: conf.last_modified,
        filename: feed_filename(c.slug.as_str(), filter),
    };
    Ok((conf, calendar))
}

/// One talk's calendar (the `.ics` its page offers).
pub fn session_calendar(
    site: &Site,
    conf: &ConferenceRecord,
    session: &SessionRecord,
    options: FeedOptions,
) -> Calendar {
    let c = &conf.conference;
    let d = &session.data;
    let query = options.canonical();
    let meta = CalendarMeta {
        name: format!("{} · {}", c.name, d.title),
        description: format!("{} at {}", d.title, c.name),
        source_url: site.links().session_feed(&c.slug, &d.id, &query),
        page_url: site.links().session(&c.slug, &d.id),
        tz: c.tz,
        empty_window: (d.start, d.end),
        color: c.color.clone(),
    };
    let events = [Event {
        conference: c,
        session,
    }];
    Calendar {
        body: feed::render_with(&meta, &events, site, options),
        last_modified: session.last_modified,
        filename: format!("{}.ics", d.id),
    }
}

/// An agenda's calendar: its starred sessions, of any conferences.
pub fn agenda_calendar(
    site: &Site,
    t: &AgendaToken,
    view: &AgendaView,
    options: FeedOptions,
) -> Calendar {
    let events: Vec<Event<'_>> = view
        .sessions
        .iter()
        .map(|(slug, s)| Event {
            conference: &view.conferences[slug].conference,
            session: s,
        })
        .collect();
    let name = view.agenda.name.as_deref().unwrap_or(DEFAULT_NAME);
    let tz = events.first().map_or(chrono_tz::UTC, |e| e.conference.tz);
    let query = options.canonical();
    let meta = CalendarMeta {
        name: name.to_owned(),
        description: format!("{name}: starred sessions, kept up to date by confcal."),
        source_url: site.links().agenda_feed(t, &query),
        page_url: site.links().agenda(t),
        tz,
        empty_window: (view.agenda.created, view.agenda.created),
        // Starred talks of many conferences: no one conference's colour.
        color: None,
    };
    Calendar {
        body: feed::render_with(&meta, &events, site, options),
        last_modified: view.last_modified(),
        filename: "agenda.ics".to_owned(),
    }
}

/// The instants a conference's VTIMEZONE covers: its first start to its
/// last end (its creation, for a conference with no sessions).
fn conference_window(conf: &ConferenceRecord) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = conf.first_start.unwrap_or(conf.created);
    (first, conf.last_end.unwrap_or(first))
}

/// "PyCon US 2012 · Friday 9 March · E2": what the filter selects, in words.
pub fn calendar_name(conf: &ConferenceRecord, f: &SessionFilter) -> String {
    let mut parts = vec![conf.conference.name.clone()];
    if !f.days.is_empty() {
        let days: Vec<String> = f
            .days
            .iter()
            .map(|d| d.format("%A %-d %B").to_string())
            .collect();
        parts.push(days.join(" or "));
    }
    if !f.rooms.is_empty() {
        parts.push(f.rooms.join(" or "));
    }
    if !f.speakers.is_empty() {
        parts.push(format!("by {}", f.speakers.join(" or ")));
    }
    if !f.tracks.is_empty() {
        parts.push(format!("track {}", f.tracks.join(" or ")));
    }
    if !f.q.is_empty() {
        let q: Vec<String> = f.q.iter().map(|q| format!("“{q}”")).collect();
        parts.push(q.join(" or "));
    }
    if !f.kinds.is_empty() {
        parts.push(f.kinds.join(" or "));
    }
    if !f.not_kinds.is_empty() {
        parts.push(format!("without {}", f.not_kinds.join(" or ")));
    }
    parts.join(" · ")
}

/// `pycon-us-2012-2012-03-09-e2.ics`: the slug plus the filter values,
/// reduced to characters every file system and browser accepts.
pub fn feed_filename(slug: &str, f: &SessionFilter) -> String {
    let mut name = slug.to_owned();
    let values = f
        .days
        .iter()
        .map(|d| d.to_string())
        .chain(f.rooms.iter().cloned())
        .chain(f.speakers.iter().cloned())
        .chain(f.tracks.iter().cloned())
        .chain(f.q.iter().cloned())
        .chain(f.kinds.iter().cloned())
        .chain(f.not_kinds.iter().map(|k| format!("without-{k}")));
    for v in values {
        let part: String = v
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let part = part
            .split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        if !part.is_empty() && name.len() + part.len() < 120 {
            name.push('-');
            name.push_str(&part);
        }
    }
    format!("{name}.ics")
}
