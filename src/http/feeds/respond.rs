//! The answer to a feed request: 200 with the calendar in the best coding
//! the client takes (streamed as it is compressed, the first time a coding
//! is asked for), or 304 when the client's copy is current.

use std::sync::Arc;
use std::time::SystemTime;

use actix_web::http::header::{self, HttpDate};
use actix_web::http::Version;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};

use super::conditional::{not_modified, settled_last_modified};
use super::representation::{Rendered, Variant};
use crate::http::protocol::is_head;
use crate::http::HttpError;

/// Answers 200 with the rendering (a calendar, or a schedule export) in the
/// best coding the client takes, or 304 when its copy is current.
pub async fn respond(
    req: &HttpRequest,
    r: Arc<Rendered>,
    cache_control: &'static str,
) -> Result<HttpResponse, HttpError> {
    let variant = Variant::negotiate(req);
    let etag = r.etag_of(variant);
    let now = HttpDate::from(SystemTime::now());
    let modified = settled_last_modified(r.last_modified, SystemTime::from(now));
    let fresh = not_modified(req, &etag, modified);
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    // Date is set here, from the clock reading Last-Modified was judged
    // by, so the two can never disagree (actix's own Date is a cached
    // reading up to half a second old).
    res.insert_header((header::DATE, now));
    if let Some(modified) = modified {
        res.insert_header((header::LAST_MODIFIED, HttpDate::from(modified)));
    }
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header((header::VARY, "Accept-Encoding"));
    if fresh {
        return Ok(res.finish());
    }
    if let Some(enc) = variant.content_encoding() {
        res.insert_header((header::CONTENT_ENCODING, enc.as_str()));
    }
    res.insert_header((header::CONTENT_TYPE, r.content_type))
        .insert_header((header::CONTENT_DISPOSITION, r.disposition.clone()));
    let head = is_head(req);
    if !r.has(variant) && req.version() < Version::HTTP_11 && !head {
        // An HTTP/1.0 client cannot take the chunked stream below: compress
        // the whole variant first (it is kept, as the stream would keep it),
        // and send it with its length.
        let r2 = r.clone();
        web::block(move || r2.variant(variant)).await?;
    }
    if r.has(variant) {
        // The cached body itself: it goes out in slices of it, however
        // large (see `crate::http::stream`), never as a copy per client.
        Ok(res.body(r.variant(variant)))
    } else if head {
        // The GET would stream (no length known yet); so does HEAD, without
        // compressing anything.
        Ok(res.streaming(futures_util::stream::empty::<Result<Bytes, std::io::Error>>()))
    } else {
        // First request for this coding since the render: stream it as it
        // is compressed (the cache keeps the result for the next ones).
        Ok(res.streaming(r.stream(variant)))
    }
}
