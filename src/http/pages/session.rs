//! `GET /conferences/{conf}/sessions/{id}`: one session, with its star
//! button and calendar links.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::security::Privacy;
use super::view::SessionCard;
use super::{csrf, html, render, starred, Layout, PageError};
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
    let (conf, session) = state.db(move |s| s.session(&slug, &id)).await?;
    let stars = starred(&req, &state).await?;
    let csrf = csrf(&req, &state)?;
    let c = &conf.conference;
    let key = (c.slug.to_string(), session.data.id.to_string());
    let card = SessionCard::new(&session, &conf, &state.site, stars.contains(&key));
    let page = SessionPage {
        layout: Layout::new(format!("{} · {}", card.title, c.name)),
        conference_path: LOCAL.conference(&c.slug, ""),
        back: card.page.clone(),
        s: card,
        csrf: csrf.token.clone(),
        star_action: LOCAL.star(),
    };
    Ok(html(render(&page)?, &csrf, &state, Privacy::Public))
}
