//! A feed as it is served: its body, its strong ETag, its Last-Modified
//! and `Content-Disposition`, and its compressed variants, each made once
//! on first demand, kept, and tagged with an ETag of its own.

use std::sync::OnceLock;

use actix_web::http::header::{AcceptEncoding, ContentEncoding, Encoding, Header};
use actix_web::HttpRequest;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::cache::{Ledger, ENTRY_OVERHEAD};
use super::compress::compress;

/// A rendered feed and its validators.
pub struct Rendered {
    pub body: Bytes,
    /// Strong ETag of the identity body (quoted).
    pub etag: String,
    pub last_modified: DateTime<Utc>,
    pub disposition: String,
    /// Calendars unless said otherwise (see [`Rendered::with_content_type`]).
    pub content_type: &'static str,
    pub(super) gzip: OnceLock<Bytes>,
    pub(super) br: OnceLock<Bytes>,
    /// Set when the cache files it, so a variant added later is counted.
    pub(super) ledger: OnceLock<Ledger>,
}

/// The media type of feeds.
pub const CALENDAR: &str = "text/calendar; charset=utf-8";

impl Rendered {
    pub fn new(body: Bytes, last_modified: DateTime<Utc>, disposition: String) -> Self {
        Rendered {
            etag: strong_etag(&body),
            body,
            last_modified,
            disposition,
            content_type: CALENDAR,
            gzip: OnceLock::new(),
            br: OnceLock::new(),
            ledger: OnceLock::new(),
        }
    }

    /// The same rendering served as another media type: the schedule
    /// exports share the feeds' cache and revalidation.
    pub fn with_content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = content_type;
        self
    }

    /// True when the variant is ready (no compression work to do).
    pub fn has(&self, enc: Variant) -> bool {
        match enc {
            Variant::Identity => true,
            Variant::Gzip => self.gzip.get().is_some(),
            Variant::Brotli => self.br.get().is_some(),
        }
    }

    /// The body in `enc`, compressing it on first use (CPU work: call from
    /// a blocking thread when [`Rendered::has`] is false).
    pub fn variant(&self, enc: Variant) -> Bytes {
        match enc {
            Variant::Identity => self.body.clone(),
            Variant::Gzip | Variant::Brotli => {
                let slot = self.slot(enc).expect("a compressed coding");
                if let Some(b) = slot.get() {
                    return b.clone();
                }
                let made = compress(&self.body, enc);
                if slot.set(made.clone()).is_ok() {
                    self.recharge();
                }
                slot.get().cloned().unwrap_or(made)
            }
        }
    }

    /// The strong ETag of a variant: each content coding is its own
    /// representation with its own tag (RFC 9110 §8.8.3).
    pub fn etag_of(&self, enc: Variant) -> String {
        enc.etag(&self.etag)
    }

    pub(super) fn slot(&self, enc: Variant) -> Option<&OnceLock<Bytes>> {
        match enc {
            Variant::Identity => None,
            Variant::Gzip => Some(&self.gzip),
            Variant::Brotli => Some(&self.br),
        }
    }

    /// Bytes this rendering holds: its body, every compressed variant made
    /// so far, and a fixed estimate for the rest.
    pub fn held(&self) -> usize {
        ENTRY_OVERHEAD
            + self.body.len()
            + self.gzip.get().map_or(0, Bytes::len)
            + self.br.get().map_or(0, Bytes::len)
            + self.etag.len()
            + self.disposition.len()
    }

    /// A variant was just added: the cache entry holding this rendering (if
    /// any still does) is charged for it, and entries past the limit go.
    pub(super) fn recharge(&self) {
        if let Some(ledger) = self.ledger.get() {
            ledger.charge(self);
        }
    }
}

/// The strong ETag (quoted) of an identity body: a 128-bit hash of it.
pub fn strong_etag(body: &[u8]) -> String {
    format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(body))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Identity,
    Gzip,
    Brotli,
}

impl Variant {
    fn suffix(self) -> Option<&'static str> {
        match self {
            Variant::Identity => None,
            Variant::Gzip => Some("gzip"),
            Variant::Brotli => Some("br"),
        }
    }

    /// The tag of this coding of the body whose identity tag is
    /// `identity` (`"…"` → `"…-gzip"`): each coding is its own
    /// representation with its own strong tag (RFC 9110 §8.8.3), and since
    /// the compressor's settings are fixed (see [`mod@super::compress`]), the
    /// same body always gives the same compressed bytes.
    pub fn etag(self, identity: &str) -> String {
        match self.suffix() {
            None => identity.to_owned(),
            Some(s) => format!("{}-{s}\"", identity.trim_end_matches('"')),
        }
    }

    pub fn content_encoding(self) -> Option<ContentEncoding> {
        match self {
            Variant::Identity => None,
            Variant::Gzip => Some(ContentEncoding::Gzip),
            Variant::Brotli => Some(ContentEncoding::Brotli),
        }
    }

    /// The client's preferred coding among those we keep, by actix's own
    /// parser. Never one we do not keep: `deflate` alone gets identity (a
    /// third copy of every feed for clients that all take gzip too was not
    /// worth its memory; and the Compress middleware, which would deflate
    /// per request, never touches a tagged response, see
    /// [`crate::http::protocol::mark_final`]).
    pub fn negotiate(req: &HttpRequest) -> Variant {
        let Ok(accept) = AcceptEncoding::parse(req) else {
            return Variant::Identity;
        };
        let ours = [Encoding::brotli(), Encoding::gzip(), Encoding::identity()];
        match accept.negotiate(ours.iter()) {
            Some(e) if e == Encoding::brotli() => Variant::Brotli,
            Some(e) if e == Encoding::gzip() => Variant::Gzip,
            _ => Variant::Identity,
        }
    }
}
