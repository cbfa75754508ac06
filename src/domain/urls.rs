//! Every public address confcal hands out, built in one place: feeds,
//! webcal links, pages, agenda links, the schedule exports, the API's links
//! and the assets.
//!
//! A domain module because calendars keep what is built here for ever: a
//! subscribed feed's `SOURCE`, each event's `URL` (and its `UID`, whose
//! host is the site's). The route tables (`http::routes` and the pages')
//! match these same shapes; the integration tests follow the links.
//!
//! [`Links`] builds them under a base: [`Site::links`] gives absolute
//! addresses (for calendars, calendar apps and API clients), [`LOCAL`]
//! paths on this site (for the pages' links and redirects). Each address is
//! one `format!`, so building one per event of a large feed costs no more
//! than it did when each caller spelled it out.

use std::fmt::Display;

use super::agenda::AgendaToken;
use super::{ConferenceSlug, SessionId};

/// The public site: every absolute address confcal hands out starts here.
/// Owned, so a render job can take it to a blocking thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Public base URL without a trailing slash, e.g. `https://confcal.example`.
    pub base_url: String,
    /// Host of `base_url`: the right-hand side of every event UID.
    pub uid_host: String,
}

impl Site {
    /// Absolute addresses on this site.
    pub fn links(&self) -> Links<'_> {
        Links(&self.base_url)
    }
}

/// Builds confcal's addresses under a base (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Links<'a>(&'a str);

/// Paths on this site: `/conferences/…`.
pub const LOCAL: Links<'static> = Links("");

/// `?query`, or nothing for an empty query.
fn q(query: &str) -> (&'static str, &str) {
    (if query.is_empty() { "" } else { "?" }, query)
}

impl Links<'_> {
    /// The conference's page, with its filters and feed options (`query`,
    /// possibly empty).
    pub fn conference(self, slug: &ConferenceSlug, query: &str) -> String {
        let (mark, query) = q(query);
        format!("{}/conferences/{slug}{mark}{query}", self.0)
    }

    /// The conference's timetable (one day's grid), with its filters.
    pub fn timetable(self, slug: &ConferenceSlug, query: &str) -> String {
        let (mark, query) = q(query);
        format!("{}/conferences/{slug}/timetable{mark}{query}", self.0)
    }

    /// What is on now and next at the conference.
    pub fn now(self, slug: &ConferenceSlug, query: &str) -> String {
        let (mark, query) = q(query);
        format!("{}/conferences/{slug}/now{mark}{query}", self.0)
    }

    /// The conference's feed, with its filters and feed options.
    pub fn conference_feed(self, slug: &ConferenceSlug, query: &str) -> String {
        let (mark, query) = q(query);
        format!("{}/conferences/{slug}/sessions.ics{mark}{query}", self.0)
    }

    /// A session's page.
    pub fn session(self, slug: &ConferenceSlug, id: &SessionId) -> String {
        format!("{}/conferences/{slug}/sessions/{id}", self.0)
    }

    /// A session's own `.ics`, with its feed options.
    pub fn session_feed(self, slug: &ConferenceSlug, id: &SessionId, query: &str) -> String {
        let (mark, query) = q(query);
        format!(
            "{}/conferences/{slug}/sessions/{id}.ics{mark}{query}",
            self.0
        )
    }

    /// The short address of a conference feed whose URL would be too long
    /// (see `store::feed_code`).
    pub fn short_feed(self, code: &str) -> String {
        format!("{}/feeds/{code}.ics", self.0)
    }

    /// A conference's schedule for schedule apps: `file` is
    /// `schedule.xml` or `schedule.json`.
    pub fn schedule_export(self, slug: &ConferenceSlug, file: &str) -> String {
        format!("{}/conferences/{slug}/{file}", self.0)
    }

    /// A conference's recent changes (moved, new, cancelled, renamed, room
    /// changed): `changes` is the page, `changes.atom` its feed.
    pub fn changes(self, slug: &ConferenceSlug, format: ChangesFormat) -> String {
        format!("{}/conferences/{slug}/{}", self.0, format.file())
    }

    /// The recent changes to an agenda's starred sessions (the page, or its
    /// Atom feed); as private as the agenda.
    pub fn agenda_changes(self, t: &AgendaToken, format: ChangesFormat) -> String {
        format!("{}/agendas/{}/{}", self.0, t.expose(), format.file())
    }

    /// The API's listing of a conference's recent changes.
    pub fn api_changes(self, slug: &ConferenceSlug) -> String {
        format!("{}/api/conferences/{slug}/changes", self.0)
    }

    /// The API's listing of a conference's sessions.
    pub fn api_sessions(self, slug: &ConferenceSlug) -> String {
        format!("{}/api/conferences/{slug}/sessions", self.0)
    }

    /// An agenda's page (its token is the key: keep it private).
    pub fn agenda(self, t: &AgendaToken) -> String {
        format!("{}/agendas/{}", self.0, t.expose())
    }

    /// An agenda's private feed, with its feed options.
    pub fn agenda_feed(self, t: &AgendaToken, query: &str) -> String {
        let (mark, query) = q(query);
        format!("{}/agendas/{}.ics{mark}{query}", self.0, t.expose())
    }

    /// Where the agenda page's forms go: `stars`, `rotate`, `delete`.
    pub fn agenda_form(self, t: &AgendaToken, form: AgendaForm) -> String {
        let name = match form {
            AgendaForm::Stars => "stars",
            AgendaForm::Rotate => "rotate",
            AgendaForm::Delete => "delete",
        };
        format!("{}/agendas/{}/{name}", self.0, t.expose())
    }

    /// The browser's own agenda (by its cookie).
    pub fn my_agenda(self) -> String {
        format!("{}/agendas", self.0)
    }

    /// Where every page's star buttons go.
    pub fn star(self) -> String {
        format!("{}/agendas/star", self.0)
    }

    /// An embedded asset by its content-hashed file name.
    pub fn asset(self, file: impl Display) -> String {
        format!("{}/assets/{file}", self.0)
    }
}

/// The agenda page's forms (see [`Links::agenda_form`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgendaForm {
    Stars,
    Rotate,
    Delete,
}

/// The two forms of a changes list (see [`Links::changes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangesFormat {
    Page,
    Atom,
}

impl ChangesFormat {
    fn file(self) -> &'static str {
        match self {
            ChangesFormat::Page => "changes",
            ChangesFormat::Atom => "changes.atom",
        }
    }
}

/// `path?query`, or `path` for an empty query.
pub fn with_query(path: &str, query: &str) -> String {
    let (mark, query) = q(query);
    format!("{path}{mark}{query}")
}

/// A session's card on the page at `page` (a local path).
pub fn card(page: &str, id: &SessionId) -> String {
    format!("{page}#s-{id}")
}

/// `webcal://…`: the scheme that makes Apple Calendar and Thunderbird offer
/// to subscribe instead of importing once.
pub fn webcal(url: &str) -> String {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    format!("webcal://{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_absolute_and_local() {
        let site = Site {
            base_url: "https://cal.example".into(),
            uid_host: "cal.example".into(),
        };
        let (c, s) = (
            ConferenceSlug::parse("pycon-us-2012").unwrap(),
            SessionId::parse("talk-1").unwrap(),
        );
        let t = AgendaToken::parse(&"a".repeat(43)).unwrap();
        let abs = site.links();
        assert_eq!(
            abs.conference_feed(&c, "day=2012-03-09"),
            "https://cal.example/conferences/pycon-us-2012/sessions.ics?day=2012-03-09"
        );
        assert_eq!(
            abs.conference(&c, ""),
            "https://cal.example/conferences/pycon-us-2012"
        );
        assert_eq!(
            LOCAL.session(&c, &s),
            "/conferences/pycon-us-2012/sessions/talk-1"
        );
        assert_eq!(
            LOCAL.session_feed(&c, &s, ""),
            "/conferences/pycon-us-2012/sessions/talk-1.ics"
        );
        assert_eq!(
            abs.session_feed(&c, &s, "alarm=10"),
            "https://cal.example/conferences/pycon-us-2012/sessions/talk-1.ics?alarm=10"
        );
        assert_eq!(
            LOCAL.timetable(&c, "day=2012-03-09"),
            "/conferences/pycon-us-2012/timetable?day=2012-03-09"
        );
        assert_eq!(LOCAL.now(&c, ""), "/conferences/pycon-us-2012/now");
        assert_eq!(abs.short_feed("abc"), "https://cal.example/feeds/abc.ics");
        assert_eq!(
            abs.api_sessions(&c),
            "https://cal.example/api/conferences/pycon-us-2012/sessions"
        );
        let a = "a".repeat(43);
        assert_eq!(abs.agenda(&t), format!("https://cal.example/agendas/{a}"));
        assert_eq!(
            abs.agenda_feed(&t, ""),
            format!("https://cal.example/agendas/{a}.ics")
        );
        assert_eq!(
            LOCAL.agenda_form(&t, AgendaForm::Rotate),
            format!("/agendas/{a}/rotate")
        );
        assert_eq!(
            (LOCAL.my_agenda(), LOCAL.star()),
            ("/agendas".into(), "/agendas/star".into())
        );
        assert_eq!(
            abs.changes(&c, ChangesFormat::Atom),
            "https://cal.example/conferences/pycon-us-2012/changes.atom"
        );
        assert_eq!(
            LOCAL.changes(&c, ChangesFormat::Page),
            "/conferences/pycon-us-2012/changes"
        );
        assert_eq!(
            LOCAL.agenda_changes(&t, ChangesFormat::Atom),
            format!("/agendas/{a}/changes.atom")
        );
        assert_eq!(
            abs.api_changes(&c),
            "https://cal.example/api/conferences/pycon-us-2012/changes"
        );
        assert_eq!(LOCAL.asset("app.1f.css"), "/assets/app.1f.css");
        assert_eq!(with_query("/x", ""), "/x");
        assert_eq!(with_query("/x", "a=1"), "/x?a=1");
        assert_eq!(card("/agendas", &s), "/agendas#s-talk-1");
        assert_eq!(
            webcal("https://cal.example/feeds/abc.ics"),
            "webcal://cal.example/feeds/abc.ics"
        );
        assert_eq!(
            webcal("http://127.0.0.1:8080/x.ics"),
            "webcal://127.0.0.1:8080/x.ics"
        );
    }
}
