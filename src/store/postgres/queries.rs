//! Reads: conferences, filtered session lists, facets, feed links.

use chrono_tz::Tz;
use postgres::types::ToSql;
use postgres::{GenericClient, Row};

use super::PgStore;
use crate::domain::filter::StatusFilter;
use crate::domain::localtime::local_day_bounds;
use crate::domain::{Conference, ConferenceSlug, Geo, Link, SessionData, SessionFilter, SessionId};
use crate::store::{
    feed_code, ConferenceRecord, Facets, SessionRecord, Status, StoreError, MAX_FEED_LINKS,
    SEARCH_DEADLINE,
};

/// The same columns, in the same order, as SQLite's (`NULLS FIRST`: SQLite
/// sorts NULL before any value).
const CONFERENCE_COLUMNS: &str = "c.id, c.slug, c.name, c.timezone, c.venue, c.url, c.version, \
     c.created, c.last_modified, \
     (SELECT count(*) FROM sessions s WHERE s.conference_id = c.id AND s.status = 'confirmed'), \
     (SELECT min(start_utc) FROM sessions s WHERE s.conference_id = c.id), \
     (SELECT max(end_utc) FROM sessions s WHERE s.conference_id = c.id), \
     c.address, c.geo_lat, c.geo_lon, c.color";

pub(super) const SESSION_COLUMNS: &str = "s.slug, s.title, s.speakers, s.start_utc, s.end_utc, \
     s.room, s.tracks, s.abstract, s.notes, s.url, s.status, s.sequence, s.created, \
     s.last_modified, s.kind, s.links, s.language";

/// SQLite's `COLLATE NOCASE`: ASCII letters alone fold (`lower()` would
/// fold every script, and match what SQLite does not).
pub(super) fn nocase(expr: &str) -> String {
    format!("translate({expr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")
}

pub(super) use crate::store::types::from_ts;

impl PgStore {
    pub fn conferences(&self) -> Result<Vec<ConferenceRecord>, StoreError> {
        let rows = self.conn()?.query(
            &format!(
                "SELECT {CONFERENCE_COLUMNS} FROM conferences c ORDER BY \
                 (SELECT min(start_utc) FROM sessions s WHERE s.conference_id = c.id) NULLS FIRST, \
                 c.slug"
            ),
            &[],
        )?;
        rows.iter()
            .map(|r| conference_row(r).map(|(_, c)| c))
            .collect()
    }

    pub fn conference(&self, slug: &ConferenceSlug) -> Result<ConferenceRecord, StoreError> {
        Ok(conference_by_slug(&mut *self.conn()?, slug, false)?.1)
    }

    /// See [`crate::store::Store::each_session`]: one REPEATABLE READ
    /// snapshot, and a search under its deadline.
    pub fn each_session<F>(
        &self,
        slug: &ConferenceSlug,
        filter: &SessionFilter,
        mut f: F,
    ) -> Result<ConferenceRecord, StoreError>
    where
        F: FnMut(&ConferenceRecord, SessionRecord),
    {
        self.read_once(|tx| {
            let (db_id, conf) = conference_by_slug(tx, slug, false)?;
            let search = self.search_terms(filter)?;
            let mut sql =
                format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.conference_id = $1");
            let mut args: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(db_id)];
            filter_sql(&mut sql, &mut args, conf.conference.tz, filter);
            if let Some(terms) = &search {
                tx.batch_execute(&format!(
                    "SET LOCAL statement_timeout = {}",
                    SEARCH_DEADLINE.as_millis()
                ))?;
                let matching = super::search::matching_sql(terms, 1, &mut args);
                sql.push_str(&format!(" AND s.id IN ({matching})"));
            }
            sql.push_str(" ORDER BY s.start_utc, s.end_utc, s.slug");
            let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
            // Row by row (a portal), so a 100,000-session feed is never
            // all in memory at once.
            let portal = tx.bind(sql.as_str(), &refs)?;
            loop {
                let rows = tx.query_portal(&portal, 1000)?;
                if rows.is_empty() {
                    break;
                }
                for r in &rows {
                    f(&conf, session_row(r, 0)?);
                }
            }
            Ok(conf)
        })
    }

    pub fn conference_version(&self, slug: &ConferenceSlug) -> Result<i64, StoreError> {
        self.conn()?
            .query_opt(
                "SELECT version FROM conferences WHERE slug = $1",
                &[&slug.as_str()],
            )?
            .map(|r| r.get(0))
            .ok_or_else(|| StoreError::ConferenceNotFound(slug.to_string()))
    }

    pub fn session(
        &self,
        slug: &ConferenceSlug,
        id: &SessionId,
    ) -> Result<(ConferenceRecord, SessionRecord), StoreError> {
        self.read(|tx| {
            let (db_id, conf) = conference_by_slug(tx, slug, false)?;
            let session =
                session_by_slug(tx, db_id, id)?.ok_or_else(|| StoreError::SessionNotFound {
                    conference: slug.to_string(),
                    session: id.to_string(),
                })?;
            Ok((conf, session))
        })
    }

    pub fn facets(&self, slug: &ConferenceSlug) -> Result<Facets, StoreError> {
        self.read(|tx| {
            let (db_id, conf) = conference_by_slug(tx, slug, false)?;
            let tz = conf.conference.tz;
            let mut days = Vec::new();
            for r in tx.query(
                "SELECT DISTINCT start_utc FROM sessions WHERE conference_id = $1 ORDER BY start_utc",
                &[&db_id],
            )? {
                let day = from_ts(r.get(0))?.with_timezone(&tz).date_naive();
                if days.last() != Some(&day) {
                    days.push(day);
                }
            }
            let rooms = tx
                .query(
                    &format!(
                        "SELECT room FROM (SELECT DISTINCT room FROM sessions \
                         WHERE conference_id = $1 AND room IS NOT NULL) r \
                         ORDER BY {}, room",
                        nocase("room")
                    ),
                    &[&db_id],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let kinds = tx
                .query(
                    "SELECT DISTINCT kind FROM sessions WHERE conference_id = $1 \
                     AND kind IS NOT NULL ORDER BY kind",
                    &[&db_id],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            Ok(Facets { days, rooms, kinds })
        })
    }

    /// See the SQLite backend's `ensure_feed_link`: the cap is kept under
    /// the conference's row lock, so replicas cannot pass it together.
    pub fn ensure_feed_link(
        &self,
        slug: &ConferenceSlug,
        query: &str,
    ) -> Result<String, StoreError> {
        let code = feed_code(slug, query);
        if let Some((s, q)) = self.feed_link(&code)? {
            if s == *slug && q == query {
                return Ok(code);
            }
            return Err(StoreError::Corrupt(format!(
                "feed code {code} already names another feed"
            )));
        }
        let inserted = self.write(|tx| {
            let (conf_id, _) = conference_by_slug(tx, slug, true)?;
            Ok(tx.execute(
                "INSERT INTO feed_links (code, conference_id, query, created) \
                 SELECT $1, $2, $3, extract(epoch FROM now())::bigint \
                 WHERE (SELECT count(*) FROM feed_links WHERE conference_id = $2) < $4 \
                 ON CONFLICT (code) DO NOTHING",
                &[&code, &conf_id, &query, &MAX_FEED_LINKS],
            )?)
        })?;
        match self.feed_link(&code)? {
            Some((s, q)) if s == *slug && q == query => Ok(code),
            Some(_) => Err(StoreError::Corrupt(format!(
                "feed code {code} already names another feed"
            ))),
            None if inserted == 0 => Err(StoreError::Limit(format!(
                "this conference already has {MAX_FEED_LINKS} short feed addresses"
            ))),
            None => Err(StoreError::Corrupt(
                "the feed link just written is gone".into(),
            )),
        }
    }

    pub fn feed_link(&self, code: &str) -> Result<Option<(ConferenceSlug, String)>, StoreError> {
        let row = self.conn()?.query_opt(
            "SELECT c.slug, l.query FROM feed_links l \
             JOIN conferences c ON c.id = l.conference_id WHERE l.code = $1",
            &[&code],
        )?;
        row.map(|r| {
            let slug = ConferenceSlug::parse(r.get(0)).map_err(StoreError::Corrupt)?;
            Ok((slug, r.get(1)))
        })
        .transpose()
    }
}

/// The conference `slug` and its row id; with `lock`, its row is locked
/// for the rest of the transaction (`FOR UPDATE OF c`: every writer of a
/// conference takes this lock first).
pub(super) fn conference_by_slug(
    conn: &mut impl GenericClient,
    slug: &ConferenceSlug,
    lock: bool,
) -> Result<(i64, ConferenceRecord), StoreError> {
    let sql = format!(
        "SELECT {CONFERENCE_COLUMNS} FROM conferences c WHERE c.slug = $1{}",
        if lock { " FOR UPDATE OF c" } else { "" }
    );
    let row = conn
        .query_opt(sql.as_str(), &[&slug.as_str()])?
        .ok_or_else(|| StoreError::ConferenceNotFound(slug.to_string()))?;
    conference_row(&row)
}

pub(super) fn conference_row(r: &Row) -> Result<(i64, ConferenceRecord), StoreError> {
    let tz_name: String = r.get(3);
    let tz: Tz = tz_name
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("unknown time zone {tz_name:?}")))?;
    let slug = ConferenceSlug::parse(r.get(1)).map_err(StoreError::Corrupt)?;
    let first: Option<i64> = r.get(10);
    let last: Option<i64> = r.get(11);
    let geo: (Option<f64>, Option<f64>) = (r.get(13), r.get(14));
    Ok((
        r.get(0),
        ConferenceRecord {
            conference: Conference {
                slug,
                name: r.get(2),
                tz,
                venue: r.get(4),
                url: r.get(5),
                address: r.get(12),
                geo: match geo {
                    (Some(lat), Some(lon)) => {
                        Some(Geo::new(lat, lon).map_err(|e| StoreError::Corrupt(e.to_string()))?)
                    }
                    _ => None,
                },
                color: r.get(15),
            },
            version: r.get(6),
            created: from_ts(r.get(7))?,
            last_modified: from_ts(r.get(8))?,
            session_count: r.get(9),
            first_start: first.map(from_ts).transpose()?,
            last_end: last.map(from_ts).transpose()?,
        },
    ))
}

pub(super) fn session_by_slug(
    conn: &mut impl GenericClient,
    conference_id: i64,
    id: &SessionId,
) -> Result<Option<SessionRecord>, StoreError> {
    conn.query_opt(
        format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.conference_id = $1 AND s.slug = $2"
        )
        .as_str(),
        &[&conference_id, &id.as_str()],
    )?
    .map(|r| session_row(&r, 0))
    .transpose()
}

/// Reads [`SESSION_COLUMNS`] starting at column `o`.
pub(super) fn session_row(r: &Row, o: usize) -> Result<SessionRecord, StoreError> {
    let json = |s: String| -> Result<Vec<String>, StoreError> {
        serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    let slug: String = r.get(o);
    let status: String = r.get(o + 10);
    let links: String = r.get(o + 15);
    Ok(SessionRecord {
        data: SessionData {
            id: SessionId::parse(&slug).map_err(StoreError::Corrupt)?,
            title: r.get(o + 1),
            speakers: json(r.get(o + 2))?,
            start: from_ts(r.get(o + 3))?,
            end: from_ts(r.get(o + 4))?,
            room: r.get(o + 5),
            tracks: json(r.get(o + 6))?,
            abstract_: r.get(o + 7),
            notes: r.get(o + 8),
            url: r.get(o + 9),
            kind: r.get(o + 14),
            links: serde_json::from_str::<Vec<Link>>(&links)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            language: r.get(o + 16),
        },
        status: match status.as_str() {
            "cancelled" => Status::Cancelled,
            _ => Status::Confirmed,
        },
        sequence: r.get(o + 11),
        created: from_ts(r.get(o + 12))?,
        last_modified: from_ts(r.get(o + 13))?,
    })
}

/// The filter's conditions but the search, as SQLite's
/// `for_each_filtered` writes them, appended to `sql` with their values.
fn filter_sql(sql: &mut String, args: &mut Vec<Box<dyn ToSql + Sync>>, tz: Tz, f: &SessionFilter) {
    let next = |args: &mut Vec<Box<dyn ToSql + Sync>>, v: Box<dyn ToSql + Sync>| {
        args.push(v);
        format!("${}", args.len())
    };
    match f.status {
        StatusFilter::Confirmed => sql.push_str(" AND s.status = 'confirmed'"),
        StatusFilter::Cancelled => sql.push_str(" AND s.status = 'cancelled'"),
        StatusFilter::All => {}
    }
    if !f.days.is_empty() {
        let alts: Vec<String> = f
            .days
            .iter()
            .map(|d| {
                let (a, b) = local_day_bounds(*d, tz);
                let a = next(args, Box::new(a.timestamp()));
                let b = next(args, Box::new(b.timestamp()));
                format!("(s.start_utc >= {a} AND s.start_utc < {b})")
            })
            .collect();
        sql.push_str(&format!(" AND ({})", alts.join(" OR ")));
    }
    let list = |args: &mut Vec<Box<dyn ToSql + Sync>>, values: &[String], fold: bool| -> String {
        values
            .iter()
            .map(|v| {
                let p = next(args, Box::new(v.clone()));
                if fold {
                    nocase(&p)
                } else {
                    p
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !f.rooms.is_empty() {
        let l = list(args, &f.rooms, true);
        sql.push_str(&format!(" AND {} IN ({l})", nocase("s.room")));
    }
    for (column, values) in [("speakers", &f.speakers), ("tracks", &f.tracks)] {
        if !values.is_empty() {
            let l = list(args, values, true);
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM json_array_elements_text(s.{column}::json) j(v) \
                 WHERE {} IN ({l}))",
                nocase("j.v")
            ));
        }
    }
    if !f.kinds.is_empty() {
        // A session without a kind is of none of them.
        let l = list(args, &f.kinds, false);
        sql.push_str(&format!(" AND s.kind IN ({l})"));
    }
    if !f.not_kinds.is_empty() {
        // ... and so is never hidden by not_kind.
        let l = list(args, &f.not_kinds, false);
        sql.push_str(&format!(" AND (s.kind IS NULL OR s.kind NOT IN ({l}))"));
    }
}
