//! Server-rendered HTML pages: browse a conference's sessions with the
//! feeds' filters, subscribe, download, star, and see one's agenda.
//!
//! One file per page, each with its template's struct and its handler:
//!
//! - [`index`]: `GET /`, the conferences
//! - [`conference`]: `GET /conferences/{conf}?day=…&room=…&speaker=…&track=…&q=…`
//! - [`session`]: `GET /conferences/{conf}/sessions/{id}`
//! - [`changes`]: `GET /conferences/{conf}/changes` and
//!   `GET /agendas/{token}/changes`, what changed (the Atom feeds of the
//!   same are [`crate::http::changes`])
//! - [`timetable`]: `GET /conferences/{conf}/timetable?day=…` (and the
//!   list's filters), one local day as a grid of rooms and times
//! - [`now`]: `GET /conferences/{conf}/now`, what is on now and next
//! - [`zone`]: "my time zone", `?tz=` and its cookie, on every page with times
//! - [`agenda`]: `GET /agendas` (sends the browser to the agenda its
//!   cookie names) and `GET /agendas/{token}`, the agenda page
//! - [`forms`]: the POSTs: `/agendas/star` (star/unstar from any page,
//!   creating the browser's agenda on first use) and the agenda page's
//!   `/agendas/{token}/stars`, `/rotate`, `/delete`
//! - [`error`]: [`PageError`], the HTML answer to every failure
//! - [`assets`]: `GET /assets/{file}`, the embedded CSS and JS
//! - [`subscribe`]: every page's subscribe panel, by the rules of the
//!   calendar apps it links to (Google's size and URL limits above all)
//! - [`security`]: cookies, CSRF, redirect targets, security headers
//! - [`view`]: what the templates show, computed from stored records
//!
//! This file holds the route table and what every page shares: the frame
//! (`Layout`), rendering, and the 200 answer with its headers.
//!
//! Every page works without JavaScript. Templates live in `templates/` and
//! are compiled into the binary by askama, which HTML-escapes every value.
//! Token-bearing paths all stay under `/agendas/`, where the request log
//! redacts them; tokens never go into a query string.

pub mod agenda;
pub mod assets;
pub mod changes;
pub mod conference;
pub mod error;
pub mod forms;
pub mod index;
pub mod now;
pub mod security;
pub mod session;
pub mod subscribe;
pub mod timetable;
pub mod view;
pub mod zone;

use std::collections::{HashMap, HashSet};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use url::form_urlencoded;

pub use self::error::PageError;
use self::security::{Csrf, Privacy};
use super::extract::AgendaPath;
use super::{AppState, HttpError};
use crate::domain::agenda::AgendaToken;
use crate::store::StoreError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index::index))
        .route("/assets/{file}", web::get().to(assets::serve))
        .route("/conferences/{conf}", web::get().to(conference::conference))
        .route(
            "/conferences/{conf}/changes",
            web::get().to(changes::conference_changes),
        )
        .route(
            "/conferences/{conf}/timetable",
            web::get().to(timetable::timetable),
        )
        .route("/conferences/{conf}/now", web::get().to(now::now))
        // No dot in `{id}`: `/conferences/x/sessions/y.ics` is the feed's.
        .route(
            "/conferences/{conf}/sessions/{id:[^/.]+}",
            web::get().to(session::session),
        )
        .route("/agendas", web::get().to(agenda::my_agenda))
        .route("/agendas/star", web::post().to(forms::star_from_page))
        .route("/agendas/{token:[^/.]+}", web::get().to(agenda::agenda))
        .route(
            "/agendas/{token}/changes",
            web::get().to(changes::agenda_changes),
        )
        .route(
            "/agendas/{token}/stars",
            web::post().to(forms::star_on_agenda),
        )
        .route("/agendas/{token}/rotate", web::post().to(forms::rotate))
        .route("/agendas/{token}/delete", web::post().to(forms::delete));
}

/// What every page's frame needs.
struct Layout {
    title: String,
    css: &'static str,
    js: &'static str,
    /// The timetable's own stylesheet (its grid placements).
    grid_css: Option<&'static str>,
    /// The time-zone form, on pages that show times.
    zone: Option<zone::ZoneForm>,
    /// An Atom feed of the page's changes, offered in the head as
    /// `<link rel="alternate">` (feed readers find it there): its address
    /// and title.
    atom: Option<AtomLink>,
}

struct AtomLink {
    href: String,
    title: String,
}

impl Layout {
    fn new(title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            css: &assets::CSS.path,
            js: &assets::JS.path,
            atom: None,
            grid_css: None,
            zone: None,
        }
    }

    fn with_zone(mut self, form: zone::ZoneForm) -> Self {
        self.zone = Some(form);
        self
    }

    fn with_atom(mut self, href: String, title: String) -> Self {
        self.atom = Some(AtomLink { href, title });
        self
    }
}

/// A conference's views, each keeping the filters: the list, the
/// timetable, now and next.
struct Views {
    list: String,
    timetable: String,
    now: String,
    /// Which one this page is: `list`, `timetable` or `now`.
    current: &'static str,
}

impl Views {
    fn new(slug: &crate::domain::ConferenceSlug, filters: &str, current: &'static str) -> Self {
        use crate::domain::urls::LOCAL;
        Views {
            list: LOCAL.conference(slug, filters),
            timetable: LOCAL.timetable(slug, filters),
            now: LOCAL.now(slug, ""),
            current,
        }
    }
}

fn render(t: &impl Template) -> Result<String, PageError> {
    t.render()
        .map_err(|e| HttpError::internal_in("template", e).into())
}

/// [`render`] on the blocking pool, for the pages whose size grows with
/// the conference (the list, the timetable): rendering 1,000 talks is CPU
/// time an async worker would otherwise spend not serving anyone else.
async fn render_off<T: Template + Send + 'static>(t: T) -> Result<String, PageError> {
    web::block(move || render(&t))
        .await
        .map_err(|e| PageError::from(HttpError::from(e)))?
}

fn csrf(req: &HttpRequest, state: &AppState) -> Result<Csrf, PageError> {
    Csrf::of(req, state).map_err(|e| HttpError::internal(e).into())
}

/// A 200 HTML page with the security headers, setting the CSRF cookie when
/// the visitor had none.
fn html(body: String, csrf: &Csrf, state: &AppState, privacy: Privacy) -> HttpResponse {
    html_with(body, csrf, state, privacy, None)
}

/// [`html`], also setting the time-zone cookie a `?tz=` chose.
fn html_with(
    body: String,
    csrf: &Csrf,
    state: &AppState,
    privacy: Privacy,
    zone_cookie: Option<String>,
) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    security::html_headers(&mut res, privacy);
    if let Some(c) = csrf.set_cookie(state) {
        res.append_header((header::SET_COOKIE, c));
    }
    if let Some(c) = zone_cookie {
        res.append_header((header::SET_COOKIE, c));
    }
    res.content_type("text/html; charset=utf-8").body(body)
}

/// Runs a store call, keeping the store's own error (to tell "no such
/// agenda" apart from other failures).
async fn store<R, F>(state: &AppState, f: F) -> Result<Result<R, StoreError>, PageError>
where
    F: FnOnce(&crate::store::Store) -> Result<R, StoreError> + Send + 'static,
    R: Send + 'static,
{
    let s = state.store.clone();
    web::block(move || f(&s))
        .await
        .map_err(|e| HttpError::from(e).into())
}

/// The browser's agenda as the conference pages mark it: which sessions
/// are starred, and which starred ones overlap another (with the titles
/// they overlap), by (conference, id).
#[derive(Default)]
struct Stars {
    set: HashSet<(String, String)>,
    conflicts: HashMap<(String, String), Vec<String>>,
}

impl Stars {
    fn contains(&self, key: &(String, String)) -> bool {
        self.set.contains(key)
    }

    /// Titles of the starred sessions overlapping this starred one.
    fn conflicts_of(&self, key: &(String, String)) -> Vec<String> {
        self.conflicts.get(key).cloned().unwrap_or_default()
    }
}

/// The browser's agenda (see [`Stars`]); none without its cookie.
async fn starred(req: &HttpRequest, state: &AppState) -> Result<Stars, PageError> {
    let Some(t) = security::agenda_token(req, state) else {
        return Ok(Stars::default());
    };
    let hash = t.hash();
    match store(state, move |s| s.agenda(&hash)).await? {
        Ok(view) => {
            let mut conflicts: HashMap<(String, String), Vec<String>> = HashMap::new();
            for c in crate::domain::agenda::conflicts(&view) {
                for (me, other) in [(&c.a, &c.b), (&c.b, &c.a)] {
                    conflicts
                        .entry((me.conference.to_owned(), me.id.to_owned()))
                        .or_default()
                        .push(format!("“{}”", other.title));
                }
            }
            Ok(Stars {
                set: view
                    .sessions
                    .iter()
                    .map(|(c, s)| (c.clone(), s.data.id.to_string()))
                    .collect(),
                conflicts,
            })
        }
        Err(StoreError::AgendaNotFound) => Ok(Stars::default()),
        Err(e) => Err(e.into()),
    }
}

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

/// The query without empty values: what an untouched field of the filter
/// form sends (`speaker=`) means "any", not a filter that cannot match.
fn drop_empty(query: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if !v.trim().is_empty() {
            out.append_pair(&k, &v);
        }
    }
    out.finish()
}

/// The agenda token of the URL's `{token}`; one that cannot be a token is
/// simply not found, like any unknown one (see [`AgendaPath`]).
fn agenda_token(req: &HttpRequest) -> Result<AgendaToken, PageError> {
    AgendaPath::of(req)
        .map(|AgendaPath(t)| t)
        .map_err(|e| PageError::from(e).private())
}
