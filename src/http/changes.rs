//! What changed, out: a conference's recent changes as an Atom 1.0 feed
//! (`/conferences/{conf}/changes.atom`) and in the JSON API
//! (`/api/conferences/{conf}/changes`), an agenda's as a private Atom feed
//! (`/agendas/{token}/changes.atom`), and [`ChangeLine`], one change in
//! words, which the changes pages (`pages::changes`) show too, so the page
//! and the feed always say the same.
//!
//! The Atom feeds go through the feeds' cache and revalidation (ETag,
//! Last-Modified, 304, compressed variants), keyed by the conference's
//! version (by the agenda's stamp for an agenda), which every recorded
//! change moves.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::api::{json_ok, local_rfc3339, utc_rfc3339};
use super::extract::{AgendaPath, ConferencePath};
use super::feeds::cache::Key;
use super::feeds::{rendered_feed, respond, Rendered, PRIVATE_CACHE, PUBLIC_CACHE};
use super::pages::view::{day_label, when};
use super::{AppState, HttpError};
use crate::domain::agenda::AgendaToken;
use crate::domain::changes::{Change, ChangeKind, SessionState, SHOWN};
use crate::domain::urls::{ChangesFormat, Links};
use crate::domain::{ConferenceRecord, ConferenceSlug, Status};
use crate::export::xml::Writer;
use crate::export::GENERATOR;

const ATOM: &str = "application/atom+xml; charset=utf-8";

/// One field's before and after, in words.
pub struct Detail {
    pub label: &'static str,
    /// `None` for a new session.
    pub before: Option<String>,
    pub after: String,
}

/// One change as people read it, times in the conference's zone.
pub struct ChangeLine {
    pub id: i64,
    pub conference_name: String,
    /// The session's title now.
    pub title: String,
    /// "Moved · Room changed".
    pub kinds: String,
    pub cancelled: bool,
    /// The talk's page, under the `links` the line was built with.
    pub page: String,
    pub details: Vec<Detail>,
    /// When the change was made, in words, in the conference's zone.
    pub at: String,
    /// The same, RFC 3339 in UTC (for `<time datetime>` and Atom).
    pub at_iso: String,
}

fn room(r: &Option<String>) -> String {
    r.clone().unwrap_or_else(|| "no room".to_owned())
}

fn status(s: Status) -> String {
    match s {
        Status::Confirmed => "on".to_owned(),
        Status::Cancelled => "cancelled".to_owned(),
    }
}

/// "10:02am, Wednesday 2nd December 2026".
fn moment(t: DateTime<Utc>, tz: Tz) -> String {
    let l = t.with_timezone(&tz);
    format!(
        "{}, {} {}",
        l.format("%-I:%M%P"),
        day_label(l.date_naive()),
        l.year()
    )
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl ChangeLine {
    pub fn new(c: &Change, conf: &ConferenceRecord, links: Links<'_>) -> Self {
        Self::beside(c, conf, links, None)
    }

    /// [`ChangeLine::new`], with its times also in `mine` (the visitor's
    /// zone, on the pages) when that is not the conference's.
    pub fn beside(c: &Change, conf: &ConferenceRecord, links: Links<'_>, mine: Option<Tz>) -> Self {
        let tz = conf.conference.tz;
        let mine = mine.filter(|m| *m != tz);
        let a = &c.after;
        let slot = |s: &SessionState| match mine {
            Some(m) => format!(
                "{} ({} in {})",
                when(s.start, s.end, tz),
                when(s.start, s.end, m),
                m.name()
            ),
            None => when(s.start, s.end, tz),
        };
        let mut details = Vec::new();
        match &c.before {
            None => {
                details.push(Detail {
                    label: "Time",
                    before: None,
                    after: slot(a),
                });
                details.push(Detail {
                    label: "Room",
                    before: None,
                    after: room(&a.room),
                });
            }
            Some(b) => {
                for k in &c.kinds {
                    let (label, before, after) = match k {
                        ChangeKind::Moved => ("Time", slot(b), slot(a)),
                        ChangeKind::RoomChanged => ("Room", room(&b.room), room(&a.room)),
                        ChangeKind::Renamed => ("Title", b.title.clone(), a.title.clone()),
                        ChangeKind::Cancelled | ChangeKind::Reinstated => {
                            ("Status", status(b.status), status(a.status))
                        }
                        ChangeKind::New => continue,
                    };
                    details.push(Detail {
                        label,
                        before: Some(before),
                        after,
                    });
                }
            }
        }
        ChangeLine {
            id: c.id,
            conference_name: conf.conference.name.clone(),
            title: a.title.clone(),
            kinds: c
                .kinds
                .iter()
                .map(|k| k.label())
                .collect::<Vec<_>>()
                .join(" · "),
            cancelled: a.status == Status::Cancelled,
            page: links.session(&conf.conference.slug, &c.session),
            details,
            at: match mine {
                Some(m) => format!("{} ({} in {})", moment(c.at, tz), moment(c.at, m), m.name()),
                None => moment(c.at, tz),
            },
            at_iso: rfc3339(c.at),
        }
    }

    /// The details as plain text, a line each: "Room: E2 → E3".
    pub fn summary(&self) -> String {
        self.details
            .iter()
            .map(|d| match &d.before {
                Some(b) => format!("{}: {b} → {}", d.label, d.after),
                None => format!("{}: {}", d.label, d.after),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// What an Atom feed of changes says about itself.
pub struct AtomFeed<'a> {
    pub title: String,
    /// Its own absolute address (`rel="self"`) and the page it is the feed
    /// of (`rel="alternate"`).
    pub self_url: String,
    pub page_url: String,
    /// The feed's `id`: a public URL that never changes (for an agenda,
    /// still its page: the feed is private either way).
    pub id: String,
    /// `updated` when there is no entry.
    pub quiet_since: DateTime<Utc>,
    pub lines: &'a [ChangeLine],
    /// Where entry ids live: the conference changes page of each line's
    /// conference, so an entry has the same id in every feed that has it.
    pub entry_ids: Vec<String>,
}

/// Atom 1.0 (RFC 4287). Each entry's `id` is its conference's changes page
/// with `#change-N`, N the store's number for the change, which is never
/// reused: stable for as long as the base URL is, like the events' UIDs.
pub fn atom(f: &AtomFeed<'_>) -> String {
    let mut w = Writer::new(1024 + 600 * f.lines.len());
    w.open("feed", &[("xmlns", "http://www.w3.org/2005/Atom")]);
    w.text("id", &f.id);
    w.text("title", &f.title);
    let updated = f
        .lines
        .first()
        .map_or_else(|| rfc3339(f.quiet_since), |l| l.at_iso.clone());
    w.text("updated", &updated);
    w.open("author", &[]);
    w.text("name", GENERATOR);
    w.close();
    w.leaf("generator", &[], GENERATOR);
    w.leaf(
        "link",
        &[
            ("rel", "self"),
            ("type", "application/atom+xml"),
            ("href", &f.self_url),
        ],
        "",
    );
    w.leaf(
        "link",
        &[
            ("rel", "alternate"),
            ("type", "text/html"),
            ("href", &f.page_url),
        ],
        "",
    );
    for (l, id) in f.lines.iter().zip(&f.entry_ids) {
        w.open("entry", &[]);
        w.text("id", &format!("{id}#change-{}", l.id));
        w.text("title", &format!("{}: {}", l.kinds, l.title));
        w.text("updated", &l.at_iso);
        w.leaf(
            "link",
            &[
                ("rel", "alternate"),
                ("type", "text/html"),
                ("href", &l.page),
            ],
            "",
        );
        w.leaf("summary", &[("type", "text")], &l.summary());
        w.close();
    }
    w.close();
    w.finish()
}

/// `GET|HEAD /conferences/{conf}/changes.atom`
pub async fn conference_atom(
    state: web::Data<AppState>,
    ConferencePath(slug): ConferencePath,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    no_query(&req, "changes.atom")?;
    let site = state.site.clone();
    let s2 = slug.clone();
    let rendered = rendered_feed(
        &state,
        Key::Changes {
            slug: slug.to_string(),
        },
        move |s| s.conference_version(&s2).map(|v| v.to_string()),
        move |s| {
            let (conf, changes) = s.changes(&slug, SHOWN)?;
            let links = site.links();
            let lines: Vec<ChangeLine> = changes
                .iter()
                .map(|c| ChangeLine::new(c, &conf, links))
                .collect();
            let page = links.changes(&slug, ChangesFormat::Page);
            let body = atom(&AtomFeed {
                title: format!("Changes to {}", conf.conference.name),
                self_url: links.changes(&slug, ChangesFormat::Atom),
                id: page.clone(),
                entry_ids: vec![page.clone(); lines.len()],
                page_url: page,
                quiet_since: conf.created,
                lines: &lines,
            });
            Ok((
                conf.version.to_string(),
                atom_rendered(body, conf.last_modified, &format!("{slug}-changes")),
            ))
        },
    )
    .await?;
    respond(&req, rendered, PUBLIC_CACHE).await
}

/// `GET|HEAD /agendas/{token}/changes.atom`: the changes to the starred
/// sessions. Private like the agenda's feed: no shared cache keeps it, and
/// the request log never shows the token.
pub async fn agenda_atom(
    state: web::Data<AppState>,
    AgendaPath(t): AgendaPath,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    no_query(&req, "changes.atom")?;
    let rendered = agenda_atom_rendered(&state, t).await?;
    respond(&req, rendered, PRIVATE_CACHE).await
}

async fn agenda_atom_rendered(
    state: &AppState,
    t: AgendaToken,
) -> Result<std::sync::Arc<Rendered>, HttpError> {
    let hash = t.hash();
    let site = state.site.clone();
    rendered_feed(
        state,
        Key::AgendaChanges { hash: hash.0 },
        move |s| s.agenda_stamp(&hash),
        move |s| {
            // Stamp first, then data (see `feeds::agenda_rendered`).
            let stamp = s.agenda_stamp(&hash)?;
            let (agenda, log) = s.agenda_changes(&hash, SHOWN)?;
            let links = site.links();
            let mut lines = Vec::new();
            let mut entry_ids = Vec::new();
            for (slug, c) in &log.changes {
                let conf = &log.conferences[slug];
                lines.push(ChangeLine::new(c, conf, links));
                entry_ids.push(links.changes(&conf.conference.slug, ChangesFormat::Page));
            }
            let page = links.agenda_changes(&t, ChangesFormat::Page);
            let name = agenda
                .name
                .clone()
                .unwrap_or_else(|| crate::domain::agenda::DEFAULT_NAME.to_owned());
            let body = atom(&AtomFeed {
                title: format!("Changes to {name}"),
                self_url: links.agenda_changes(&t, ChangesFormat::Atom),
                id: page.clone(),
                page_url: page,
                quiet_since: agenda.created,
                lines: &lines,
                entry_ids,
            });
            let newest = log.changes.first().map(|(_, c)| c.at);
            let modified = newest.map_or(agenda.last_modified, |n| n.max(agenda.last_modified));
            Ok((stamp, atom_rendered(body, modified, "agenda-changes")))
        },
    )
    .await
}

fn atom_rendered(body: String, modified: DateTime<Utc>, name: &str) -> Rendered {
    Rendered::new(
        body.into(),
        modified,
        format!("inline; filename=\"{name}.atom\""),
    )
    .with_content_type(ATOM)
}

/// The feeds take no parameters: a key is a typo or a filter a reader
/// would wrongly believe applied (as for the schedule exports).
fn no_query(req: &HttpRequest, what: &str) -> Result<(), HttpError> {
    match url::form_urlencoded::parse(req.query_string().as_bytes()).next() {
        Some((key, _)) => {
            let key: String = key.chars().take(64).collect();
            Err(HttpError::bad_request(
                &key,
                format!("unknown parameter: {what} takes none"),
            ))
        }
        None => Ok(()),
    }
}

/// A session's state in the API: times as the sessions' API gives them
/// (RFC 3339 with the zone's offset at that instant).
#[derive(Serialize)]
struct ApiState<'a> {
    title: &'a str,
    start: String,
    end: String,
    room: Option<&'a str>,
    status: Status,
}

impl<'a> ApiState<'a> {
    fn new(s: &'a SessionState, tz: Tz) -> Self {
        ApiState {
            title: &s.title,
            start: local_rfc3339(s.start, tz),
            end: local_rfc3339(s.end, tz),
            room: s.room.as_deref(),
            status: s.status,
        }
    }
}

#[derive(Serialize)]
struct ApiChange<'a> {
    id: i64,
    session: &'a str,
    kinds: &'a [ChangeKind],
    before: Option<ApiState<'a>>,
    after: ApiState<'a>,
    at: String,
    url: String,
}

#[derive(Serialize)]
struct ApiChanges<'a> {
    conference: &'a str,
    changes: Vec<ApiChange<'a>>,
}

/// `GET /api/conferences/{conf}/changes`: the newest changes, newest
/// first, with the read API's validators (ETag, 304).
pub async fn api_changes(
    state: web::Data<AppState>,
    ConferencePath(slug): ConferencePath,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    no_query(&req, "changes")?;
    let s2: ConferenceSlug = slug.clone();
    let (conf, changes) = state.db(move |s| s.changes(&s2, SHOWN)).await?;
    let links = state.site.links();
    let tz = conf.conference.tz;
    let body = ApiChanges {
        conference: conf.conference.slug.as_str(),
        changes: changes
            .iter()
            .map(|c| ApiChange {
                id: c.id,
                session: c.session.as_str(),
                kinds: &c.kinds,
                before: c.before.as_ref().map(|b| ApiState::new(b, tz)),
                after: ApiState::new(&c.after, tz),
                at: utc_rfc3339(c.at),
                url: links.session(&slug, &c.session),
            })
            .collect(),
    };
    json_ok(&req, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Conference, SessionId, Site};
    use chrono::TimeZone;

    fn conf() -> ConferenceRecord {
        let t = Utc.with_ymd_and_hms(2012, 1, 1, 0, 0, 0).unwrap();
        ConferenceRecord {
            conference: Conference {
                slug: ConferenceSlug::parse("pycon-us-2012").unwrap(),
                name: "PyCon <US> & \"friends\"".into(),
                tz: "America/Los_Angeles".parse().unwrap(),
                venue: None,
                url: None,
                address: None,
                geo: None,
                color: None,
            },
            version: 3,
            created: t,
            last_modified: t,
            session_count: 1,
            first_start: None,
            last_end: None,
        }
    }

    fn state(title: &str, hour: u32, room: &str) -> SessionState {
        SessionState {
            title: title.into(),
            start: Utc.with_ymd_and_hms(2012, 3, 9, hour, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2012, 3, 9, hour, 40, 0).unwrap(),
            room: Some(room.into()),
            status: Status::Confirmed,
        }
    }

    /// Markup and characters XML cannot carry in titles and rooms still
    /// make a well-formed feed that reads back as the same words.
    #[test]
    fn atom_is_well_formed_whatever_the_text() {
        let site = Site {
            base_url: "https://cal.example".into(),
            uid_host: "cal.example".into(),
        };
        let c = conf();
        let evil = "</title><entry> & ]]> \u{1}";
        let change = Change {
            id: 7,
            session: SessionId::parse("talk").unwrap(),
            kinds: vec![ChangeKind::RoomChanged, ChangeKind::Renamed],
            before: Some(state("Old", 22, "E2")),
            after: state(evil, 22, "<E3>"),
            at: Utc.with_ymd_and_hms(2012, 3, 1, 18, 30, 0).unwrap(),
        };
        let line = ChangeLine::new(&change, &c, site.links());
        assert_eq!(line.at, "10:30am, Thursday 1st March 2012");
        assert_eq!(
            line.summary(),
            format!("Room: E2 → <E3>\nTitle: Old → {evil}")
        );
        let page = site
            .links()
            .changes(&c.conference.slug, ChangesFormat::Page);
        let body = atom(&AtomFeed {
            title: format!("Changes to {}", c.conference.name),
            self_url: "https://cal.example/conferences/pycon-us-2012/changes.atom".into(),
            page_url: page.clone(),
            id: page.clone(),
            quiet_since: c.created,
            lines: std::slice::from_ref(&line),
            entry_ids: vec![page],
        });
        let doc = roxmltree::Document::parse(&body).expect("well-formed");
        let text = |n: roxmltree::Node, name: &str| {
            n.children()
                .find(|c| c.has_tag_name(name))
                .and_then(|c| c.text())
                .unwrap()
                .to_owned()
        };
        let feed = doc.root_element();
        assert_eq!(text(feed, "title"), "Changes to PyCon <US> & \"friends\"");
        assert_eq!(text(feed, "updated"), "2012-03-01T18:30:00Z");
        let entries: Vec<_> = feed
            .children()
            .filter(|c| c.has_tag_name("entry"))
            .collect();
        assert_eq!(entries.len(), 1);
        let e = entries[0];
        assert_eq!(
            text(e, "id"),
            "https://cal.example/conferences/pycon-us-2012/changes#change-7"
        );
        // The control character, which XML cannot carry, as U+FFFD.
        let shown = evil.replace('\u{1}', "\u{FFFD}");
        assert_eq!(text(e, "title"), format!("Room changed · Renamed: {shown}"));
        assert_eq!(
            text(e, "summary"),
            format!("Room: E2 → <E3>\nTitle: Old → {shown}")
        );
        let link = e.children().find(|c| c.has_tag_name("link")).unwrap();
        assert_eq!(
            link.attribute("href"),
            Some("https://cal.example/conferences/pycon-us-2012/sessions/talk")
        );
    }

    #[test]
    fn a_quiet_feed_is_updated_when_it_began() {
        let c = conf();
        let body = atom(&AtomFeed {
            title: "t".into(),
            self_url: "s".into(),
            page_url: "p".into(),
            id: "i".into(),
            quiet_since: c.created,
            lines: &[],
            entry_ids: vec![],
        });
        let doc = roxmltree::Document::parse(&body).unwrap();
        let updated = doc
            .descendants()
            .find(|n| n.has_tag_name("updated"))
            .and_then(|n| n.text());
        assert_eq!(updated, Some("2012-01-01T00:00:00Z"));
        assert!(!doc.descendants().any(|n| n.has_tag_name("entry")));
    }
}
