//! Compression of feed bodies, gzip and brotli, in fixed settings and in
//! fixed chunks: streamed to the first client that asks for a coding (its
//! first bytes leave after one chunk's work) or made in one go, the bytes,
//! and so the ETag, are the same.

use std::io::Write;

use bytes::Bytes;

use super::representation::{Rendered, Variant};

/// gzip level 6 and brotli quality 5: within a few percent of the best
/// ratio at a fraction of the cost, and fixed, so a variant's bytes (and
/// ETag) depend only on the body.
const GZIP_LEVEL: u32 = 6;
const BROTLI_QUALITY: u32 = 5;

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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::super::cache::tests::{key, rendered};
    use super::super::cache::FeedCache;
    use super::super::representation::strong_etag;
    use super::*;

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
        c.insert(key("a"), "v".into(), Some(1), a.clone());
        assert_eq!(c.bytes(), plain);
        a.variant(Variant::Gzip);
        assert_eq!(c.bytes(), plain + gz, "gzip counted when made");
        a.variant(Variant::Brotli);
        assert_eq!(c.bytes(), plain + gz + br);
        // Streaming the variant counts it too, once it is whole.
        let b = rendered(&text);
        c.insert(key("b"), "v".into(), Some(1), b.clone());
        assert_eq!(c.bytes(), limit, "both fit");
        actix_web::rt::System::new().block_on(async {
            use futures_util::StreamExt;
            let mut s = std::pin::pin!(b.clone().stream(Variant::Gzip));
            while s.next().await.is_some() {}
        });
        // b's gzip takes the two past the limit: a, the least recently
        // used, went.
        assert!(c.get(&key("a"), "v", Some(1)).is_none());
        assert!(c.get(&key("b"), "v", Some(1)).is_some());
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
