//! Rendered feeds, cached by what they were rendered from.
//!
//! A cache entry is filed under a key (which feed) and a *stamp* (the data
//! version it was rendered from: the conference's `version`, or for an
//! agenda its own change time plus its conferences' versions). A request
//! uses an entry only if its stamp equals the current one, read from the
//! database (one indexed lookup on the blocking pool). Writers bump versions
//! inside their transactions, so a change shows in the very next response:
//! nothing is ever served stale, and nothing needs invalidating.
//!
//! Most requests skip even that lookup: SQLite's `data_version` (read in
//! microseconds from shared memory, see [`crate::store::Store::data_version`])
//! changes on any commit by any connection or process, so an entry checked
//! at the current `data_version` is still current.
//!
//! Bodies are kept as `Bytes` (responses share them without copying), with
//! gzip and brotli variants compressed once, on first demand, and kept.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use lru::LruCache;

use actix_web::http::header::{AcceptEncoding, ContentEncoding, Encoding, Header};
use actix_web::web::Bytes;
use actix_web::HttpRequest;
use chrono::{DateTime, Utc};

use crate::domain::FeedOptions;

/// Which feed, rendered how: the feed options (alarms, compact) give other
/// bytes from the same data, so they are part of the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A conference feed with a canonical filter query.
    Conference {
        slug: String,
        filter: String,
        options: FeedOptions,
    },
    /// A single talk's `.ics`.
    Session {
        slug: String,
        id: String,
        options: FeedOptions,
    },
    /// An agenda feed, by token hash (never by token).
    Agenda {
        hash: [u8; 32],
        options: FeedOptions,
    },
    /// A conference's `schedule.xml` or `schedule.json` for schedule apps.
    Export {
        slug: String,
        format: crate::export::Format,
    },
}

/// A rendered feed and its validators.
pub struct Rendered {
    pub body: Bytes,
    /// Strong ETag of the identity body (quoted).
    pub etag: String,
    pub last_modified: DateTime<Utc>,
    pub disposition: String,
    /// Calendars unless said otherwise (see [`Rendered::with_content_type`]).
    pub content_type: &'static str,
    gzip: OnceLock<Bytes>,
    br: OnceLock<Bytes>,
    /// Set when the cache files it, so a variant added later is counted.
    ledger: OnceLock<Ledger>,
}

/// The media type of feeds.
pub const CALENDAR: &str = "text/calendar; charset=utf-8";

/// gzip level 6 and brotli quality 5: within a few percent of the best
/// ratio at a fraction of the cost, and fixed, so a variant's bytes (and
/// ETag) depend only on the body.
const GZIP_LEVEL: u32 = 6;
const BROTLI_QUALITY: u32 = 5;

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
}

/// The strong ETag (quoted) of an identity body: a 128-bit hash of it.
pub fn strong_etag(body: &[u8]) -> String {
    format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(body))
}

/// Input per compressed chunk. Compression always goes chunk by chunk
/// with a sync flush after each, whether the result is streamed to a client
/// (so the first bytes leave after one chunk, not after the whole body) or
/// computed in one go: either way the bytes, and so the ETag, are the same.
const CHUNK: usize = 64 * 1024;

/// A streaming compressor in the fixed settings above.
pub struct Chunked {
    body: Bytes,
    offset: usize,
    encoder: Option<Encoder>,
    /// Everything produced so far, kept to fill the cache at the end.
    produced: Vec<u8>,
}

enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
}

impl Chunked {
    fn new(body: Bytes, enc: Variant) -> Self {
        let encoder = match enc {
            Variant::Gzip => Some(Encoder::Gzip(flate2::write::GzEncoder::new(
                Vec::with_capacity(CHUNK),
                flate2::Compression::new(GZIP_LEVEL),
            ))),
            Variant::Brotli => Some(Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::with_capacity(CHUNK),
                CHUNK,
                BROTLI_QUALITY,
                22,
            )))),
            Variant::Identity => None,
        };
        Chunked {
            produced: Vec::with_capacity(body.len() / 4),
            body,
            offset: 0,
            encoder,
        }
    }

    /// The next piece of compressed output; `None` when done.
    pub fn next_chunk(&mut self) -> Option<Bytes> {
        let encoder = self.encoder.as_mut()?;
        let out = if self.offset < self.body.len() {
            let end = (self.offset + CHUNK).min(self.body.len());
            let input = &self.body[self.offset..end];
            self.offset = end;
            // Writing to and flushing into a Vec cannot fail.
            match encoder {
                Encoder::Gzip(e) => {
                    e.write_all(input).expect("in memory");
                    e.flush().expect("in memory");
                    std::mem::take(e.get_mut())
                }
                Encoder::Brotli(e) => {
                    e.write_all(input).expect("in memory");
                    e.flush().expect("in memory");
                    std::mem::take(e.get_mut())
                }
            }
        } else {
            match self.encoder.take()? {
                Encoder::Gzip(e) => e.finish().expect("in memory"),
                Encoder::Brotli(e) => e.into_inner(),
            }
        };
        self.produced.extend_from_slice(&out);
        Some(Bytes::from(out))
    }

    /// Everything produced; meaningful once `next_chunk` returned `None`.
    /// Exactly as large as it is long: the cache counts its length.
    fn into_produced(mut self) -> Bytes {
        self.produced.shrink_to_fit();
        Bytes::from(self.produced)
    }
}

/// `body` in `enc`, all at once (CPU work: large bodies belong on a
/// blocking thread). The same bytes as [`Rendered::stream`] sends.
pub fn compress(body: &Bytes, enc: Variant) -> Bytes {
    let mut c = Chunked::new(body.clone(), enc);
    while c.next_chunk().is_some() {}
    c.into_produced()
}

impl Rendered {
    fn slot(&self, enc: Variant) -> Option<&OnceLock<Bytes>> {
        match enc {
            Variant::Identity => None,
            Variant::Gzip => Some(&self.gzip),
            Variant::Brotli => Some(&self.br),
        }
    }

    /// The compressed body as a stream of chunks, for the first request of
    /// a coding: its first bytes go out after one chunk's work. When the
    /// stream ends, the whole variant is kept for later requests.
    pub fn stream(
        self: std::sync::Arc<Self>,
        enc: Variant,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        let state = (Chunked::new(self.body.clone(), enc), self, enc);
        futures_util::stream::unfold(Some(state), |state| async move {
            let (mut c, r, enc) = state?;
            if c.offset > 0 {
                // Let the server write what it has before compressing on:
                // a stream that is always ready would be buffered whole.
                actix_web::rt::task::yield_now().await;
            }
            match c.next_chunk() {
                Some(chunk) => Some((Ok(chunk), Some((c, r, enc)))),
                None => {
                    if let Some(slot) = r.slot(enc) {
                        if slot.set(c.into_produced()).is_ok() {
                            r.recharge();
                        }
                    }
                    None
                }
            }
        })
    }
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
    /// the settings above are fixed, the same body always gives the same
    /// compressed bytes.
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
    /// [`super::protocol::mark_final`]).
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

struct Entry {
    stamp: String,
    value: Arc<Rendered>,
    /// The bytes this entry is counted for in [`Inner::bytes`]: what
    /// [`Rendered::held`] said when it was last charged.
    weight: usize,
    /// The [`crate::store::Store::data_version`] at which this entry was
    /// last known current: while the probe still reads that number, no
    /// write has happened and the database need not be asked.
    verified_at: i64,
}

/// The map in recency order (the `lru` crate: a hash map threaded on a
/// linked list, so a use, an insert and an eviction are O(1); it replaced a
/// `HashMap` whose eviction scanned every entry for the oldest), and the
/// bytes its entries hold. The `lru` crate's own bound counts entries; ours
/// is in bytes, kept here.
struct Inner {
    map: LruCache<Key, Entry>,
    bytes: usize,
    max_bytes: usize,
}

impl Inner {
    fn remove(&mut self, key: &Key) {
        if let Some(old) = self.map.pop(key) {
            self.bytes -= old.weight;
        }
    }

    fn evict(&mut self) {
        while self.bytes > self.max_bytes {
            match self.map.pop_lru() {
                Some((_, e)) => self.bytes -= e.weight,
                None => break,
            }
        }
    }
}

/// What a cached [`Rendered`] needs to have a compressed variant counted
/// when it is added, after the entry was filed.
struct Ledger {
    key: Key,
    inner: Weak<Mutex<Inner>>,
}

/// Bytes an entry costs besides its bodies: the entry, the `Rendered`, its
/// strings and the map's own links (an estimate, on the high side).
const ENTRY_OVERHEAD: usize = 512;

/// A bounded map of rendered feeds; least recently used entries go first
/// when what they hold (bodies and every compressed variant) passes the
/// limit.
pub struct FeedCache {
    inner: Arc<Mutex<Inner>>,
    max_bytes: usize,
    pub hits: AtomicU64,
    pub renders: AtomicU64,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FeedCache {
    pub fn new(max_bytes: usize) -> Self {
        FeedCache {
            inner: Arc::new(Mutex::new(Inner {
                map: LruCache::unbounded(),
                bytes: 0,
                max_bytes,
            })),
            max_bytes,
            hits: AtomicU64::new(0),
            renders: AtomicU64::new(0),
        }
    }

    /// Bytes the cached entries hold now (never more than the limit).
    pub fn bytes(&self) -> usize {
        lock(&self.inner).bytes
    }

    /// The configured limit in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Entries cached now.
    pub fn len(&self) -> usize {
        lock(&self.inner).map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry for `key` if it is known current at `data_version`: no
    /// write at all has happened since it was checked.
    pub fn get_verified(&self, key: &Key, data_version: i64) -> Option<Arc<Rendered>> {
        let mut inner = lock(&self.inner);
        let entry = inner.map.peek(key)?;
        if entry.verified_at != data_version {
            return None;
        }
        let entry = inner.map.get(key)?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry.value.clone())
    }

    /// The entry for `key` if it was rendered from exactly `stamp` (read
    /// after `data_version`, so the entry is current at that version).
    pub fn get(&self, key: &Key, stamp: &str, data_version: i64) -> Option<Arc<Rendered>> {
        let mut inner = lock(&self.inner);
        let entry = inner.map.get_mut(key)?;
        if entry.stamp != stamp {
            // Stamps only move forward, so this entry can never be current
            // again: free it now rather than keep it through the re-render
            // (for a 100,000-session feed that is 150 MB).
            inner.remove(key);
            return None;
        }
        entry.verified_at = data_version;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry.value.clone())
    }

    /// Files a rendering under `stamp`. `data_version` must have been read
    /// before the data was: the entry is then at least as new as the
    /// database was at that version.
    pub fn insert(&self, key: Key, stamp: String, data_version: i64, value: Arc<Rendered>) {
        self.renders.fetch_add(1, Ordering::Relaxed);
        let weight = value.held();
        let mut inner = lock(&self.inner);
        inner.remove(&key);
        if weight > self.max_bytes {
            return;
        }
        // A rendering is filed once; one filed again (never today) keeps
        // reporting to its first entry, which is then simply not found.
        let _ = value.ledger.set(Ledger {
            key: key.clone(),
            inner: Arc::downgrade(&self.inner),
        });
        inner.map.put(
            key,
            Entry {
                stamp,
                value,
                weight,
                verified_at: data_version,
            },
        );
        inner.bytes += weight;
        inner.evict();
    }
}

impl Rendered {
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
    fn recharge(&self) {
        let Some(ledger) = self.ledger.get() else {
            return;
        };
        let Some(inner) = ledger.inner.upgrade() else {
            return;
        };
        let held = self.held();
        let mut inner = lock(&inner);
        let Some(entry) = inner.map.peek_mut(&ledger.key) else {
            return;
        };
        if !std::ptr::eq(Arc::as_ptr(&entry.value), self) {
            return;
        }
        let before = std::mem::replace(&mut entry.weight, held);
        inner.bytes = inner.bytes - before + held;
        if held > inner.max_bytes {
            inner.remove(&ledger.key);
        }
        inner.evict();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn rendered(body: &str) -> Arc<Rendered> {
        Arc::new(Rendered::new(
            Bytes::copy_from_slice(body.as_bytes()),
            Utc::now(),
            String::new(),
        ))
    }

    fn key(s: &str) -> Key {
        Key::Conference {
            slug: s.into(),
            filter: String::new(),
            options: FeedOptions::default(),
        }
    }

    #[test]
    fn options_are_part_of_the_key() {
        let c = FeedCache::new(1 << 20);
        c.insert(key("a"), "v1".into(), 7, rendered("plain"));
        let with_alarm = Key::Conference {
            slug: "a".into(),
            filter: String::new(),
            options: FeedOptions {
                alarm: Some(10),
                compact: false,
            },
        };
        assert!(c.get(&with_alarm, "v1", 7).is_none());
        assert!(c.get_verified(&with_alarm, 7).is_none());
        c.insert(with_alarm.clone(), "v1".into(), 7, rendered("alarmed"));
        assert_eq!(&c.get(&with_alarm, "v1", 7).unwrap().body[..], b"alarmed");
        assert_eq!(&c.get(&key("a"), "v1", 7).unwrap().body[..], b"plain");
    }

    #[test]
    fn stamps_decide() {
        let c = FeedCache::new(1 << 20);
        c.insert(key("a"), "v1".into(), 7, rendered("one"));
        assert!(c.get_verified(&key("a"), 7).is_some());
        assert!(c.get_verified(&key("a"), 8).is_none(), "a write happened");
        assert!(c.get(&key("a"), "v1", 8).is_some());
        assert!(c.get_verified(&key("a"), 8).is_some(), "checked again at 8");
        assert!(
            c.get(&key("a"), "v2", 9).is_none(),
            "another version is a miss"
        );
        assert!(c.get_verified(&key("a"), 9).is_none());
        assert!(c.get(&key("b"), "v1", 9).is_none());
        c.insert(key("a"), "v2".into(), 9, rendered("two"));
        assert_eq!(&c.get(&key("a"), "v2", 9).unwrap().body[..], b"two");
        assert!(c.get(&key("a"), "v1", 9).is_none());
    }

    #[test]
    fn evicts_least_recently_used_past_the_limit() {
        let one = rendered("aaaa").held();
        let c = FeedCache::new(2 * one + one / 2);
        c.insert(key("a"), "v".into(), 1, rendered("aaaa"));
        c.insert(key("b"), "v".into(), 1, rendered("bbbb"));
        assert!(c.get(&key("a"), "v", 1).is_some());
        c.insert(key("c"), "v".into(), 1, rendered("cccc"));
        assert!(
            c.get(&key("b"), "v", 1).is_none(),
            "b was least recently used"
        );
        assert!(c.get(&key("a"), "v", 1).is_some());
        assert!(c.get(&key("c"), "v", 1).is_some());
        assert_eq!(c.bytes(), 2 * one);
        c.insert(key("huge"), "v".into(), 1, rendered(&"x".repeat(3 * one)));
        assert!(c.get(&key("huge"), "v", 1).is_none(), "never cached");
        assert_eq!(c.bytes(), 2 * one);
    }

    #[test]
    fn compressed_variants_are_counted_as_they_are_added() {
        let text = "BEGIN:VEVENT\r\nSUMMARY:x\r\n".repeat(2_000);
        let plain = rendered(&text).held();
        let probe = rendered(&text);
        let (gz, br) = (
            probe.variant(Variant::Gzip).len(),
            probe.variant(Variant::Brotli).len(),
        );
        let limit = 2 * plain + gz + br;
        let c = FeedCache::new(limit);
        let a = rendered(&text);
        c.insert(key("a"), "v".into(), 1, a.clone());
        assert_eq!(c.bytes(), plain);
        a.variant(Variant::Gzip);
        assert_eq!(c.bytes(), plain + gz, "gzip counted when made");
        a.variant(Variant::Brotli);
        assert_eq!(c.bytes(), plain + gz + br);
        // Streaming the variant counts it too, once it is whole.
        let b = rendered(&text);
        c.insert(key("b"), "v".into(), 1, b.clone());
        assert_eq!(c.bytes(), limit, "both fit");
        actix_web::rt::System::new().block_on(async {
            use futures_util::StreamExt;
            let mut s = std::pin::pin!(b.clone().stream(Variant::Gzip));
            while s.next().await.is_some() {}
        });
        // b's gzip takes the two past the limit: a, the least recently
        // used, went.
        assert!(c.get(&key("a"), "v", 1).is_none());
        assert!(c.get(&key("b"), "v", 1).is_some());
        assert_eq!(c.bytes(), plain + gz);
        // A rendering no longer cached is no longer counted.
        drop(c);
        a.variant(Variant::Gzip);
    }

    #[test]
    fn variants_round_trip_and_have_their_own_tags() {
        // Several chunks' worth, so chunk boundaries are exercised.
        let r = rendered(&"BEGIN:VEVENT\r\nSUMMARY:é\r\n".repeat(20_000));
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&r.variant(Variant::Gzip)[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, r.body);
        let mut out = Vec::new();
        brotli::Decompressor::new(&r.variant(Variant::Brotli)[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, r.body);
        let tags = [
            r.etag_of(Variant::Identity),
            r.etag_of(Variant::Gzip),
            r.etag_of(Variant::Brotli),
        ];
        assert!(tags[1].ends_with("-gzip\"") && tags[2].ends_with("-br\""));
        assert_eq!(tags[0], strong_etag(&r.body));
        assert!(tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2]);
        // The streamed bytes are the bytes kept.
        let fresh = rendered(std::str::from_utf8(&r.body).unwrap());
        let mut stream = std::pin::pin!(fresh.clone().stream(Variant::Gzip));
        let mut streamed = Vec::new();
        actix_web::rt::System::new().block_on(async {
            use futures_util::StreamExt;
            while let Some(chunk) = stream.next().await {
                streamed.extend_from_slice(&chunk.unwrap());
            }
        });
        assert_eq!(streamed, r.variant(Variant::Gzip));
        assert!(fresh.has(Variant::Gzip), "the stream fills the cache");
        // Deterministic: the same body gives the same compressed bytes.
        assert_eq!(
            r.variant(Variant::Gzip),
            rendered(std::str::from_utf8(&r.body).unwrap()).variant(Variant::Gzip)
        );
    }
}
