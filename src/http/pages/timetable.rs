//! `GET /conferences/{conf}/timetable?day=…`: one conference-local day as
//! a grid, a column per room and time running down, each talk a block as
//! tall as it is long (the placement is [`crate::domain::timetable`]'s).
//!
//! The list's filters apply (a filtered grid shows only what matches, and
//! the subscribe panel offers exactly the feed of what is shown: that day
//! with those filters). Without `day` the grid shows the conference's day
//! today, or else its first day. The blocks are in the document in time
//! order, so a screen reader, the keyboard's Tab and the narrow-screen
//! list (CSS only) all read the talks by start time; the hour labels and
//! room headers are for the eye (each block says its own time and room).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, Utc};

use super::conference::{page_filters, FilterPanel, Filters};
use super::security::Privacy;
use super::subscribe::{FeedTarget, Subscribe};
use super::view::{clock_in, day_label, SessionCard};
use super::zone::{self, ZoneForm};
use super::{assets, csrf, html_with, plural, render_off, starred, Layout, PageError, Views};
use crate::domain::feed_options::join_query;
use crate::domain::filter::StatusFilter;
use crate::domain::timetable::{lay_out, Item};
use crate::domain::urls::{with_query, LOCAL};
use crate::http::extract::ConferencePath;
use crate::http::AppState;
use crate::ical::calendars::calendar_name;

struct DayLink {
    label: String,
    href: String,
    current: bool,
}

/// A label of the grid's frame (an hour, a room), with its placement.
struct Frame {
    class: String,
    label: String,
}

/// A talk in the grid.
struct Block {
    /// Its placement classes (see `assets::GRID`).
    class: String,
    /// "2:00pm–2:40pm" in the conference's zone.
    time: String,
    /// The same in the visitor's zone, when other.
    time_mine: Option<String>,
    /// It runs on past the grid's end.
    cut: bool,
    s: SessionCard,
}

#[derive(Template)]
#[template(path = "timetable.html")]
struct TimetablePage {
    layout: Layout,
    name: String,
    tz: &'static str,
    views: Views,
    filters: FilterPanel,
    days: Vec<DayLink>,
    day_label: String,
    count_label: String,
    hours: Vec<Frame>,
    rooms: Vec<Frame>,
    blocks: Vec<Block>,
    sub_heading: &'static str,
    sub_intro: &'static str,
    sub: Subscribe,
    conference: String,
    csrf: String,
    back: String,
    star_action: String,
}

/// "2:00pm–2:40pm", or "2:00pm" for an event of no length.
fn span(s: &SessionCard, tz: chrono_tz::Tz) -> String {
    if s.start == s.end {
        clock_in(s.start, tz)
    } else {
        format!("{}–{}", clock_in(s.start, tz), clock_in(s.end, tz))
    }
}

/// The day shown when the URL names none: today at the conference when it
/// is one of its days, else its first.
fn default_day(days: &[NaiveDate], tz: chrono_tz::Tz) -> Option<NaiveDate> {
    let today = Utc::now().with_timezone(&tz).date_naive();
    days.iter()
        .copied()
        .find(|d| *d == today)
        .or_else(|| days.first().copied())
}

/// `GET /conferences/{conf}/timetable`
pub(super) async fn timetable(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let ConferencePath(slug) = ConferencePath::of(&req)?;
    let page_path = LOCAL.timetable(&slug, "");
    let zone = zone::choice(&req, &state)?;
    let (mut filter, options, _) = match page_filters(&state, &req, &slug, &page_path).await? {
        Filters::Read(f) => f,
        Filters::Tidy(redirect) => return Ok(redirect),
    };
    let options_query = options.canonical();
    filter.status = StatusFilter::All;
    let (s, f) = (slug.clone(), filter.clone());
    let (conf, sessions, facets, shown) = state
        .db(move |st| {
            let conf = st.conference(&s)?;
            let facets = st.facets(&s)?;
            let day = f
                .days
                .first()
                .copied()
                .or_else(|| default_day(&facets.days, conf.conference.tz));
            let mut shown = f;
            shown.days = day.into_iter().collect();
            let (conf, sessions) = match day {
                Some(_) => st.sessions(&s, &shown)?,
                None => (conf, Vec::new()),
            };
            Ok((conf, sessions, facets, shown))
        })
        .await?;
    let stars = starred(&req, &state).await?;
    let csrf = csrf(&req, &state)?;
    let c = &conf.conference;
    let tz = c.tz;
    let mine = zone.beside(tz);
    let day = shown.days.first().copied();
    let canonical = join_query(&shown.canonical(), &options_query);

    let items: Vec<Item> = sessions
        .iter()
        .map(|s| Item {
            start: s.data.start,
            end: s.data.end,
            room: s.data.room.as_deref(),
        })
        .collect();
    let grid = day.map(|d| lay_out(d, tz, &items));
    let mut hours = Vec::new();
    let mut rooms = Vec::new();
    let mut blocks = Vec::new();
    if let (Some(g), Some(d)) = (&grid, day) {
        let width = g.width();
        for (i, m) in g.marks.iter().enumerate() {
            let end = g.marks.get(i + 1).map_or(g.rows, |n| n.row);
            let local = m.at.with_timezone(&tz);
            let mut label = clock_in(m.at, tz);
            if local.date_naive() != d {
                label.push_str(&format!(" ({})", local.format("%a")));
            }
            hours.push(Frame {
                class: format!("hour r{} h{} c1 w{}", m.row + 2, end - m.row, width + 1),
                label,
            });
        }
        for col in &g.columns {
            rooms.push(Frame {
                class: format!("room-h r1 c{} w{}", col.first + 2, col.lanes),
                label: col.room.clone().unwrap_or_else(|| "No room".to_owned()),
            });
        }
        for b in &g.blocks {
            let s = &sessions[b.item];
            let key = (c.slug.to_string(), s.data.id.to_string());
            let mut card = SessionCard::new(s, &conf, &state.site, stars.contains(&key));
            card.conflicts = stars.conflicts_of(&key);
            card.show_zone(mine);
            blocks.push(Block {
                class: format!(
                    "slot r{} h{} c{} w{}{}",
                    b.row + 2,
                    b.rows,
                    b.column + 2,
                    b.columns,
                    if b.rows <= 6 { " short" } else { "" }
                ),
                time: span(&card, tz),
                time_mine: mine.map(|z| format!("{} {}", span(&card, z), z.name())),
                cut: b.cut_after,
                s: card,
            });
        }
    }
    let days = facets
        .days
        .iter()
        .map(|d| {
            let mut f = shown.clone();
            f.days = vec![*d];
            DayLink {
                label: day_label(*d),
                href: with_query(&page_path, &join_query(&f.canonical(), &options_query)),
                current: Some(*d) == day,
            }
        })
        .collect();
    let sub = Subscribe::build(
        &state,
        calendar_name(&conf, &shown),
        FeedTarget::Conference {
            slug: c.slug.clone(),
            filter: shown.clone(),
        },
        options,
        &page_path,
        &canonical,
    )
    .await?;
    let mut layout = Layout::new(format!(
        "Timetable, {} · {}",
        day.map(day_label).unwrap_or_default(),
        c.name
    ))
    .with_zone(ZoneForm::new(&page_path, &canonical, tz, mine));
    layout.grid_css = Some(&assets::GRID.path);
    let page = TimetablePage {
        layout,
        name: c.name.clone(),
        tz: tz.name(),
        views: Views::new(
            &c.slug,
            &join_query(&filter.canonical(), &options_query),
            "timetable",
        ),
        filters: FilterPanel::new(&shown, &facets, &options, &page_path, false),
        days,
        day_label: day.map(day_label).unwrap_or_default(),
        count_label: plural(blocks.len(), "session"),
        hours,
        rooms,
        blocks,
        sub_heading: "Subscribe to the sessions shown",
        sub_intro: "Your calendar app adds them and keeps them up to date. Calendar:",
        sub,
        conference: c.slug.to_string(),
        csrf: csrf.token.clone(),
        back: with_query(&page_path, &canonical),
        star_action: LOCAL.star(),
    };
    Ok(html_with(
        render_off(page).await?,
        &csrf,
        &state,
        Privacy::Public,
        zone.cookie,
    ))
}
