//! `GET /conferences/{conf}/now`: what is on now and what starts next in
//! each room, in the conference's time (and the visitor's beside it);
//! before and after the conference, a plain statement of when it is.
//!
//! `?at=2012-03-09T14:10` (the conference's local time, as schedule
//! documents write it) shows the page as it is at that moment: "what is on
//! at 2pm on Friday" is worth a link, and it is how tests and the e2e
//! screenshots see a conference of 2012 "now" without a clock to fake.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use url::form_urlencoded;

use super::security::Privacy;
use super::view::{clock_in, day_label, SessionCard};
use super::zone::{self, ZoneForm};
use super::{csrf, html_with, render, starred, Layout, PageError, Views};
use crate::domain::localtime::parse_local;
use crate::domain::urls::{with_query, LOCAL};
use crate::domain::{SessionFilter, SessionRecord};
use crate::http::extract::ConferencePath;
use crate::http::AppState;

struct Room {
    room: String,
    now: Vec<SessionCard>,
    next: Vec<SessionCard>,
}

#[derive(Template)]
#[template(path = "now.html")]
struct NowPage {
    layout: Layout,
    name: String,
    views: Views,
    at_label: String,
    at_mine: Option<String>,
    status: String,
    rooms: Vec<Room>,
    conference: String,
    csrf: String,
    back: String,
    star_action: String,
}

/// "2:10pm, Friday 9th March 2012".
fn moment(t: DateTime<Utc>, tz: Tz) -> String {
    let d = t.with_timezone(&tz).date_naive();
    format!("{}, {} {}", clock_in(t, tz), day_label(d), d.year())
}

/// "in 3 days", "in 5 hours", "in 20 minutes".
fn until(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let d = to - from;
    let (n, unit) = if d.num_days() >= 2 {
        (d.num_days(), "day")
    } else if d.num_hours() >= 2 {
        (d.num_hours(), "hour")
    } else {
        (d.num_minutes().max(1), "minute")
    };
    format!("in {n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Is `s` on at `at`? (An event of no length is on at its instant.)
fn on_at(s: &SessionRecord, at: DateTime<Utc>) -> bool {
    (s.data.start <= at && at < s.data.end) || (s.data.start == at && s.data.end == at)
}

/// What the page says about the moment: before, during, after.
pub fn status(name: &str, sessions: &[SessionRecord], at: DateTime<Utc>, tz: Tz) -> String {
    let first = sessions.iter().map(|s| s.data.start).min();
    let last = sessions.iter().map(|s| s.data.end).max();
    match (first, last) {
        (Some(f), _) if at < f => format!(
            "{name} has not begun: it starts at {}, {}.",
            moment(f, tz),
            until(at, f)
        ),
        (_, Some(l)) if at >= l => format!("{name} is over: it ended at {}.", moment(l, tz)),
        (Some(_), Some(_)) => {
            let day = at.with_timezone(&tz).date_naive();
            let mut days: Vec<_> = sessions
                .iter()
                .map(|s| s.data.start.with_timezone(&tz).date_naive())
                .collect();
            days.dedup();
            days.sort();
            days.dedup();
            match days.iter().position(|d| *d == day) {
                Some(i) => format!(
                    "{name} is on: {}, day {} of {}.",
                    day_label(day),
                    i + 1,
                    days.len()
                ),
                None => format!(
                    "{name} is on; no session starts today ({}).",
                    day_label(day)
                ),
            }
        }
        _ => format!("{name} has no sessions yet."),
    }
}

/// `GET /conferences/{conf}/now[?at=…]`
pub(super) async fn now(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let ConferencePath(slug) = ConferencePath::of(&req)?;
    let zone = zone::choice(&req, &state)?;
    let at_raw = form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k == "at")
        .map(|(_, v)| v.into_owned())
        .last()
        .filter(|v| !v.trim().is_empty());
    let s = slug.clone();
    let (conf, sessions) = state
        .db(move |st| st.sessions(&s, &SessionFilter::default()))
        .await?;
    let c = &conf.conference;
    let tz = c.tz;
    let at = match &at_raw {
        Some(raw) => parse_local(raw.trim(), tz).map_err(|e| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "The time “at” cannot be used: {e}. Give the conference's local time, \
                     such as 2012-03-09T14:10."
                ),
            )
        })?,
        None => Utc::now(),
    };
    let stars = starred(&req, &state).await?;
    let csrf = csrf(&req, &state)?;
    let mine = zone.beside(tz);
    let card = |s: &SessionRecord| {
        let key = (c.slug.to_string(), s.data.id.to_string());
        let mut card = SessionCard::new(s, &conf, &state.site, stars.contains(&key));
        card.show_zone(mine);
        card
    };
    let mut by_room: BTreeMap<(bool, String), Vec<&SessionRecord>> = BTreeMap::new();
    for s in &sessions {
        let room = s.data.room.clone();
        let key = (room.is_none(), room.unwrap_or_else(|| "No room".to_owned()));
        by_room.entry(key).or_default().push(s);
    }
    let mut rooms = Vec::new();
    for ((_, room), list) in by_room {
        let now: Vec<SessionCard> = list
            .iter()
            .filter(|s| on_at(s, at))
            .map(|s| card(s))
            .collect();
        let next_start = list.iter().map(|s| s.data.start).filter(|t| *t > at).min();
        let next: Vec<SessionCard> = list
            .iter()
            .filter(|s| Some(s.data.start) == next_start)
            .map(|s| card(s))
            .collect();
        if !now.is_empty() || !next.is_empty() {
            rooms.push(Room { room, now, next });
        }
    }
    let status = status(&c.name, &sessions, at, tz);
    let page_path = LOCAL.now(&c.slug, "");
    let keep = zone::without_keys(req.query_string(), &["tz"]);
    let back = with_query(&page_path, &keep);
    let page = NowPage {
        layout: Layout::new(format!("Now and next · {}", c.name))
            .with_zone(ZoneForm::new(&page_path, &keep, tz, mine)),
        name: c.name.clone(),
        views: Views::new(&c.slug, "", "now"),
        at_label: moment(at, tz),
        at_mine: mine.map(|z| format!("{} in {}", moment(at, z), z.name())),
        status,
        rooms,
        conference: c.slug.to_string(),
        csrf: csrf.token.clone(),
        back,
        star_action: LOCAL.star(),
    };
    Ok(html_with(
        render(&page)?,
        &csrf,
        &state,
        Privacy::Public,
        zone.cookie,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_reads_plainly() {
        let a = DateTime::parse_from_rfc3339("2012-03-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = |h: i64| a + chrono::Duration::hours(h);
        assert_eq!(until(a, d(24 * 8)), "in 8 days");
        assert_eq!(until(a, d(30)), "in 30 hours");
        assert_eq!(until(a, a + chrono::Duration::minutes(1)), "in 1 minute");
    }
}
