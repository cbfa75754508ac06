//! [`HttpError`]: the one error of the HTTP layer, whoever asked (the JSON
//! API, a feed, a page), and how each kind answers.
//!
//! The policy:
//!
//! - **Bad input is the client's, and says so**: 400 when the request
//!   cannot be read (a bad query value, malformed JSON), 422 when it reads
//!   but breaks a rule of the data (end before start), 413 for a body over
//!   the limit, each with the field at fault. Never a 500, never a change
//!   half applied (the store's writes are single transactions).
//! - **Not found is typed** ([`Missing`]): a conference, a session, an
//!   agenda, a short feed address or a page. The JSON `field` comes from the
//!   kind, and so does the one security control that depends on an error:
//!   the unknown-token rate limit counts exactly the answers that are
//!   [`Missing::Agenda`] (unknown, malformed, rotated and deleted tokens
//!   alike, so none can be told apart).
//! - **Busy is worth a retry**: a database held by another writer or a
//!   search past its deadline is 503 with `Retry-After`; a disk that cannot
//!   be written is 503 without (an operator must act).
//! - **Faults are ours, and stay ours**: an internal error keeps its source
//!   error, which is logged with its causes; the client gets a generic 500
//!   that never shows SQL, paths or secrets.
//! - **Secrets never appear**: no message repeats an agenda token or the
//!   admin token.
//!
//! Every error is a JSON body `{"error": "...", "field": "..."}`, except on
//! the pages, which answer the same status as an HTML page (see
//! [`super::pages::PageError`]); errors actix makes by itself are put in
//! this shape by [`framework_errors`].

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::ValidationError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// A request that cannot be read: bad query values, malformed JSON.
    #[error("{message}")]
    BadRequest {
        field: Option<String>,
        message: String,
    },
    /// Well-formed input that breaks a rule of the data (end before start).
    #[error("{message}")]
    Unprocessable {
        field: Option<String>,
        message: String,
    },
    #[error("{message}")]
    NotFound { what: Missing, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    TooManyRequests { retry_after: u64, message: String },
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 503: the database is busy (another writer holds the lock: worth a
    /// retry after `retry_after` seconds) or cannot be written (no
    /// `retry_after`: an operator must act).
    #[error("{message}")]
    Unavailable {
        retry_after: Option<u64>,
        message: String,
    },
    /// A fault of ours, with its cause for the log (never for the client).
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An error that actix answered by itself (an extractor, the Compress
    /// middleware), put in our shape by [`framework_errors`]; also the few
    /// statuses of ours with no kind of their own (a body that timed out,
    /// a followed source that changed while it was fetched).
    #[error("{message}")]
    Framework {
        status: StatusCode,
        field: Option<&'static str>,
        message: String,
    },
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl HttpError {
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        HttpError::BadRequest {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    pub fn not_found(what: Missing, message: impl Into<String>) -> Self {
        HttpError::NotFound {
            what,
            message: message.into(),
        }
    }

    /// A fault of ours, keeping `cause` for the log.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        HttpError::Internal(cause.into())
    }

    /// [`HttpError::internal`] with what was being done: `template: …`.
    pub fn internal_in(
        doing: &'static str,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        HttpError::Internal(Box::new(Failed {
            doing,
            cause: Box::new(cause),
        }))
    }

    /// A rule broken by a request body or document.
    pub fn invalid(e: ValidationError) -> Self {
        HttpError::Unprocessable {
            field: non_empty(e.field),
            message: e.message,
        }
    }

    /// A query string or JSON that cannot be read.
    pub fn unreadable(e: ValidationError) -> Self {
        HttpError::BadRequest {
            field: non_empty(e.field),
            message: e.message,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            HttpError::BadRequest { field, .. } | HttpError::Unprocessable { field, .. } => {
                field.as_deref()
            }
            HttpError::NotFound { what, .. } => what.field(),
            HttpError::Unauthorized(_) | HttpError::Forbidden(_) => Some("authorization"),
            HttpError::PayloadTooLarge { .. } => Some("body"),
            HttpError::TooManyRequests { .. } | HttpError::Unavailable { .. } => None,
            HttpError::Internal(_) => None,
            HttpError::Framework { field, .. } => *field,
        }
    }
}

/// What was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Conference,
    Session,
    /// An agenda token: unknown, malformed, rotated or deleted alike.
    Agenda,
    /// A short feed address (`/feeds/{code}.ics`).
    Feed,
    /// The followed source of a conference that follows none.
    Source,
    /// Any other path.
    Page,
}

impl Missing {
    /// The JSON `field` of the answer: the part of the request at fault.
    pub fn field(self) -> Option<&'static str> {
        match self {
            Missing::Conference => Some("conference"),
            Missing::Session => Some("session"),
            Missing::Agenda => Some("token"),
            Missing::Feed => Some("feed"),
            Missing::Source => Some("source"),
            Missing::Page => None,
        }
    }
}

/// An internal error's cause and what was being done when it happened.
#[derive(Debug, thiserror::Error)]
#[error("{doing}: {cause}")]
struct Failed {
    doing: &'static str,
    #[source]
    cause: Box<dyn std::error::Error + Send + Sync>,
}

/// An error and its causes, for the log: each cause that its error's own
/// message does not already show is added after a colon.
pub fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConferenceNotFound(slug) => {
                HttpError::not_found(Missing::Conference, format!("no conference {slug:?}"))
            }
            StoreError::SessionNotFound {
                conference,
                session,
            } => HttpError::not_found(
                Missing::Session,
                format!("no session {session:?} in conference {conference:?}"),
            ),
            StoreError::AgendaNotFound => HttpError::not_found(Missing::Agenda, "no such agenda"),
            StoreError::Limit(message) => HttpError::Unprocessable {
                field: None,
                message,
            },
            StoreError::TokenInUse => HttpError::Unprocessable {
                field: Some("token".into()),
                message: StoreError::TokenInUse.to_string(),
            },
            StoreError::Busy(cause) => {
                tracing::warn!(%cause, "database busy: answered 503");
                HttpError::Unavailable {
                    retry_after: Some(BUSY_RETRY_AFTER_SECS),
                    message: if cause == crate::store::DEADLINE_PASSED {
                        "the search took too long: narrow it, or try again shortly".into()
                    } else if cause.starts_with(crate::store::CONNECTION_LOST) {
                        "the connection to the database was lost: try again shortly".into()
                    } else {
                        "the database is busy with another write: try again shortly".into()
                    },
                }
            }
            StoreError::Storage(cause) => {
                tracing::error!(%cause, "database cannot be written: answered 503");
                HttpError::Unavailable {
                    retry_after: None,
                    message: "the database cannot be written at the moment".into(),
                }
            }
            StoreError::Unhealthy(message) => HttpError::Unavailable {
                retry_after: None,
                message,
            },
            other => HttpError::internal(other),
        }
    }
}

/// `Retry-After` of a 503 for a busy database: a write queued behind
/// another usually gets through a second later.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

impl From<actix_web::error::BlockingError> for HttpError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        HttpError::internal(e)
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        match self {
            HttpError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            HttpError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            HttpError::NotFound { .. } => StatusCode::NOT_FOUND,
            HttpError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            HttpError::Forbidden(_) => StatusCode::FORBIDDEN,
            HttpError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            HttpError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            HttpError::Framework { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let HttpError::Internal(cause) = self {
            tracing::error!(cause = %with_causes(cause.as_ref()), "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        match self {
            HttpError::Unauthorized(_) => {
                res.insert_header(("WWW-Authenticate", "Bearer"));
            }
            HttpError::TooManyRequests { retry_after, .. }
            | HttpError::Unavailable {
                retry_after: Some(retry_after),
                ..
            } => {
                res.insert_header(("Retry-After", retry_after.to_string()));
            }
            HttpError::NotFound {
                what: Missing::Agenda,
                ..
            } => {
                res.extensions_mut().insert(super::ratelimit::UnknownToken);
            }
            _ => {}
        }
        res.insert_header(("Cache-Control", "no-store"))
            .json(ErrorBody {
                error: self.to_string(),
                field: self.field(),
            })
    }
}

impl From<JsonPayloadError> for HttpError {
    fn from(e: JsonPayloadError) -> Self {
        match e {
            JsonPayloadError::OverflowKnownLength { limit, .. }
            | JsonPayloadError::Overflow { limit } => HttpError::PayloadTooLarge { limit },
            JsonPayloadError::ContentType => {
                HttpError::bad_request("content-type", "the body must be application/json")
            }
            other => HttpError::bad_request("body", format!("cannot read the body: {other}")),
        }
    }
}

impl From<UrlencodedError> for HttpError {
    fn from(e: UrlencodedError) -> Self {
        match e {
            UrlencodedError::Overflow { limit, .. } => HttpError::PayloadTooLarge { limit },
            other => HttpError::bad_request("body", format!("cannot read the form: {other}")),
        }
    }
}

impl From<QueryPayloadError> for HttpError {
    fn from(e: QueryPayloadError) -> Self {
        HttpError::bad_request("query", format!("cannot read the query: {e}"))
    }
}

/// A path that does not fit its route is no such page, as actix has it.
impl From<PathError> for HttpError {
    fn from(_: PathError) -> Self {
        HttpError::not_found(Missing::Page, "no such page")
    }
}

/// Middleware (actix's [`ErrorHandlers`]), outside Compress: an error
/// response that is neither our JSON nor one of the pages' HTML error
/// pages was made by actix itself, empty or as plain text (Compress's 406
/// is `br, gzip, deflate`). It is answered again in our JSON shape, with
/// the same status and the fields that explain it (`Allow`, `Retry-After`,
/// `Vary`). Extractor errors never get here: [`crate::http::extractors`]
/// turns them into [`HttpError`]s where they happen.
///
/// (Errors actix-http writes before any application code sees the
/// request, a request line it cannot parse (400), a head too large (431)
/// or too slow (408), have no hook in actix-http: the connection's writes
/// are watched for them instead, see [`super::head_errors`].)
pub fn framework_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(as_json)
}

fn ours(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"))
}

fn as_json<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if ours(res.headers()) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (field, message) = match status {
        StatusCode::NOT_ACCEPTABLE => (
            Some("accept-encoding"),
            "no content coding this server has is acceptable: it sends br, gzip or none \
             (identity)"
                .to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (Some("body"), "the request body is too large".into()),
        s => (
            None,
            s.canonical_reason().unwrap_or("error").to_ascii_lowercase(),
        ),
    };
    let (req, old) = res.into_parts();
    let mut new = HttpError::Framework {
        status,
        field,
        message,
    }
    .error_response();
    for name in [header::ALLOW, header::RETRY_AFTER, header::VARY] {
        for v in old.headers().get_all(&name) {
            new.headers_mut().append(name.clone(), v.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use actix_web::http::StatusCode;
    use actix_web::{test, web, App, HttpResponse};
    use serde_json::Value;

    #[actix_web::test]
    async fn extractor_and_framework_errors_answer_in_our_shape() {
        let app = test::init_service(
            App::new()
                .wrap(super::framework_errors())
                .configure(|c| crate::http::extractors(c, 16))
                .route(
                    "/json",
                    web::post().to(|_: web::Json<Value>| async { HttpResponse::Ok().finish() }),
                )
                .route(
                    "/query",
                    web::get().to(|_: web::Query<HashMap<String, u32>>| async {
                        HttpResponse::Ok().finish()
                    }),
                )
                .route(
                    "/plain",
                    web::get().to(|| async {
                        HttpResponse::MethodNotAllowed()
                            .insert_header(("Allow", "GET, HEAD"))
                            .body("method not allowed, in text")
                    }),
                )
                .route(
                    "/page",
                    web::get().to(|| async {
                        HttpResponse::NotFound()
                            .content_type("text/html; charset=utf-8")
                            .body("<p>an HTML error page</p>")
                    }),
                ),
        )
        .await;
        let json = |ct: &str, body: &'static [u8]| {
            test::TestRequest::post()
                .uri("/json")
                .insert_header(("Content-Type", ct.to_owned()))
                .set_payload(body)
                .to_request()
        };
        for (req, status, field) in [
            (
                json("application/json", b"[1, 2, 3, 4, 5, 6, 7, 8, 9]"),
                StatusCode::PAYLOAD_TOO_LARGE,
                "body",
            ),
            (
                json("application/json", b"{"),
                StatusCode::BAD_REQUEST,
                "body",
            ),
            (
                json("text/plain", b"{}"),
                StatusCode::BAD_REQUEST,
                "content-type",
            ),
            (
                test::TestRequest::get().uri("/query?n=many").to_request(),
                StatusCode::BAD_REQUEST,
                "query",
            ),
        ] {
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), status);
            let body: Value = test::read_body_json(res).await;
            assert_eq!(body["field"], field, "{body}");
            assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
        }
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/plain").to_request()).await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(res.headers().get("allow").unwrap(), "GET, HEAD");
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["error"], "method not allowed");
        // Our own HTML error pages stay as they are.
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/page").to_request()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            test::read_body(res).await,
            web::Bytes::from_static(b"<p>an HTML error page</p>")
        );
    }
}

#[cfg(test)]
mod kinds {
    use actix_web::ResponseError;

    use super::{with_causes, HttpError, Missing};
    use crate::http::ratelimit::UnknownToken;

    #[test]
    fn not_found_answers_name_the_kind_and_only_agendas_count_as_unknown_tokens() {
        for (what, field) in [
            (Missing::Conference, Some("conference")),
            (Missing::Session, Some("session")),
            (Missing::Agenda, Some("token")),
            (Missing::Feed, Some("feed")),
            (Missing::Source, Some("source")),
            (Missing::Page, None),
        ] {
            let e = HttpError::not_found(what, "gone");
            assert_eq!(e.field(), field);
            let counted = e
                .error_response()
                .extensions()
                .get::<UnknownToken>()
                .is_some();
            assert_eq!(counted, what == Missing::Agenda, "{what:?}");
        }
        // A 422 about a proposed token names the field `token` too, and is
        // not an unknown token.
        let e = HttpError::invalid(crate::domain::ValidationError::new("token", "too short"));
        assert_eq!(e.field(), Some("token"));
        assert!(e
            .error_response()
            .extensions()
            .get::<UnknownToken>()
            .is_none());
    }

    #[test]
    fn internal_errors_keep_their_causes_for_the_log() {
        let e = HttpError::internal_in("template", std::io::Error::other("disk gone"));
        assert_eq!(e.to_string(), "internal error", "nothing for the client");
        assert!(std::error::Error::source(&e).is_some());
        let HttpError::Internal(cause) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(with_causes(cause.as_ref()), "template: disk gone");
        // A cause its error's message does not show is added, once.
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        assert_eq!(
            with_causes(&Outer(std::io::Error::other("inner"))),
            "outer: inner"
        );
    }
}
