//! `GET /conferences/{conf}`: a conference's sessions with the feeds'
//! filters (the filter form, the filters in force, each with the link that
//! removes it) and the subscribe panel for exactly what is shown.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::security::Privacy;
use super::subscribe::{FeedTarget, Subscribe};
use super::view::{day_label, SessionCard};
use super::{csrf, drop_empty, html, plural, render, starred, Layout, PageError};
use crate::domain::feed_options::join_query;
use crate::domain::filter::StatusFilter;
use crate::domain::urls::{with_query, ChangesFormat, LOCAL};
use crate::domain::{FeedOptions, SessionFilter, Status};
use crate::http::extract::ConferencePath;
use crate::http::AppState;
use crate::ical::calendars::calendar_name;

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct CurrentFilter {
    label: String,
    remove: String,
}

#[derive(Template)]
#[template(path = "conference.html")]
struct ConferencePage {
    layout: Layout,
    name: String,
    venue: Option<String>,
    address: Option<String>,
    /// An OpenStreetMap link to the venue's point, when it has one.
    map: Option<String>,
    tz: &'static str,
    /// When the schedule was last updated from the source it follows.
    source_note: Option<String>,
    /// The page of its recent changes.
    changes: String,
    path: String,
    days: Vec<Choice>,
    rooms: Vec<Choice>,
    kinds: Vec<Choice>,
    /// Feed options the filter form carries along (`alarm`, `compact`), so
    /// that changing a filter keeps the reminder chosen for the feed.
    options: Vec<(&'static str, String)>,
    speaker: String,
    track: String,
    q: String,
    current: Vec<CurrentFilter>,
    /// The page without filters (feed options kept).
    clear: String,
    sub_heading: &'static str,
    sub_intro: &'static str,
    sub: Subscribe,
    count_label: String,
    sessions: Vec<SessionCard>,
    csrf: String,
    back: String,
    star_action: String,
}

/// "Day: Friday 9th March", each with the link that removes it (and keeps
/// the feed options, `options` being their canonical query).
fn current_filters(f: &SessionFilter, path: &str, options: &str) -> Vec<CurrentFilter> {
    let mut out = Vec::new();
    let mut push = |label: String, without: SessionFilter| {
        out.push(CurrentFilter {
            label,
            remove: with_query(path, &join_query(&without.canonical(), options)),
        })
    };
    for (i, d) in f.days.iter().enumerate() {
        let mut w = f.clone();
        w.days.remove(i);
        push(format!("Day: {}", day_label(*d)), w);
    }
    type Field = fn(&mut SessionFilter) -> &mut Vec<String>;
    let fields: [(&str, Field); 6] = [
        ("Room", |f| &mut f.rooms),
        ("Speaker", |f| &mut f.speakers),
        ("Track", |f| &mut f.tracks),
        ("Words", |f| &mut f.q),
        ("Kind", |f| &mut f.kinds),
        ("Hiding", |f| &mut f.not_kinds),
    ];
    for (name, field) in fields {
        let mut g = f.clone();
        for (i, v) in field(&mut g).clone().iter().enumerate() {
            let mut w = f.clone();
            field(&mut w).remove(i);
            push(format!("{name}: {v}"), w);
        }
    }
    out
}

fn single(values: &[String]) -> String {
    match values {
        [one] => one.clone(),
        _ => String::new(),
    }
}

/// `GET /conferences/{conf}` with the feeds' filters.
pub(super) async fn conference(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let ConferencePath(slug) = ConferencePath::of(&req)?;
    let page_path = LOCAL.conference(&slug, "");
    let query = drop_empty(req.query_string());
    // The feed options are not filters, but the page takes them to hand on
    // to the feed URL it offers (the subscribe panel's reminder choice).
    let parsed = SessionFilter::from_page_query(&query)
        .and_then(|f| Ok((f, FeedOptions::from_query(&query)?)));
    let (mut filter, options) = match parsed {
        Ok(p) => p,
        Err(e) => {
            // An unknown conference is a 404 whatever its filters.
            let s = slug.clone();
            state.db(move |st| st.conference(&s)).await?;
            return Err(PageError::bad_filter(e, page_path));
        }
    };
    // The form sends empty fields; send the browser to the tidy URL, so
    // what it shows (and bookmarks) is the feed's own filter.
    let options_query = options.canonical();
    let canonical = join_query(&filter.canonical(), &options_query);
    if query != req.query_string() {
        return Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, with_query(&page_path, &canonical)))
            .finish());
    }
    // Like the feeds, the page lists cancelled sessions too, marked.
    filter.status = StatusFilter::All;
    let (s, f) = (slug.clone(), filter.clone());
    let ((conf, sessions), facets, source) = state
        .db(move |st| Ok((st.sessions(&s, &f)?, st.facets(&s)?, st.source(&s)?)))
        .await?;
    let stars = starred(&req, &state).await?;
    let csrf = csrf(&req, &state)?;
    let c = &conf.conference;

    let cards: Vec<SessionCard> = sessions
        .iter()
        .map(|s| {
            let key = (c.slug.to_string(), s.data.id.to_string());
            SessionCard::new(s, &conf, &state.site, stars.contains(&key))
        })
        .collect();
    let cancelled = sessions
        .iter()
        .filter(|s| s.status == Status::Cancelled)
        .count();
    let mut count_label = plural(sessions.len() - cancelled, "session");
    if cancelled > 0 {
        count_label.push_str(&format!(" and {cancelled} cancelled"));
    }
    let mut feed_filter = filter.clone();
    feed_filter.status = StatusFilter::All;
    let sub = Subscribe::build(
        &state,
        calendar_name(&conf, &filter),
        FeedTarget::Conference {
            slug: c.slug.clone(),
            filter: feed_filter,
        },
        options,
        &page_path,
        &canonical,
    )
    .await?;
    let page = ConferencePage {
        layout: Layout::new(if filter.is_empty() {
            c.name.clone()
        } else {
            calendar_name(&conf, &filter)
        })
        .with_atom(
            LOCAL.changes(&c.slug, ChangesFormat::Atom),
            format!("Changes to {}", c.name),
        ),
        changes: LOCAL.changes(&c.slug, ChangesFormat::Page),
        name: c.name.clone(),
        venue: c.venue.clone(),
        address: c.address.clone(),
        map: c.geo.map(|g| {
            let (lat, lon) = (g.lat(), g.lon());
            format!("https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}")
        }),
        tz: c.tz.name(),
        source_note: source.and_then(|r| crate::follow::page_note(&r, c.tz)),
        days: facets
            .days
            .iter()
            .map(|d| Choice {
                value: d.to_string(),
                label: day_label(*d),
                selected: filter.days == [*d],
            })
            .collect(),
        kinds: facets
            .kinds
            .iter()
            .map(|k| Choice {
                value: k.clone(),
                label: k.clone(),
                selected: filter.kinds == [k.clone()],
            })
            .collect(),
        options: [
            ("alarm", options.alarm.map(|n| n.to_string())),
            ("compact", options.compact.then(|| "1".to_owned())),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect(),
        rooms: facets
            .rooms
            .iter()
            .map(|r| Choice {
                value: r.clone(),
                label: r.clone(),
                selected: matches!(&filter.rooms[..], [one] if one.eq_ignore_ascii_case(r)),
            })
            .collect(),
        speaker: single(&filter.speakers),
        track: single(&filter.tracks),
        q: single(&filter.q),
        current: current_filters(&filter, &page_path, &options_query),
        clear: with_query(&page_path, &options_query),
        sub_heading: if filter.is_empty() {
            "Subscribe to every session"
        } else {
            "Subscribe to these sessions"
        },
        sub_intro: "Your calendar app adds them and keeps them up to date, \
                    cancellations included. Calendar:",
        sub,
        count_label,
        sessions: cards,
        csrf: csrf.token.clone(),
        back: with_query(&page_path, &canonical),
        star_action: LOCAL.star(),
        path: page_path,
    };
    Ok(html(render(&page)?, &csrf, &state, Privacy::Public))
}
