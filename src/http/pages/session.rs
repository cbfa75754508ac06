//! `GET /conferences/{conf}/sessions/{id}`: one session, with its star
//! button and calendar links.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::security::Privacy;
use super::view::SessionCard;
use super::zone::ZoneForm;
use super::{csrf, html_with, render, starred, Layout, PageError};
use crate::domain::urls::LOCAL;
use crate::http::extract::SessionPath;
use crate::http::AppState;

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    layout: Layout,
    conference_path: String,
    s: SessionCard,
    csrf: String,
    back: String,
    star_action: String,
}

/// `GET /conferences/{conf}/sessions/{id}`
pub(super) async fn session(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let SessionPath { slug, id } = SessionPath::of(&req)?;
    let zone = super::zone::choice(&req, &state)?;
    let (conf, session) = state.db(move |s| s.session(&slug, &id)).await?;
    let stars = starred(&req, &state).await?;
    let csrf = csrf(&req, &state)?;
    let c = &conf.conference;
    let key = (c.slug.to_string(), session.data.id.to_string());
    let mut card = SessionCard::new(&session, &conf, &state.site, stars.contains(&key));
    card.conflicts = stars.conflicts_of(&key);
    let mine = zone.beside(c.tz);
    card.show_zone(mine);
    let page = SessionPage {
        layout: Layout::new(format!("{} · {}", card.title, c.name))
            .with_zone(ZoneForm::new(&card.page, "", c.tz, mine)),
        conference_path: LOCAL.conference(&c.slug, ""),
        back: card.page.clone(),
        s: card,
        csrf: csrf.token.clone(),
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
