//! HTTP semantics that every route gets without asking for them: the
//! middleware around the route table (see [`crate::startup`] for the
//! order). A new route cannot forget any of these.
//!
//! - [`head_as_get`]: HEAD is answered wherever GET is, with GET's header
//!   fields and no content (RFC 9110 §9.1, §9.3.2).
//! - [`mark_final`] and [`finish`]: a response that carries an ETag is a
//!   finished representation; the Compress middleware never re-encodes it
//!   under that tag (each coding we send has its own, see
//!   [`super::feeds::Variant`]).
//! - [`finish`]: HTTP/1.0 clients never get `Transfer-Encoding: chunked`
//!   (RFC 9112 §6.1); a body of unknown length goes to them
//!   close-delimited.
//! - [`if_none_match`]: revalidation as RFC 9110 §13.1.2 has it, for every
//!   handler that sends an ETag.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    EntityTag, Header, HeaderValue, IfNoneMatch, CONTENT_ENCODING, CONTENT_LENGTH, ETAG,
    IF_NONE_MATCH,
};
use actix_web::http::{ConnectionType, Method, Version};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, HttpRequest};

/// Marks a request that arrived as HEAD (its method now reads GET).
#[derive(Clone, Copy)]
struct Head;

/// Whether the client asked with HEAD: handlers may skip work whose only
/// product is content (a feed's first compression), never header fields.
pub fn is_head(req: &HttpRequest) -> bool {
    req.method() == Method::HEAD || req.extensions().get::<Head>().is_some()
}

/// Middleware, before routing: a HEAD request is routed and handled as the GET
/// it stands for, so it exists wherever GET does and gets the same status
/// and header fields; then the content is dropped, keeping its size so
/// `Content-Length` is GET's. (actix's own routes match HEAD only where a
/// route says so; the log and metrics, outside, still say HEAD.)
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, Bodiless>>, Error> {
    if req.method() != Method::HEAD {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    req.head_mut().method = Method::GET;
    req.extensions_mut().insert(Head);
    let res = next.call(req).await?;
    Ok(res.map_body(|_, body| EitherBody::right(Bodiless(body.size()))))
}

/// A body of the given size with no bytes: what a HEAD response carries,
/// so the server writes the framing GET would have had and sends nothing.
pub struct Bodiless(BodySize);

impl MessageBody for Bodiless {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        self.0
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(None)
    }
}

/// Stands in `Content-Encoding` for "these bytes are final" between
/// [`mark_final`] and [`finish`]: actix's Compress middleware leaves any
/// response with a `Content-Encoding` alone, and has no other switch.
const FINAL: &str = "identity";

/// Middleware, just inside Compress: a response with an ETag (a feed, an
/// asset, the JSON API) was encoded by its handler in the coding its tag
/// names (identity unless it says otherwise), so Compress must not encode
/// it again: per request, and under a tag naming other bytes.
pub async fn mark_final(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    if headers.contains_key(ETAG) && !headers.contains_key(CONTENT_ENCODING) {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(FINAL));
    }
    Ok(res)
}

/// Middleware, outside Compress: takes [`mark_final`]'s marker off again
/// (identity is never sent as a content coding, RFC 9110 §8.4.1), and
/// frames bodies of unknown length for HTTP/1.0 clients, which cannot read
/// chunked: actix would send them `Transfer-Encoding: chunked` (it decides
/// by the body alone), so such a body is sent close-delimited instead, the
/// connection closing after it (RFC 9112 §6.3). Handlers that know their
/// length (cached feeds, the JSON API) send it as usual.
pub async fn finish(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let old_client = req.version() < Version::HTTP_11;
    let mut res = next.call(req).await?;
    if res
        .headers()
        .get(CONTENT_ENCODING)
        .is_some_and(|v| v == FINAL)
    {
        res.headers_mut().remove(CONTENT_ENCODING);
    }
    if old_client
        && res.response().body().size() == BodySize::Stream
        && !res.headers().contains_key(CONTENT_LENGTH)
    {
        let head = res.response_mut().head_mut();
        head.no_chunking(true);
        head.set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}

/// RFC 9110 §13.1.2: whether `If-None-Match` names `etag`, the tag of the
/// representation this request selects (its coding included), by the weak
/// comparison the RFC prescribes for this header; `None` without the
/// header. Every field line counts: a list may be split over several
/// (RFC 9110 §5.3). Tags that do not parse match nothing. (actix's typed
/// header reads all lines and compares; it replaced our reading of the
/// first line only.)
pub fn if_none_match(req: &HttpRequest, etag: &str) -> Option<bool> {
    if !req.headers().contains_key(IF_NONE_MATCH) {
        return None;
    }
    let Ok(ours) = etag.parse::<EntityTag>() else {
        return Some(false);
    };
    Some(match IfNoneMatch::parse(req) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&ours)),
        Err(_) => false,
    })
}
