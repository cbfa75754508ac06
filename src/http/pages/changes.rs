//! What changed, as pages: `GET /conferences/{conf}/changes` (a
//! conference's recent changes) and `GET /agendas/{token}/changes` (those
//! of the agenda's starred sessions, as private as the agenda page: no
//! Referer, not stored by any cache, unknown tokens counted by the rate
//! limit). Each change says what it was and what it is now, and when, in
//! the conference's zone, newest first; the words are
//! [`crate::http::changes::ChangeLine`]'s, which the Atom feeds use too.

use std::collections::HashSet;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::security::Privacy;
use super::zone::ZoneForm;
use super::{agenda_token, csrf, html_with, render, Layout, PageError};
use crate::domain::agenda::DEFAULT_NAME;
use crate::domain::changes::SHOWN;
use crate::domain::urls::{ChangesFormat, LOCAL};
use crate::http::changes::ChangeLine;
use crate::http::extract::ConferencePath;
use crate::http::AppState;

#[derive(Template)]
#[template(path = "changes.html")]
struct ChangesPage {
    layout: Layout,
    heading: String,
    intro: String,
    tz_note: String,
    atom: String,
    back: String,
    back_label: String,
    lines: Vec<ChangeLine>,
    /// An agenda's changes can be of several conferences.
    show_conference: bool,
    private: bool,
}

/// `GET /conferences/{conf}/changes`
pub(super) async fn conference_changes(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let ConferencePath(slug) = ConferencePath::of(&req)?;
    let zone = super::zone::choice(&req, &state)?;
    let s2 = slug.clone();
    let (conf, changes) = state.db(move |s| s.changes(&s2, SHOWN)).await?;
    let csrf = csrf(&req, &state)?;
    let c = &conf.conference;
    let mine = zone.beside(c.tz);
    let lines = changes
        .iter()
        .map(|ch| ChangeLine::beside(ch, &conf, LOCAL, mine))
        .collect();
    let atom = LOCAL.changes(&slug, ChangesFormat::Atom);
    let path = LOCAL.changes(&slug, ChangesFormat::Page);
    let page = ChangesPage {
        layout: Layout::new(format!("What changed at {}", c.name))
            .with_zone(ZoneForm::new(&path, "", c.tz, mine))
            .with_atom(atom.clone(), format!("Changes to {}", c.name)),
        heading: format!("What changed at {}", c.name),
        intro: "Sessions moved, added, cancelled, renamed or given another room.".into(),
        tz_note: c.tz.name().to_owned(),
        atom,
        back: LOCAL.conference(&slug, ""),
        back_label: c.name.clone(),
        lines,
        show_conference: false,
        private: false,
    };
    Ok(html_with(
        render(&page)?,
        &csrf,
        &state,
        Privacy::Public,
        zone.cookie,
    ))
}

/// `GET /agendas/{token}/changes`
pub(super) async fn agenda_changes(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let t = agenda_token(&req)?;
    let zone = super::zone::choice(&req, &state).map_err(PageError::private)?;
    let hash = t.hash();
    let (agenda, log) = state
        .db(move |s| s.agenda_changes(&hash, SHOWN))
        .await
        .map_err(|e| PageError::from(e).private())?;
    let csrf = csrf(&req, &state)?;
    let lines: Vec<ChangeLine> = log
        .changes
        .iter()
        .map(|(slug, ch)| ChangeLine::beside(ch, &log.conferences[slug], LOCAL, zone.zone))
        .collect();
    let zones: HashSet<&str> = log
        .conferences
        .values()
        .map(|c| c.conference.tz.name())
        .collect();
    let tz_note = match zones.len() {
        1 => zones.into_iter().next().unwrap_or_default().to_owned(),
        _ => "each conference's own zone".to_owned(),
    };
    let name = agenda.name.unwrap_or_else(|| DEFAULT_NAME.to_owned());
    let atom = LOCAL.agenda_changes(&t, ChangesFormat::Atom);
    // The form names the first conference's zone as "conference time" (as
    // the agenda page does); each line shows its own conference's.
    let home = log
        .conferences
        .values()
        .next()
        .map_or(chrono_tz::UTC, |c| c.conference.tz);
    let path = LOCAL.agenda_changes(&t, ChangesFormat::Page);
    let page = ChangesPage {
        layout: Layout::new(format!("What changed in {name}"))
            .with_zone(ZoneForm::new(&path, "", home, zone.beside(home)))
            .with_atom(atom.clone(), format!("Changes to {name}")),
        heading: format!("What changed in {name}"),
        intro: "Changes to the sessions you starred.".into(),
        tz_note,
        atom,
        back: LOCAL.agenda(&t),
        back_label: name,
        show_conference: log.conferences.len() > 1,
        lines,
        private: true,
    };
    Ok(html_with(
        render(&page)?,
        &csrf,
        &state,
        Privacy::Agenda,
        zone.cookie,
    ))
}
