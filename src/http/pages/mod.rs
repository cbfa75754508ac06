//! Server-rendered HTML pages (issue 5): browse a conference's sessions with
//! the feeds' filters, subscribe, download, star, and see one's agenda.
//!
//! - `GET /`: the conferences
//! - `GET /conferences/{conf}?day=…&room=…&speaker=…&track=…&q=…`
//! - `GET /conferences/{conf}/sessions/{id}`
//! - `GET /agendas`: sends the browser to the agenda its cookie names
//! - `GET /agendas/{token}`: the agenda page
//! - `POST /agendas/star`: star/unstar from any page, creating the
//!   browser's agenda on first use; `POST /agendas/{token}/stars`,
//!   `/rotate`, `/delete`: the agenda page's forms
//! - `GET /assets/{file}`: the embedded CSS and JS
//!
//! [`subscribe`] builds every page's subscribe panel by the rules of the
//! calendar apps it links to (Google's size and URL limits above all).
//!
//! Every page works without JavaScript. Templates live in `templates/` and
//! are compiled into the binary by askama, which HTML-escapes every value.
//! Token-bearing paths all stay under `/agendas/`, where the request log
//! redacts them; tokens never go into a query string.

pub mod assets;
pub mod security;
pub mod subscribe;
pub mod view;

use std::collections::{HashMap, HashSet};
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use chrono::{Datelike, Utc};
use url::form_urlencoded;

use self::security::{Csrf, Privacy};
use self::subscribe::{FeedTarget, Subscribe};
use self::view::{day_label, SessionCard};
use super::agendas::{conflicts, create_agenda, proposed_token, DEFAULT_NAME};
use super::feeds::calendar_name;
use super::{conf_slug, read_body, session_id, ApiError, AppState};
use crate::domain::agenda::AgendaToken;
use crate::domain::feed_options::join_query;
use crate::domain::filter::StatusFilter;
use crate::domain::{ConferenceSlug, FeedOptions, SessionFilter, SessionId, ValidationError};
use crate::store::{ConferenceRecord, Status, StoreError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/assets/{file}", web::get().to(assets::serve))
        .route("/conferences/{conf}", web::get().to(conference))
        // No dot in `{id}`: `/conferences/x/sessions/y.ics` is the feed's.
        .route(
            "/conferences/{conf}/sessions/{id:[^/.]+}",
            web::get().to(session),
        )
        .route("/agendas", web::get().to(my_agenda))
        .route("/agendas/star", web::post().to(star_from_page))
        .route("/agendas/{token:[^/.]+}", web::get().to(agenda))
        .route("/agendas/{token}/stars", web::post().to(star_on_agenda))
        .route("/agendas/{token}/rotate", web::post().to(rotate))
        .route("/agendas/{token}/delete", web::post().to(delete));
}

/// What every page's frame needs.
struct Layout {
    title: String,
    css: &'static str,
    js: &'static str,
}

impl Layout {
    fn new(title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            css: &assets::CSS.path,
            js: &assets::JS.path,
        }
    }
}

// ---------------------------------------------------------------- errors

/// An error answered with an HTML page (the API's errors are JSON).
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
    /// A link back, e.g. to the unfiltered conference page.
    back: Option<(String, String)>,
    privacy: Privacy,
    /// 429: seconds until the client may try again.
    retry_after: Option<u64>,
    /// The answer to an unknown agenda token: the rate limiter counts it.
    unknown_token: bool,
}

impl PageError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        PageError {
            status,
            message: message.into(),
            back: None,
            privacy: Privacy::Public,
            retry_after: None,
            unknown_token: false,
        }
    }

    fn forbidden(message: String) -> Self {
        PageError::new(StatusCode::FORBIDDEN, message)
    }

    fn bad_filter(e: ValidationError, conf_path: String) -> Self {
        let mut err = PageError::new(
            StatusCode::BAD_REQUEST,
            format!("The filter “{}” cannot be used: {}.", e.field, e.message),
        );
        err.back = Some((conf_path, "Show every session".into()));
        err
    }

    fn private(mut self) -> Self {
        self.privacy = Privacy::Agenda;
        self
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        let status = e.status_code();
        let mut retry_after = None;
        let mut unknown_token = false;
        let message = match &e {
            ApiError::TooManyRequests {
                retry_after: r,
                message,
            } => {
                retry_after = Some(*r);
                format!("Too many requests: {message}.")
            }
            ApiError::Unavailable {
                retry_after: r,
                message,
            } => {
                retry_after = *r;
                format!("Not possible right now: {message}. Please try again in a moment.")
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error on a page");
                "Something went wrong on our side. Please try again in a moment.".to_owned()
            }
            ApiError::NotFound { field, .. } => match field.as_deref() {
                Some("conference") => "There is no such conference.".to_owned(),
                Some("session") => "There is no such session.".to_owned(),
                Some("token") => {
                    unknown_token = true;
                    "There is no such agenda. Its address may have been \
                                  replaced by a new one, or the agenda deleted."
                        .to_owned()
                }
                _ => "There is no such page.".to_owned(),
            },
            other => other.to_string(),
        };
        PageError {
            retry_after,
            unknown_token,
            ..PageError::new(status, message)
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    message: &'a str,
    back: Option<&'a str>,
    back_label: &'a str,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let title = match self.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            StatusCode::SERVICE_UNAVAILABLE => "Unavailable",
            s if s.is_client_error() => "Cannot do that",
            _ => "Server error",
        };
        let page = ErrorPage {
            layout: Layout::new(title),
            message: &self.message,
            back: self.back.as_ref().map(|(p, _)| p.as_str()),
            back_label: self.back.as_ref().map_or("", |(_, l)| l.as_str()),
        };
        let body = page
            .render()
            .unwrap_or_else(|_| "<!DOCTYPE html><title>Error</title>".into());
        let mut res = HttpResponse::build(self.status);
        security::html_headers(&mut res, self.privacy);
        if let Some(r) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, r.to_string()));
        }
        if self.unknown_token {
            res.extensions_mut()
                .insert(crate::http::ratelimit::UnknownToken);
        }
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}

// ------------------------------------------------------------- responses

fn render(t: &impl Template) -> Result<String, PageError> {
    t.render()
        .map_err(|e| ApiError::Internal(format!("template: {e}")).into())
}

fn csrf(req: &HttpRequest, state: &AppState) -> Result<Csrf, PageError> {
    Csrf::of(req, state).map_err(|e| ApiError::Internal(e.to_string()).into())
}

/// A 200 HTML page with the security headers, setting the CSRF cookie when
/// the visitor had none.
fn html(body: String, csrf: &Csrf, state: &AppState, privacy: Privacy) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    security::html_headers(&mut res, privacy);
    if let Some(c) = csrf.set_cookie(state) {
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
        .map_err(|e| ApiError::from(e).into())
}

/// Sessions starred in the browser's agenda, as (conference, id).
async fn starred(
    req: &HttpRequest,
    state: &AppState,
) -> Result<HashSet<(String, String)>, PageError> {
    let Some(t) = security::agenda_token(req, state) else {
        return Ok(HashSet::new());
    };
    let hash = t.hash();
    match store(state, move |s| s.agenda(&hash)).await? {
        Ok(view) => Ok(view
            .sessions
            .iter()
            .map(|(c, s)| (c.clone(), s.data.id.to_string()))
            .collect()),
        Err(StoreError::AgendaNotFound) => Ok(HashSet::new()),
        Err(e) => Err(e.into()),
    }
}

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

// ------------------------------------------------------------ conferences

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
async fn index(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let confs = state.db(|s| s.conferences()).await?;
    let page = IndexPage {
        layout: Layout::new("Conferences"),
        conferences: confs
            .iter()
            .map(|c| ConferenceItem {
                path: format!("/conferences/{}", c.conference.slug),
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
    star_action: &'static str,
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

pub(super) fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
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
async fn conference(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let slug = conf_slug(&path)?;
    let page_path = format!("/conferences/{slug}");
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
            SessionCard::new(s, &conf, &state.base_url, stars.contains(&key))
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
        }),
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
        star_action: "/agendas/star",
        path: page_path,
    };
    Ok(html(render(&page)?, &csrf, &state, Privacy::Public))
}

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    layout: Layout,
    conference_path: String,
    s: SessionCard,
    csrf: String,
    back: String,
    star_action: &'static str,
}

/// `GET /conferences/{conf}/sessions/{id}`
async fn session(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (conf, id) = path.into_inner();
    let (slug, id) = (conf_slug(&conf)?, session_id(&id)?);
    let (conf, session) = state.db(move |s| s.session(&slug, &id)).await?;
    let stars = starred(&req, &state).await?;
    let csrf = csrf(&req, &state)?;
    let c = &conf.conference;
    let key = (c.slug.to_string(), session.data.id.to_string());
    let card = SessionCard::new(&session, &conf, &state.base_url, stars.contains(&key));
    let page = SessionPage {
        layout: Layout::new(format!("{} · {}", card.title, c.name)),
        conference_path: format!("/conferences/{}", c.slug),
        back: card.page.clone(),
        s: card,
        csrf: csrf.token.clone(),
        star_action: "/agendas/star",
    };
    Ok(html(render(&page)?, &csrf, &state, Privacy::Public))
}

// ---------------------------------------------------------------- agendas

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
    manage_path: String,
    csrf: String,
    /// Proposed by the rotate form (see [`rotate`]); fresh on every view.
    new_token: String,
    back: String,
    star_action: String,
}

#[derive(Template)]
#[template(path = "no_agenda.html")]
struct NoAgendaPage {
    layout: Layout,
}

fn agenda_token(raw: &str) -> Result<AgendaToken, PageError> {
    AgendaToken::parse(raw)
        .ok_or_else(|| PageError::from(ApiError::not_found("token", "no such agenda")).private())
}

/// `GET /agendas`: the browser's own agenda, or how to start one.
async fn my_agenda(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    if let Some(t) = security::agenda_token(&req, &state) {
        let hash = t.hash();
        match store(&state, move |s| s.agenda(&hash)).await? {
            Ok(_) => {
                return Ok(security::see_other(
                    &format!("/agendas/{}", t.expose()),
                    Privacy::Agenda,
                )
                .finish())
            }
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
async fn agenda(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let t = agenda_token(&path)?;
    let hash = t.hash();
    let view = state
        .db(move |s| s.agenda(&hash))
        .await
        .map_err(|e| PageError::from(e).private())?;
    let csrf = csrf(&req, &state)?;

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
        let mut card = SessionCard::new(s, conf, &state.base_url, true);
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
    let manage_path = format!("/agendas/{}", t.expose());
    // The reminder form sends an empty `alarm` for none: tidy the URL.
    let query = drop_empty(req.query_string());
    if query != req.query_string() {
        return Ok(
            security::see_other(&with_query(&manage_path, &query), Privacy::Agenda).finish(),
        );
    }
    let options = FeedOptions::from_options_query(&query)
        .map_err(|e| PageError::from(ApiError::unreadable(e)).private())?;
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
        layout: Layout::new(name.clone()),
        count_label: format!("{} starred", plural(view.sessions.len(), "session")),
        conflicts: found.len(),
        days,
        sub_heading: "Subscribe to your agenda",
        sub_intro: "These links are private: anyone who has them can read your agenda. Calendar:",
        sub,
        csrf: csrf.token.clone(),
        new_token: AgendaToken::generate()
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .expose()
            .to_owned(),
        back: manage_path.clone(),
        star_action: format!("{manage_path}/stars"),
        manage_path,
        name,
    };
    Ok(html(render(&page)?, &csrf, &state, Privacy::Agenda))
}

// ------------------------------------------------------------------ forms

/// A form body (`application/x-www-form-urlencoded`), first value per key.
async fn read_form(payload: web::Payload) -> Result<HashMap<String, String>, PageError> {
    let body = read_body(payload, 16 * 1024).await?;
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(&body) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    Ok(out)
}

/// The CSRF check every state-changing form passes first: 403 otherwise.
/// A form whose CSRF inputs pass: what the head shows (the `Origin`, the
/// security cookie) is checked before the body is read, the token in the
/// form after.
async fn read_checked_form(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
    privacy: Privacy,
) -> Result<HashMap<String, String>, PageError> {
    security::precheck_csrf(req, state).map_err(|m| {
        let mut e = PageError::forbidden(format!("This form cannot be accepted: {m}."));
        e.privacy = privacy;
        e
    })?;
    let form = read_form(payload).await?;
    check_csrf(req, state, &form, privacy)?;
    Ok(form)
}

fn check_csrf(
    req: &HttpRequest,
    state: &AppState,
    form: &HashMap<String, String>,
    privacy: Privacy,
) -> Result<(), PageError> {
    security::check_csrf(req, state, form.get("csrf").map(String::as_str)).map_err(|m| {
        let mut e = PageError::forbidden(format!("This form cannot be accepted: {m}."));
        e.privacy = privacy;
        e
    })
}

/// Which session a star form names, and whether to star or unstar it.
fn star_target(
    form: &HashMap<String, String>,
) -> Result<(ConferenceSlug, SessionId, bool), PageError> {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let starred = match get("action") {
        "star" => true,
        "unstar" => false,
        _ => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "The form must say whether to star or unstar.",
            ))
        }
    };
    Ok((
        conf_slug(get("conference"))?,
        session_id(get("session"))?,
        starred,
    ))
}

/// Where to send the browser after a star: the page the form was on (a
/// local path only), at the session's card.
fn back_to(form: &HashMap<String, String>, conf: &ConferenceSlug, id: &SessionId) -> String {
    match form.get("back").and_then(|b| security::local_path(b)) {
        Some(b) => format!("{b}#s-{id}"),
        None => format!("/conferences/{conf}/sessions/{id}"),
    }
}

/// `POST /agendas/star` (form: csrf, conference, session, action, back):
/// stars into the browser's agenda, creating it (and its cookie) when the
/// browser has none or the one it names is gone.
async fn star_from_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = read_checked_form(&req, &state, payload, Privacy::Public).await?;
    let (conf, id, starred) = star_target(&form)?;
    let location = back_to(&form, &conf, &id);

    let existing = security::agenda_token(&req, &state);
    let result = match &existing {
        Some(t) => {
            let (h, c, i) = (t.hash(), conf.clone(), id.clone());
            store(&state, move |s| s.set_star(&h, &c, &i, starred, Utc::now())).await?
        }
        None => Err(StoreError::AgendaNotFound),
    };
    let mut new_cookie = None;
    match result {
        Ok(_) => {}
        Err(StoreError::AgendaNotFound) if starred => {
            // Check the session first: no empty agenda for a bad form.
            let (c, i) = (conf.clone(), id.clone());
            state.db(move |s| s.session(&c, &i)).await?;
            state.limits.create_agenda(&req)?;
            let t = create_agenda(&state, None).await?;
            let (h, c, i) = (t.hash(), conf.clone(), id.clone());
            state
                .db(move |s| s.set_star(&h, &c, &i, true, Utc::now()))
                .await?;
            new_cookie = Some(security::agenda_cookie(&state, &t));
        }
        // Unstarring with no agenda: nothing is starred anyway.
        Err(StoreError::AgendaNotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let mut res = security::see_other(&location, Privacy::Public);
    if let Some(c) = new_cookie {
        res.append_header((header::SET_COOKIE, c));
    }
    Ok(res.finish())
}

/// `POST /agendas/{token}/stars`: the agenda page's unstar (and re-star)
/// buttons act on that agenda, whichever the cookie names.
async fn star_on_agenda(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let t = agenda_token(&path)?;
    let form = read_checked_form(&req, &state, payload, Privacy::Agenda).await?;
    let (conf, id, starred) = star_target(&form)?;
    let (h, c, i) = (t.hash(), conf.clone(), id.clone());
    state
        .db(move |s| s.set_star(&h, &c, &i, starred, Utc::now()))
        .await
        .map_err(|e| PageError::from(e).private())?;
    Ok(security::see_other(&format!("/agendas/{}", t.expose()), Privacy::Agenda).finish())
}

/// `POST /agendas/{token}/rotate`: a new token; the old one stops working.
///
/// The form carries the new token (`new_token`, a fresh one on every view
/// of the agenda page), so a browser that sends the form again because the
/// answer never came lands on the same new address, not on a 404 (see
/// [`crate::store::Store::rotate_agenda`]). A form without it (an older
/// page) gets a token picked here.
async fn rotate(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let old = agenda_token(&path)?;
    let form = read_checked_form(&req, &state, payload, Privacy::Agenda).await?;
    let new = match form.get("new_token").filter(|t| !t.is_empty()) {
        Some(raw) => proposed_token(raw, &old).map_err(|e| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                format!("This form cannot be used: {e}. Open the agenda page again."),
            )
            .private()
        })?,
        None => AgendaToken::generate().map_err(|e| ApiError::Internal(e.to_string()))?,
    };
    let (oh, nh) = (old.hash(), new.hash());
    state
        .db(move |s| s.rotate_agenda(&oh, &nh, Utc::now()))
        .await
        .map_err(|e| PageError::from(e).private())?;
    Ok(
        security::see_other(&format!("/agendas/{}", new.expose()), Privacy::Agenda)
            .append_header((header::SET_COOKIE, security::agenda_cookie(&state, &new)))
            .finish(),
    )
}

/// `POST /agendas/{token}/delete`
async fn delete(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let t = agenda_token(&path)?;
    read_checked_form(&req, &state, payload, Privacy::Agenda).await?;
    let hash = t.hash();
    state
        .db(move |s| s.delete_agenda(&hash))
        .await
        .map_err(|e| PageError::from(e).private())?;
    let mut res = security::see_other("/agendas", Privacy::Agenda);
    if security::agenda_token(&req, &state).as_ref() == Some(&t) {
        res.append_header((header::SET_COOKIE, security::clear_agenda_cookie(&state)));
    }
    Ok(res.finish())
}
