//! The `.ics` endpoints: a conference's feed (with the API's filters, also
//! under its short `/feeds/{code}.ics` address) and a single talk; agenda
//! feeds and the pages reach the same cache through [`rendered_feed`]. All
//! are cached by data version and revalidated with ETag / Last-Modified.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix_web::http::header::{self, HttpDate};
use actix_web::http::Version;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};

use super::cache::{Key, Rendered, Variant};
use super::protocol::{if_none_match, is_head};
use super::{conf_slug, session_id, ApiError, AppState};
use crate::domain::feed_options::join_query;
use crate::domain::{ConferenceSlug, FeedOptions, SessionFilter, SessionId};
use crate::ical::feed::{self, CalendarMeta, Event, FeedBuilder, Site};
use crate::store::{is_feed_code, ConferenceRecord, Store, StoreError};

/// Shared caches may keep a public feed for five minutes, then must
/// revalidate (cheap: a 304 when nothing changed).
pub const PUBLIC_CACHE: &str = "public, max-age=300, must-revalidate";

/// Agenda feeds are one person's: no shared cache may keep them.
pub const PRIVATE_CACHE: &str = "private, max-age=300, must-revalidate";

/// Where links and UIDs point; owned so render jobs can move it to a
/// blocking thread.
#[derive(Clone)]
pub struct SiteOwned {
    pub base_url: String,
    pub uid_host: String,
}

impl SiteOwned {
    pub fn of(state: &AppState) -> Self {
        SiteOwned {
            base_url: state.base_url.clone(),
            uid_host: state.uid_host.clone(),
        }
    }

    pub fn site(&self) -> Site<'_> {
        Site {
            base_url: &self.base_url,
            uid_host: &self.uid_host,
        }
    }
}

/// The shared path of every feed: look the current stamp up, serve the
/// cached rendering if it was made from that stamp, else render (on a
/// blocking thread), cache and serve.
pub async fn serve_feed<S, R>(
    state: &AppState,
    req: &HttpRequest,
    key: Key,
    stamp: S,
    render: R,
    cache_control: &'static str,
) -> Result<HttpResponse, ApiError>
where
    S: FnOnce(&Store) -> Result<String, StoreError> + Send + 'static,
    R: FnOnce(&Store) -> Result<(String, Rendered), StoreError> + Send + 'static,
{
    let rendered = rendered_feed(state, key, stamp, render).await?;
    respond(req, rendered, cache_control).await
}

/// The current rendering of a feed: the cached one if it was made from the
/// current stamp, else a new one (rendered on a blocking thread and cached).
/// Pages use it too, to tell a feed's size before offering it.
pub async fn rendered_feed<S, R>(
    state: &AppState,
    key: Key,
    stamp: S,
    render: R,
) -> Result<Arc<Rendered>, ApiError>
where
    S: FnOnce(&Store) -> Result<String, StoreError> + Send + 'static,
    R: FnOnce(&Store) -> Result<(String, Rendered), StoreError> + Send + 'static,
{
    // Read before any stamp or data, so whatever is read next is at least
    // as new as the database at this version.
    let data_version = state.store.data_version()?;
    if let Some(hit) = state.feeds.get_verified(&key, data_version) {
        return Ok(hit);
    }
    let current = state.db(stamp).await?;
    Ok(match state.feeds.get(&key, &current, data_version) {
        Some(hit) => hit,
        None => {
            let (stamp, rendered) = state.db(render).await?;
            let rendered = Arc::new(rendered);
            state
                .feeds
                .insert(key, stamp, data_version, rendered.clone());
            rendered
        }
    })
}

/// `GET|HEAD /conferences/{conf}/sessions.ics?day=…&room=…&alarm=…&compact=…`
pub async fn conference_feed(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let slug = conf_slug(&path)?;
    let (filter, options) = feed_query(req.query_string())?;
    let rendered = conference_rendered(&state, slug, filter, options).await?;
    respond(&req, rendered, PUBLIC_CACHE).await
}

/// `GET|HEAD /feeds/{code}.ics`: the short address of a conference feed
/// whose filter makes a long URL (see [`crate::store::feed_code`]). The
/// same representation, ETags included, as the long address.
pub async fn short_feed(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let unknown = || ApiError::not_found("feed", "no such feed address");
    if !is_feed_code(&code) {
        return Err(unknown());
    }
    let (slug, query) = state
        .db(move |s| s.feed_link(&code))
        .await?
        .ok_or_else(unknown)?;
    let (filter, options) = feed_query(&query)?;
    let rendered = conference_rendered(&state, slug, filter, options).await?;
    respond(&req, rendered, PUBLIC_CACHE).await
}

/// A conference feed's filter and options from its query string.
pub fn feed_query(query: &str) -> Result<(SessionFilter, FeedOptions), ApiError> {
    let filter = SessionFilter::from_feed_query(query).map_err(ApiError::unreadable)?;
    let options = FeedOptions::from_query(query).map_err(ApiError::unreadable)?;
    Ok((filter, options))
}

/// The current rendering of a conference feed (see [`rendered_feed`]).
pub async fn conference_rendered(
    state: &AppState,
    slug: ConferenceSlug,
    filter: SessionFilter,
    options: FeedOptions,
) -> Result<Arc<Rendered>, ApiError> {
    let key = Key::Conference {
        slug: slug.to_string(),
        filter: filter.canonical(),
        options,
    };
    let site = SiteOwned::of(state);
    let s2 = slug.clone();
    rendered_feed(
        state,
        key,
        move |s| s.conference_version(&s2).map(|v| v.to_string()),
        move |s| render_conference_feed(s, &slug, &filter, options, &site),
    )
    .await
}

/// Renders a conference feed straight from the database rows. Returns the
/// stamp (conference version) read in the same snapshot as the rows.
pub fn render_conference_feed(
    store: &Store,
    slug: &ConferenceSlug,
    filter: &SessionFilter,
    options: FeedOptions,
    site: &SiteOwned,
) -> Result<(String, Rendered), StoreError> {
    let site_ref = site.site();
    let mut builder: Option<FeedBuilder<'_>> = None;
    let conf = store.each_session(slug, filter, |conf, session| {
        builder
            .get_or_insert_with(|| {
                let mut b = FeedBuilder::with_options(
                    &site_ref,
                    conf.session_count.max(0) as usize,
                    options,
                );
                // The zone's rule comes from the whole conference, so every
                // filtered feed of it carries the same VTIMEZONE.
                b.plan_zone(conf.conference.tz, conference_window(conf));
                b
            })
            .push(&Event {
                conference: &conf.conference,
                session: &session,
            });
    })?;
    let builder = builder.unwrap_or_else(|| FeedBuilder::with_options(&site_ref, 0, options));
    let c = &conf.conference;
    // The options too: SOURCE must give back this very feed, and the page
    // hands them on to the feed URL it offers.
    let query = join_query(&filter.canonical(), &options.canonical());
    let suffix = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let meta = CalendarMeta {
        name: calendar_name(&conf, filter),
        description: format!(
            "Sessions of {}{}, kept up to date by confcal.",
            c.name,
            c.venue
                .as_deref()
                .map(|v| format!(" at {v}"))
                .unwrap_or_default()
        ),
        source_url: format!(
            "{}/conferences/{}/sessions.ics{suffix}",
            site.base_url, c.slug
        ),
        page_url: format!("{}/conferences/{}{suffix}", site.base_url, c.slug),
        tz: c.tz,
        empty_window: conference_window(&conf),
        color: c.color.clone(),
    };
    let body = builder.finish(&meta);
    Ok((
        conf.version.to_string(),
        // Last-Modified is the conference's last change, not only its listed
        // sessions': a session that left this filter changes the feed too.
        Rendered::new(
            body,
            conf.last_modified,
            format!(
                "inline; filename=\"{}\"",
                feed_filename(c.slug.as_str(), filter)
            ),
        ),
    ))
}

/// `GET|HEAD /conferences/{conf}/sessions/{id}.ics`
pub async fn session_ics(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (conf, id) = path.into_inner();
    let (slug, id) = (conf_slug(&conf)?, session_id(&id)?);
    let options =
        FeedOptions::from_options_query(req.query_string()).map_err(ApiError::unreadable)?;
    let key = Key::Session {
        slug: slug.to_string(),
        id: id.to_string(),
        options,
    };
    let site = SiteOwned::of(&state);
    let s2 = slug.clone();
    serve_feed(
        &state,
        &req,
        key,
        move |s| s.conference_version(&s2).map(|v| v.to_string()),
        move |s| render_session_ics(s, &slug, &id, options, &site),
        PUBLIC_CACHE,
    )
    .await
}

fn render_session_ics(
    store: &Store,
    slug: &ConferenceSlug,
    id: &SessionId,
    options: FeedOptions,
    site: &SiteOwned,
) -> Result<(String, Rendered), StoreError> {
    let (conf, session) = store.session(slug, id)?;
    let c = &conf.conference;
    let d = &session.data;
    let query = options.canonical();
    let meta = CalendarMeta {
        name: format!("{} · {}", c.name, d.title),
        description: format!("{} at {}", d.title, c.name),
        source_url: format!(
            "{}/conferences/{}/sessions/{}.ics{}",
            site.base_url,
            c.slug,
            d.id,
            if query.is_empty() {
                String::new()
            } else {
                format!("?{query}")
            }
        ),
        page_url: feed::session_page_url(&site.base_url, c.slug.as_str(), d.id.as_str()),
        tz: c.tz,
        empty_window: (d.start, d.end),
        color: c.color.clone(),
    };
    let events = [Event {
        conference: c,
        session: &session,
    }];
    let body = feed::render_with(&meta, &events, &site.site(), options);
    Ok((
        conf.version.to_string(),
        Rendered::new(
            body,
            session.last_modified,
            format!("attachment; filename=\"{}.ics\"", d.id),
        ),
    ))
}

fn conference_window(conf: &ConferenceRecord) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = conf.first_start.unwrap_or(conf.created);
    (first, conf.last_end.unwrap_or(first))
}

/// "PyCon US 2012 · Friday 9 March · E2": what the filter selects, in words.
pub fn calendar_name(conf: &ConferenceRecord, f: &SessionFilter) -> String {
    let mut parts = vec![conf.conference.name.clone()];
    if !f.days.is_empty() {
        let days: Vec<String> = f
            .days
            .iter()
            .map(|d| d.format("%A %-d %B").to_string())
            .collect();
        parts.push(days.join(" or "));
    }
    if !f.rooms.is_empty() {
        parts.push(f.rooms.join(" or "));
    }
    if !f.speakers.is_empty() {
        parts.push(format!("by {}", f.speakers.join(" or ")));
    }
    if !f.tracks.is_empty() {
        parts.push(format!("track {}", f.tracks.join(" or ")));
    }
    if !f.q.is_empty() {
        let q: Vec<String> = f.q.iter().map(|q| format!("“{q}”")).collect();
        parts.push(q.join(" or "));
    }
    if !f.kinds.is_empty() {
        parts.push(f.kinds.join(" or "));
    }
    if !f.not_kinds.is_empty() {
        parts.push(format!("without {}", f.not_kinds.join(" or ")));
    }
    parts.join(" · ")
}

/// `pycon-us-2012-2012-03-09-e2.ics`: the slug plus the filter values,
/// reduced to characters every file system and browser accepts.
pub fn feed_filename(slug: &str, f: &SessionFilter) -> String {
    let mut name = slug.to_owned();
    let values = f
        .days
        .iter()
        .map(|d| d.to_string())
        .chain(f.rooms.iter().cloned())
        .chain(f.speakers.iter().cloned())
        .chain(f.tracks.iter().cloned())
        .chain(f.q.iter().cloned())
        .chain(f.kinds.iter().cloned())
        .chain(f.not_kinds.iter().map(|k| format!("without-{k}")));
    for v in values {
        let part: String = v
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let part = part
            .split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        if !part.is_empty() && name.len() + part.len() < 120 {
            name.push('-');
            name.push_str(&part);
        }
    }
    format!("{name}.ics")
}

/// Answers 200 with the calendar in the best coding the client takes, or
/// 304 when its copy is current.
pub async fn respond(
    req: &HttpRequest,
    r: Arc<Rendered>,
    cache_control: &'static str,
) -> Result<HttpResponse, ApiError> {
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
    res.insert_header((header::CONTENT_TYPE, "text/calendar; charset=utf-8"))
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
        // large (see `super::stream`), never as a copy per client.
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

/// The `Last-Modified` to send for data last changed at `changed`, judged
/// at `now` (whole seconds): `None` while that second lasts.
///
/// HTTP dates have one-second resolution. A client that fetched during the
/// second of a change and then revalidated with `If-Modified-Since` would be
/// told 304 for a second change in that same second; sending the date only
/// once its second is over means any client holding it fetched after every
/// change of that second (RFC 9110 §8.8.2.2 calls such a date a strong
/// validator for this reason). It also keeps `Last-Modified` from ever being
/// later than `Date` (§8.8.2.1). Clients still get the ETag meanwhile.
pub fn settled_last_modified(changed: DateTime<Utc>, now: SystemTime) -> Option<SystemTime> {
    let changed = SystemTime::UNIX_EPOCH + Duration::from_secs(changed.timestamp().max(0) as u64);
    let now_secs = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    let changed_secs = changed
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_secs();
    (changed_secs < now_secs).then_some(changed)
}

/// RFC 9110 §13.2.2: If-None-Match decides when present, against the
/// ETag of the coding selected for this request (see
/// [`super::protocol::if_none_match`]); otherwise If-Modified-Since
/// (second precision, like our timestamps), and only against a settled
/// `Last-Modified` (see [`settled_last_modified`]).
fn not_modified(req: &HttpRequest, etag: &str, modified: Option<SystemTime>) -> bool {
    if let Some(matched) = if_none_match(req, etag) {
        return matched;
    }
    let Some(modified) = modified else {
        return false;
    };
    req.headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<HttpDate>().ok())
        .is_some_and(|since| modified <= SystemTime::from(since))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn last_modified_waits_for_its_second_to_end() {
        let changed = Utc.with_ymd_and_hms(2012, 3, 9, 22, 0, 0).unwrap();
        let at = |secs: u64, millis: u64| {
            SystemTime::UNIX_EPOCH
                + Duration::from_secs(changed.timestamp() as u64 + secs)
                + Duration::from_millis(millis)
        };
        assert_eq!(settled_last_modified(changed, at(0, 0)), None);
        assert_eq!(settled_last_modified(changed, at(0, 999)), None);
        assert_eq!(settled_last_modified(changed, at(1, 0)), Some(at(0, 0)));
        assert_eq!(settled_last_modified(changed, at(3600, 5)), Some(at(0, 0)));
        // A clock behind the data (stepped back) never yields a future date.
        let earlier = SystemTime::UNIX_EPOCH + Duration::from_secs(changed.timestamp() as u64 - 5);
        assert_eq!(settled_last_modified(changed, earlier), None);
    }
}
