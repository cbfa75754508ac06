//! Short, stable addresses for feeds whose filter makes a long URL.
//!
//! Google Calendar silently fails to subscribe to a URL longer than 256
//! characters, and a feed of five rooms, two days and a search is longer
//! than that. Such a feed gets `/feeds/{code}.ics`, where the code is a
//! digest of the conference and the canonical query: the same feed always
//! gets the same code, on every page view and every replica, and the row
//! that maps it back never changes once written.

use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use super::queries::conference_by_slug;
use super::{Store, StoreError};
use crate::domain::ConferenceSlug;

/// At most this many short addresses per conference: they are made on page
/// views, so an anonymous client inventing filters must not fill the disk.
/// Far more than the filter combinations real people subscribe to.
pub const MAX_FEED_LINKS: i64 = 10_000;

/// Characters in a code: 16 of base32, 80 bits of SHA-256, so two feeds
/// sharing a code is out of reach (and detected if it happened).
const CODE_LEN: usize = 16;

/// The code of a conference's feed with this canonical query.
pub fn feed_code(slug: &ConferenceSlug, query: &str) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let digest = Sha256::digest(format!("{slug}?{query}").as_bytes());
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = String::with_capacity(CODE_LEN);
    for &b in digest.iter() {
        bits = (bits << 8) | u32::from(b);
        n += 8;
        while n >= 5 && out.len() < CODE_LEN {
            n -= 5;
            out.push(ALPHABET[((bits >> n) & 31) as usize] as char);
        }
        if out.len() == CODE_LEN {
            break;
        }
    }
    out
}

/// Whether `s` has the shape of a code (so a lookup of anything else is a
/// plain 404 without touching the database).
pub fn is_feed_code(s: &str) -> bool {
    s.len() == CODE_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
}

impl Store {
    /// The short code for a conference's feed with canonical `query`,
    /// recorded so that [`Store::feed_link`] finds it. Idempotent.
    pub fn ensure_feed_link(
        &self,
        slug: &ConferenceSlug,
        query: &str,
    ) -> Result<String, StoreError> {
        let code = feed_code(slug, query);
        let conn = self.conn()?;
        let (conf_id, _) = conference_by_slug(&conn, slug)?;
        let existing: Option<(i64, String)> = conn
            .prepare_cached("SELECT conference_id, query FROM feed_links WHERE code = ?1")?
            .query_row([&code], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match existing {
            Some((id, q)) if id == conf_id && q == query => return Ok(code),
            Some(_) => {
                return Err(StoreError::Corrupt(format!(
                    "feed code {code} already names another feed"
                )))
            }
            None => {}
        }
        drop(conn);
        // Count and insert in one statement: concurrent page views cannot
        // push the table past its cap together.
        let inserted = self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO feed_links (code, conference_id, query, created)
                     SELECT ?1, ?2, ?3, unixepoch()
                     WHERE (SELECT count(*) FROM feed_links WHERE conference_id = ?2) < ?4",
                )?
                .execute(params![code, conf_id, query, MAX_FEED_LINKS])?)
        })?;
        if inserted == 0 && self.feed_link(&code)?.is_none() {
            return Err(StoreError::Limit(format!(
                "this conference already has {MAX_FEED_LINKS} short feed addresses"
            )));
        }
        Ok(code)
    }

    /// The conference and canonical query a code stands for.
    pub fn feed_link(&self, code: &str) -> Result<Option<(ConferenceSlug, String)>, StoreError> {
        let row: Option<(String, String)> = self
            .conn()?
            .prepare_cached(
                "SELECT c.slug, l.query FROM feed_links l
                 JOIN conferences c ON c.id = l.conference_id WHERE l.code = ?1",
            )?
            .query_row([code], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(slug, query)| {
            let slug = ConferenceSlug::parse(&slug).map_err(StoreError::Corrupt)?;
            Ok((slug, query))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_short_and_distinct() {
        let slug = ConferenceSlug::parse("pycon-us-2012").unwrap();
        let a = feed_code(&slug, "room=E1&room=E2");
        assert_eq!(a, feed_code(&slug, "room=E1&room=E2"));
        assert_eq!(a.len(), CODE_LEN);
        assert!(is_feed_code(&a), "{a}");
        assert_ne!(a, feed_code(&slug, "room=E1"));
        let other = ConferenceSlug::parse("pycon-us-2013").unwrap();
        assert_ne!(a, feed_code(&other, "room=E1&room=E2"));
        assert!(!is_feed_code("ABCDEFGHIJKLMNOP"));
        assert!(!is_feed_code("abc"));
        assert!(!is_feed_code("abcdefghijklmno1"));
    }
}
