//! Short, stable addresses for feeds whose filter makes a long URL.
//!
//! Google Calendar silently fails to subscribe to a URL longer than 256
//! characters, and a feed of five rooms, two days and a search is longer
//! than that. Such a feed gets `/feeds/{code}.ics`, where the code is a
//! digest of the conference and the canonical query: the same feed always
//! gets the same code, on every page view and every replica, and the row
//! that maps it back never changes once written.

use crate::store::{feed_code, MAX_FEED_LINKS};
use rusqlite::{params, OptionalExtension};

use super::queries::conference_by_slug;
use super::{SqliteStore, StoreError};
use crate::domain::ConferenceSlug;

impl SqliteStore {
    /// The short code for a conference's feed with canonical `query`,
    /// recorded so that [`SqliteStore::feed_link`] finds it. Idempotent.
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
