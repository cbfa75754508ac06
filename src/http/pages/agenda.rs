//! The agenda pages: `GET /agendas` sends the browser to the agenda its
//! cookie names (or says how to start one); `GET /agendas/{token}` shows
//! the starred sessions by day, their overlaps, and the private feed's
//! subscribe panel.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Datelike;

use super::security::{self, Privacy};
use super::subscribe::{FeedTarget, Subscribe};
use super::view::{day_label, SessionCard};
use super::{agenda_token, csrf, drop_empty, html, plural, render, store, Layout, PageError};
use crate::domain::agenda::{conflicts, AgendaToken, DEFAULT_NAME};
use crate::domain::urls::{with_query, AgendaForm, ChangesFormat, LOCAL};
use crate::domain::FeedOptions;
use crate::http::{AppState, HttpError};
use crate::store::StoreError;

struct Day {
    label: String,
    sessions: Vec<SessionCard>,
}

#[derive(Template)]
#[template(path = "agenda.html")]
struct AgendaPage {
    layout: Layout,
    name: String,
    count_label: String,
    conflicts: usize,
    days: Vec<Day>,
    sub_heading: &'static str,
    sub_intro: &'static str,
    sub: Subscribe,
    rotate_action: String,
    delete_action: String,
    csrf: String,
    /// Proposed by the rotate form (see [`super::forms::rotate`]); fresh on every view.
    new_token: String,
    back: String,
    star_action: String,
    /// The page of what changed in the starred sessions.
    changes: String,
}

#[derive(Template)]
#[template(path = "no_agenda.html")]
struct NoAgendaPage {
    layout: Layout,
}

/// `GET /agendas`: the browser's own agenda, or how to start one.
pub(super) async fn my_agenda(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    if let Some(t) = security::agenda_token(&req, &state) {
        let hash = t.hash();
        match store(&state, move |s| s.agenda(&hash)).await? {
            Ok(_) => return Ok(security::see_other(&LOCAL.agenda(&t), Privacy::Agenda).finish()),
            Err(StoreError::AgendaNotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let csrf = csrf(&req, &state)?;
    let page = NoAgendaPage {
        layout: Layout::new("My agenda"),
    };
    let mut res = html(render(&page)?, &csrf, &state, Privacy::Agenda);
    if security::agenda_token(&req, &state).is_some() {
        // It named an agenda that is gone: forget it.
        res.headers_mut().append(
            header::SET_COOKIE,
            header::HeaderValue::from_str(&security::clear_agenda_cookie(&state))
                .expect("cookie is ASCII"),
        );
    }
    Ok(res)
}

/// `GET /agendas/{token}`
pub(super) async fn agenda(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let t = agenda_token(&req)?;
    let hash = t.hash();
    let view = state
        .db(move |s| s.agenda(&hash))
        .await
        .map_err(|e| PageError::from(e).private())?;
    let csrf = csrf(&req, &state)?;
    let zone = super::zone::choice(&req, &state).map_err(PageError::private)?;
    // The form names one zone: the first conference's (an agenda mostly
    // holds one); each talk still shows its own conference's time.
    let home = view
        .sessions
        .first()
        .map_or(chrono_tz::UTC, |(c, _)| view.conferences[c].conference.tz);

    let mut overlaps: HashMap<(&str, &str), Vec<String>> = HashMap::new();
    let found = conflicts(&view);
    for c in &found {
        for (me, other) in [(&c.a, &c.b), (&c.b, &c.a)] {
            overlaps
                .entry((me.conference, me.id))
                .or_default()
                .push(format!("“{}”", other.title));
        }
    }
    let mut days: Vec<Day> = Vec::new();
    for (slug, s) in &view.sessions {
        let conf = &view.conferences[slug];
        let tz = conf.conference.tz;
        let date = s.data.start.with_timezone(&tz).date_naive();
        let label = format!("{} {}", day_label(date), date.year());
        let mut card = SessionCard::new(s, conf, &state.site, true);
        card.show_zone(zone.zone.filter(|z| *z != tz));
        card.conflicts = overlaps
            .remove(&(slug.as_str(), s.data.id.as_str()))
            .unwrap_or_default();
        card.speakers = match (card.speakers.is_empty(), view.conferences.len()) {
            (_, 1) => card.speakers,
            (true, _) => format!("at {}", card.conference_name),
            (false, _) => format!("{} · {}", card.speakers, card.conference_name),
        };
        match days.iter_mut().find(|d| d.label == label) {
            Some(d) => d.sessions.push(card),
            None => days.push(Day {
                label,
                sessions: vec![card],
            }),
        }
    }
    let name = view
        .agenda
        .name
        .clone()
        .unwrap_or_else(|| DEFAULT_NAME.to_owned());
    let manage_path = LOCAL.agenda(&t);
    // The reminder form sends an empty `alarm` for none: tidy the URL.
    let raw = super::zone::without_keys(req.query_string(), &["tz"]);
    let query = drop_empty(&raw);
    if query != raw {
        return Ok(
            security::see_other(&with_query(&manage_path, &query), Privacy::Agenda).finish(),
        );
    }
    let options = FeedOptions::from_options_query(&query)
        .map_err(|e| PageError::from(HttpError::unreadable(e)).private())?;
    let sub = Subscribe::build(
        &state,
        name.clone(),
        FeedTarget::Agenda(t.clone()),
        options,
        &manage_path,
        &options.canonical(),
    )
    .await
    .map_err(PageError::private)?;
    let page = AgendaPage {
        layout: Layout::new(name.clone())
            .with_zone(super::zone::ZoneForm::new(
                &manage_path,
                &query,
                home,
                zone.beside(home),
            ))
            .with_atom(
                LOCAL.agenda_changes(&t, ChangesFormat::Atom),
                format!("Changes to {name}"),
            ),
        count_label: format!("{} starred", plural(view.sessions.len(), "session")),
        conflicts: found.len(),
        days,
        sub_heading: "Subscribe to your agenda",
        sub_intro: "These links are private: anyone who has them can read your agenda. Calendar:",
        sub,
        csrf: csrf.token.clone(),
        new_token: AgendaToken::generate()
            .map_err(HttpError::internal)?
            .expose()
            .to_owned(),
        back: manage_path.clone(),
        star_action: LOCAL.agenda_form(&t, AgendaForm::Stars),
        changes: LOCAL.agenda_changes(&t, ChangesFormat::Page),
        rotate_action: LOCAL.agenda_form(&t, AgendaForm::Rotate),
        delete_action: LOCAL.agenda_form(&t, AgendaForm::Delete),
        name,
    };
    Ok(super::html_with(
        render(&page)?,
        &csrf,
        &state,
        Privacy::Agenda,
        zone.cookie,
    ))
}
