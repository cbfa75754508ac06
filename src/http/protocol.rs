//! HTTP semantics that every route gets without asking for them: the
//! middleware around the route table (see [`crate::startup`] for the
//! order). A new route cannot forget any of these.
//!
//! - [`head_as_get`]: HEAD is answered wherever GET is, with GET's header
//!   fields and no content (RFC 9110 §9.1, §9.3.2).
//! - [`finish`]: HTTP/1.0 clients never get `Transfer-Encoding: chunked`
//!   (RFC 9112 §6.1); a body of unknown length goes to them
//!   close-delimited.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_LENGTH;
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

/// Middleware, innermost: a HEAD request is routed and handled as the GET
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

/// Middleware, outside Compress: frames bodies of unknown length for
/// HTTP/1.0 clients, which cannot read
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
