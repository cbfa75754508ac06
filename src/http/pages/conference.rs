//! `GET /conferences/{conf}`: a conference's sessions with the feeds'
//! filters (the filter form, the filters in force, each with the link that
//! removes it) and the subscribe panel for exactly what is shown.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::security::Privacy;
use super::subscribe::{FeedTarget, Subscribe};
use super::view::{day_label, SessionCard};
use super::zone::{self, ZoneForm};
use super::{csrf, drop_empty, html_with, plural, render_off, starred, Layout, PageError, Views};
use crate::domain::feed_options::join_query;
use crate::domain::filter::StatusFilter;
use crate::domain::urls::{with_query, ChangesFormat, LOCAL};
use crate::domain::{FeedOptions, SessionFilter, Status};
use crate::http::extract::ConferencePath;
use crate::http::AppState;
use crate::ical::calendars::calendar_name;
use crate::store::Facets;

pub(super) struct ListDay {
    pub label: String,
    pub sessions: Vec<SessionCard>,
}

pub(super) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub(super) struct CurrentFilter {
    pub label: String,
    pub remove: String,
}

/// The filter form and the filters in force, shared by the list and the
/// timetable (`_filters.html`): the form is a GET to the page it is on.
pub(super) struct FilterPanel {
    pub path: String,
    pub days: Vec<Choice>,
    pub rooms: Vec<Choice>,
    pub kinds: Vec<Choice>,
    /// Feed options the filter form carries along (`alarm`, `compact`), so
    /// that changing a filter keeps the reminder chosen for the feed.
    pub options: Vec<(&'static str, String)>,
    pub speaker: String,
    pub track: String,
    pub q: String,
    pub current: Vec<CurrentFilter>,
    /// The page without filters (feed options kept).
    pub clear: String,
    /// The day select offers "Any day" (the list; a timetable is one day).
    pub any_day: bool,
}

impl FilterPanel {
    pub fn new(
        filter: &SessionFilter,
        facets: &Facets,
        options: &FeedOptions,
        path: &str,
        any_day: bool,
    ) -> Self {
        let options_query = options.canonical();
        FilterPanel {
            path: path.to_owned(),
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
            current: current_filters(filter, path, &options_query),
            clear: with_query(path, &options_query),
            any_day,
        }
    }
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
    views: Views,
    filters: FilterPanel,
    sub_heading: &'static str,
    sub_intro: &'static str,
    sub: Subscribe,
    count_label: String,
    /// The sessions under their local day's heading.
    days: Vec<ListDay>,
    conference: String,
    csrf: String,
    back: String,
    star_action: String,
}

/// "Day: Friday 9th March", each with the link that removes it (and keeps
/// the feed options, `options` being their canonical query).
pub(super) fn current_filters(f: &SessionFilter, path: &str, options: &str) -> Vec<CurrentFilter> {
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

/// Cards (in start order) under their local days.
fn by_day(cards: Vec<SessionCard>) -> Vec<ListDay> {
    let mut days: Vec<(chrono::NaiveDate, ListDay)> = Vec::new();
    for card in cards {
        let d = card.start.with_timezone(&card.tz).date_naive();
        match days.last_mut() {
            Some((last, day)) if *last == d => day.sessions.push(card),
            _ => days.push((
                d,
                ListDay {
                    label: day_label(d),
                    sessions: vec![card],
                },
            )),
        }
    }
    days.into_iter().map(|(_, d)| d).collect()
}

fn single(values: &[String]) -> String {
    match values {
        [one] => one.clone(),
        _ => String::new(),
    }
}

/// What a conference page's query asks for (the list's and the
/// timetable's): the feeds' own filters and the feed options, and the
/// canonical query of both; or the tidy URL to send the browser to.
pub(super) enum Filters {
    Read((SessionFilter, FeedOptions, String)),
    Tidy(HttpResponse),
}

/// Reads the page's query (without `tz`) as [`Filters`]. The feed options
/// are not filters, but the page takes them to hand on to the feed URL it
/// offers (the subscribe panel's reminder choice). A bad filter is a 400
/// page, once the conference is known to exist (an unknown one is a 404
/// whatever its filters).
pub(super) async fn page_filters(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    slug: &crate::domain::ConferenceSlug,
    page_path: &str,
) -> Result<Filters, PageError> {
    let raw = zone::without_keys(req.query_string(), &["tz"]);
    let query = drop_empty(&raw);
    let parsed = SessionFilter::from_page_query(&query)
        .and_then(|f| Ok((f, FeedOptions::from_query(&query)?)));
    let (filter, options) = match parsed {
        Ok(p) => p,
        Err(e) => {
            let s = slug.clone();
            state.db(move |st| st.conference(&s)).await?;
            return Err(PageError::bad_filter(e, page_path.to_owned()));
        }
    };
    let canonical = join_query(&filter.canonical(), &options.canonical());
    // The form sends empty fields; send the browser to the tidy URL, so
    // what it shows (and bookmarks) is the feed's own filter.
    if query != raw {
        return Ok(Filters::Tidy(
            HttpResponse::Found()
                .insert_header((header::LOCATION, with_query(page_path, &canonical)))
                .finish(),
        ));
    }
    Ok(Filters::Read((filter, options, canonical)))
}

/// `GET /conferences/{conf}` with the feeds' filters.
pub(super) async fn conference(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let ConferencePath(slug) = ConferencePath::of(&req)?;
    let page_path = LOCAL.conference(&slug, "");
    let zone = zone::choice(&req, &state)?;
    let (mut filter, options, canonical) =
        match page_filters(&state, &req, &slug, &page_path).await? {
            Filters::Read(f) => f,
            Filters::Tidy(redirect) => return Ok(redirect),
        };
    // Like the feeds, the page lists cancelled sessions too, marked.
    filter.status = StatusFilter::All;
    let (s, f) = (slug.clone(), filter.clone());
    let ((conf, sessions), facets, source) = state
        .db(move |st| Ok((st.sessions(&s, &f)?, st.facets(&s)?, st.source(&s)?)))
        .await?;
    let stars = starred(&req, &state).await?;
    let csrf = csrf(&req, &state)?;
    let c = &conf.conference;

    let mine = zone.beside(c.tz);
    let cards: Vec<SessionCard> = sessions
        .iter()
        .map(|s| {
            let key = (c.slug.to_string(), s.data.id.to_string());
            let mut card = SessionCard::new(s, &conf, &state.site, stars.contains(&key));
            card.conflicts = stars.conflicts_of(&key);
            card.show_zone(mine);
            card
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
        map: c.geo.map(super::view::map_link),
        tz: c.tz.name(),
        source_note: source.and_then(|r| crate::follow::page_note(&r, c.tz)),
        views: Views::new(&c.slug, &canonical, "list"),
        filters: FilterPanel::new(&filter, &facets, &options, &page_path, true),
        sub_heading: if filter.is_empty() {
            "Subscribe to every session"
        } else {
            "Subscribe to these sessions"
        },
        sub_intro: "Your calendar app adds them and keeps them up to date, \
                    cancellations included. Calendar:",
        sub,
        count_label,
        days: by_day(cards),
        csrf: csrf.token.clone(),
        back: with_query(&page_path, &canonical),
        star_action: LOCAL.star(),
        conference: c.slug.to_string(),
    };
    let page = ConferencePage {
        layout: page
            .layout
            .with_zone(ZoneForm::new(&page_path, &canonical, c.tz, mine)),
        ..page
    };
    Ok(html_with(
        render_off(page).await?,
        &csrf,
        &state,
        Privacy::Public,
        zone.cookie,
    ))
}
