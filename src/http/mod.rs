//! HTTP: routes, request parsing and responses. Handlers parse input into
//! domain types, run store calls on the blocking pool, and render.
//!
//! - [`api`]: the read-only JSON API
//! - [`admin`]: the admin API (schedule sync, imports of published
//!   schedules, session upsert/cancel), and [`auth`]: the admin token,
//!   checked before the body is read
//! - [`sources`]: the admin API of followed sources (set, show, sync now,
//!   stop following)
//! - [`agendas`]: personal agendas by secret token
//! - [`feeds`]: everything that serves a feed: the `.ics` endpoints (the
//!   agenda feed included), the cache of rendered feeds by data version,
//!   their compressed variants and ETags, conditional requests
//! - [`changes`]: what changed, as Atom feeds (a conference's, an
//!   agenda's) and in the API, and one change in words for the pages too
//! - [`exports`]: `schedule.xml` and `schedule.json` for schedule apps,
//!   served through the feeds' cache and revalidation
//! - [`pages`]: the server-rendered HTML (templates in `templates/`)
//! - [`ops`]: `/healthz` and `/metrics`
//! - [`protocol`], [`body`], [`ratelimit`], [`logging`]: middleware (HEAD,
//!   HTTP/1.0 framing, representations kept whole; the request body's
//!   deadline; rate limits; the request log)
//! - [`extract`]: the conference and session a URL names, as extractors
//! - [`error`]: [`HttpError`], the one error type, and its JSON body
//! - [`server`]: the HTTP/1 server, which answers `Expect: 100-continue`
//!   only once the app has looked at the request head, and
//!   [`head_errors`]: JSON bodies for the errors actix-http writes itself
//! - [`stream`]: large bodies in slices of one copy, and the send timeout
//!   that frees a connection whose client stopped reading

pub mod admin;
pub mod agendas;
pub mod api;
pub mod auth;
pub mod body;
pub mod changes;
pub mod error;
pub mod exports;
pub mod extract;
pub mod feeds;
pub mod head_errors;
pub mod logging;
pub mod ops;
pub mod pages;
pub mod protocol;
pub mod ratelimit;
pub mod server;
pub mod sources;
pub mod stream;

use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use futures_util::StreamExt;

pub use error::{HttpError, Missing};

use crate::config::Secret;
use crate::domain::{ConferenceSlug, SessionId, Site};
use crate::store::Store;

/// Shared by every handler.
pub struct AppState {
    pub store: Store,
    /// The public base URL and the UIDs' host.
    pub site: Site,
    pub admin_token: Option<Secret>,
    pub body_limit: usize,
    /// Longest the reading of a request body may take (see [`body`]).
    pub body_timeout: std::time::Duration,
    /// Rendered feeds by data version.
    pub feeds: feeds::FeedCache,
    pub limits: ratelimit::Limits,
    /// Bytes of bodies made for one client and not yet sent (see
    /// [`stream::SendBudget`]).
    pub send_budget: std::sync::Arc<stream::SendBudget>,
}

impl AppState {
    /// Runs a store call on actix's blocking thread pool: rusqlite blocks,
    /// and a blocked async worker would stall every request it serves.
    pub async fn db<R, F>(&self, f: F) -> Result<R, HttpError>
    where
        F: FnOnce(&Store) -> Result<R, crate::store::StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let store = self.store.clone();
        Ok(web::block(move || f(&store)).await??)
    }
}

/// The route table. Every GET route answers HEAD too, by
/// [`protocol::head_as_get`] in front of it: no route names HEAD.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .route("/conferences", web::get().to(api::conferences))
            .route("/conferences/{conf}", web::get().to(api::conference))
            .route("/conferences/{conf}", web::put().to(admin::put_schedule))
            .route(
                "/conferences/{conf}/import",
                web::post().to(admin::import_schedule),
            )
            .route("/conferences/{conf}/source", web::put().to(sources::put))
            .route("/conferences/{conf}/source", web::get().to(sources::show))
            .route(
                "/conferences/{conf}/source",
                web::delete().to(sources::delete),
            )
            .route(
                "/conferences/{conf}/source/sync",
                web::post().to(sources::sync),
            )
            .route("/conferences/{conf}/sessions", web::get().to(api::sessions))
            .route(
                "/conferences/{conf}/changes",
                web::get().to(changes::api_changes),
            )
            .route(
                "/conferences/{conf}/sessions/{id}",
                web::get().to(api::session),
            )
            .route(
                "/conferences/{conf}/sessions/{id}",
                web::put().to(admin::put_session),
            )
            .route(
                "/conferences/{conf}/sessions/{id}",
                web::delete().to(admin::cancel_session),
            )
            .route("/agendas", web::post().to(agendas::create))
            .route("/agendas/{token}", web::get().to(agendas::show))
            .route("/agendas/{token}", web::delete().to(agendas::delete))
            .route("/agendas/{token}/rotate", web::post().to(agendas::rotate))
            .route(
                "/agendas/{token}/sessions/{conf}/{id}",
                web::put().to(agendas::star),
            )
            .route(
                "/agendas/{token}/sessions/{conf}/{id}",
                web::delete().to(agendas::star),
            ),
    )
    .route("/agendas/{token}.ics", web::get().to(feeds::agenda_feed))
    .route(
        "/agendas/{token}/changes.atom",
        web::get().to(changes::agenda_atom),
    )
    .route("/feeds/{code}.ics", web::get().to(feeds::short_feed))
    .configure(pages::routes)
    .configure(ops::routes)
    .route(
        "/conferences/{conf}/sessions.ics",
        web::get().to(feeds::conference_feed),
    )
    .route(
        "/conferences/{conf}/sessions/{id}.ics",
        web::get().to(feeds::session_ics),
    )
    .route(
        "/conferences/{conf}/changes.atom",
        web::get().to(changes::conference_atom),
    )
    .route(
        "/conferences/{conf}/schedule.xml",
        web::get().to(exports::schedule_xml),
    )
    .route(
        "/conferences/{conf}/schedule.json",
        web::get().to(exports::schedule_json),
    )
    .default_service(web::to(not_found));
}

/// actix's extractors answer their own errors as plain text; these make
/// them [`HttpError`]s, our JSON, where they happen (a JSON body over the
/// limit is our 413 naming `body`). No route reads its body through them
/// today ([`read_body`] does); these keep any that will from answering in
/// another shape, and give `web::Json` the configured body limit.
pub fn extractors(cfg: &mut web::ServiceConfig, body_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(body_limit)
            .error_handler(|e, _| HttpError::from(e).into()),
    )
    .app_data(
        web::FormConfig::default()
            .limit(body_limit)
            .error_handler(|e, _| HttpError::from(e).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, _| HttpError::from(e).into()))
    .app_data(web::PathConfig::default().error_handler(|e, _| HttpError::from(e).into()));
}

async fn not_found() -> Result<HttpResponse, HttpError> {
    Err(HttpError::not_found(Missing::Page, "no such page"))
}

/// A conference slug from the URL. One that cannot exist is simply not found.
pub fn conf_slug(s: &str) -> Result<ConferenceSlug, HttpError> {
    ConferenceSlug::parse(s)
        .map_err(|_| HttpError::not_found(Missing::Conference, format!("no conference {s:?}")))
}

/// A conference slug an admin call writes to: one that cannot exist is a
/// bad request naming `conference` (the call would create it), not a 404.
pub fn new_conf_slug(s: &str) -> Result<ConferenceSlug, HttpError> {
    ConferenceSlug::parse(s).map_err(|_| {
        HttpError::bad_request(
            "conference",
            format!("{s:?} is not a valid conference slug"),
        )
    })
}

pub fn session_id(s: &str) -> Result<SessionId, HttpError> {
    SessionId::parse(s)
        .map_err(|_| HttpError::not_found(Missing::Session, format!("no session {s:?}")))
}

/// Reads a request body up to `limit` bytes; past it, 413 without reading
/// the rest into memory.
pub async fn read_body<P>(mut payload: P, limit: usize) -> Result<Bytes, HttpError>
where
    P: futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => HttpError::PayloadTooLarge { limit },
            actix_web::error::PayloadError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                HttpError::Framework {
                    status: actix_web::http::StatusCode::REQUEST_TIMEOUT,
                    field: Some("body"),
                    message: body::TIMED_OUT.into(),
                }
            }
            other => HttpError::bad_request("body", format!("cannot read the body: {other}")),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(HttpError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
