//! `GET /`: the conferences, with their dates and session counts.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Datelike;

use super::security::Privacy;
use super::view::day_label;
use super::{csrf, html, render, Layout, PageError};
use crate::domain::urls::LOCAL;
use crate::domain::ConferenceRecord;
use crate::http::AppState;

struct ConferenceItem {
    path: String,
    name: String,
    venue: Option<String>,
    dates: Option<String>,
    count: i64,
}

fn conference_dates(c: &ConferenceRecord) -> Option<String> {
    let tz = c.conference.tz;
    let a = c.first_start?.with_timezone(&tz).date_naive();
    let b = c.last_end?.with_timezone(&tz).date_naive();
    Some(if a == b {
        format!("{} {}", day_label(a), a.year())
    } else {
        format!("{} to {} {}", day_label(a), day_label(b), b.year())
    })
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    layout: Layout,
    conferences: Vec<ConferenceItem>,
}

/// `GET /`
pub(super) async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let confs = state.db(|s| s.conferences()).await?;
    let page = IndexPage {
        layout: Layout::new("Conferences"),
        conferences: confs
            .iter()
            .map(|c| ConferenceItem {
                path: LOCAL.conference(&c.conference.slug, ""),
                name: c.conference.name.clone(),
                venue: c.conference.venue.clone(),
                dates: conference_dates(c),
                count: c.session_count,
            })
            .collect(),
    };
    Ok(html(
        render(&page)?,
        &csrf(&req, &state)?,
        &state,
        Privacy::Public,
    ))
}
