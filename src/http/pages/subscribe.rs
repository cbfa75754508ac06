//! The subscribe panel: which address each calendar app is given for a
//! feed, and why.
//!
//! - Apple Calendar and Thunderbird get `webcal://`, the https URL is there
//!   to copy (Google's "Other calendars → From URL", Outlook's "Subscribe
//!   from web"), and Outlook.com gets its `addfromweb` link.
//! - Google's `calendar/r?cid=` link must carry the **https** URL: in 2026 a
//!   `webcal://` one opens an empty calendar.
//! - Google silently drops the events of a feed over 1,000,000 bytes, so its
//!   link points at the compact variant when the full feed is larger, and
//!   the panel says so; when even that is too large it offers no Google link
//!   and suggests a day or a track.
//! - Google also silently fails on subscribe URLs over 256 characters, so a
//!   long filter combination is given its short address
//!   (`/feeds/{code}.ics`, see [`crate::store::feed_code`]).
//! - Reminders (`alarm=`) are opt-in: a form of plain GET links, no script.

use super::view::encode;
use super::{store, PageError};
use crate::domain::agenda::AgendaToken;
use crate::domain::feed_options::join_query;
use crate::domain::urls::webcal;
use crate::domain::{ConferenceSlug, FeedOptions, SessionFilter};
use crate::http::feeds::{agenda_rendered, conference_rendered};
use crate::http::AppState;
use crate::store::StoreError;

/// Google Calendar drops every event of a feed larger than this.
pub const GOOGLE_MAX_BYTES: usize = 1_000_000;
/// Google Calendar fails, silently, on longer subscribe URLs.
pub const MAX_URL_LEN: usize = 256;

/// Reminder choices offered (minutes before the start).
const ALARMS: &[u16] = &[5, 10, 15, 30, 60, 1440];

/// Which feed a panel subscribes to.
pub enum FeedTarget {
    Conference {
        slug: ConferenceSlug,
        /// The feed's filter (status is always "all" for feeds).
        filter: SessionFilter,
    },
    Agenda(AgendaToken),
}

/// One choice of the reminder form.
pub struct AlarmChoice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// Ways to subscribe to one feed.
pub struct Subscribe {
    pub name: String,
    pub https: String,
    pub webcal: String,
    /// None when no variant of the feed is small enough for Google.
    pub google: Option<String>,
    /// Why the Google link is what it is, when it is not the plain feed.
    pub google_note: Option<String>,
    pub outlook: String,
    /// The reminder form: where it goes, what it keeps, what it offers.
    pub form_action: String,
    pub form_keep: Vec<(String, String)>,
    pub alarms: Vec<AlarmChoice>,
}

/// "1.6 MB", "760 KB".
fn size(bytes: usize) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{} KB", bytes.div_ceil(1000))
    }
}

/// "15 minutes before", "1 hour before", "1 day before".
fn alarm_label(minutes: u16) -> String {
    match minutes {
        1440 => "1 day before".to_owned(),
        60 => "1 hour before".to_owned(),
        _ => format!("{minutes} minutes before"),
    }
}

impl FeedTarget {
    /// The feed's https address with these options: the long form, or its
    /// short one when the long one would exceed [`MAX_URL_LEN`].
    async fn url(&self, state: &AppState, options: FeedOptions) -> Result<String, PageError> {
        let opts = options.canonical();
        match self {
            FeedTarget::Agenda(t) => Ok(state.site.links().agenda_feed(t, &opts)),
            FeedTarget::Conference { slug, filter } => {
                let query = join_query(&filter.canonical(), &opts);
                let long = state.site.links().conference_feed(slug, &query);
                if long.len() <= MAX_URL_LEN {
                    return Ok(long);
                }
                let s = slug.clone();
                match store(state, move |st| st.ensure_feed_link(&s, &query)).await? {
                    Ok(code) => Ok(state.site.links().short_feed(&code)),
                    // Out of short addresses (see MAX_FEED_LINKS): the
                    // long one still works everywhere but in Google.
                    Err(StoreError::Limit(_)) => Ok(long),
                    // The write lock is held elsewhere: the page still
                    // answers, with the long address this once.
                    Err(StoreError::Busy(_)) => Ok(long),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// The size in bytes of the feed with these options, as served.
    async fn size(&self, state: &AppState, options: FeedOptions) -> Result<usize, PageError> {
        let rendered = match self {
            FeedTarget::Conference { slug, filter } => {
                conference_rendered(state, slug.clone(), filter.clone(), options).await?
            }
            FeedTarget::Agenda(t) => agenda_rendered(state, t.clone(), options).await?,
        };
        Ok(rendered.body.len())
    }
}

impl Subscribe {
    /// The panel for `target` with `options`, on the page at `page_path`
    /// whose own query (filters and options) is `page_query`.
    pub async fn build(
        state: &AppState,
        name: String,
        target: FeedTarget,
        options: FeedOptions,
        page_path: &str,
        page_query: &str,
    ) -> Result<Subscribe, PageError> {
        let https = target.url(state, options).await?;
        let google_for = |url: &str| {
            (url.len() <= MAX_URL_LEN)
                .then(|| format!("https://calendar.google.com/calendar/r?cid={}", encode(url)))
        };
        let full = target.size(state, options).await?;
        let (google, google_note) = if full <= GOOGLE_MAX_BYTES {
            let link = google_for(&https);
            let note = link.is_none().then(|| {
                "This address is too long for Google Calendar (over 256 characters): \
                 fewer filters give a shorter one."
                    .to_owned()
            });
            (link, note)
        } else {
            let compact_options = FeedOptions {
                compact: true,
                ..options
            };
            let compact = if options.compact {
                full
            } else {
                target.size(state, compact_options).await?
            };
            if compact <= GOOGLE_MAX_BYTES {
                let url = target.url(state, compact_options).await?;
                (
                    google_for(&url),
                    Some(format!(
                        "Google Calendar ignores feeds over 1 MB, and this one is {}: the \
                         Google link subscribes to its compact form ({}), with short \
                         descriptions that link to each talk's page.",
                        size(full),
                        size(compact)
                    )),
                )
            } else {
                (
                    None,
                    Some(format!(
                        "This feed is too large for Google Calendar ({}, {} even with short \
                         descriptions; Google ignores feeds over 1 MB): pick a day or a \
                         track for a feed it will take.",
                        size(full),
                        size(compact)
                    )),
                )
            }
        };
        let form_keep = url::form_urlencoded::parse(page_query.as_bytes())
            .filter(|(k, _)| k != "alarm")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut alarms = vec![AlarmChoice {
            value: String::new(),
            label: "No reminders".to_owned(),
            selected: options.alarm.is_none(),
        }];
        let mut offered: Vec<u16> = ALARMS.to_vec();
        if let Some(n) = options.alarm.filter(|n| !ALARMS.contains(n)) {
            offered.push(n);
            offered.sort_unstable();
        }
        alarms.extend(offered.into_iter().map(|n| AlarmChoice {
            value: n.to_string(),
            label: alarm_label(n),
            selected: options.alarm == Some(n),
        }));
        Ok(Subscribe {
            outlook: format!(
                "https://outlook.live.com/calendar/0/addfromweb?url={}&name={}",
                encode(&https),
                encode(&name)
            ),
            webcal: webcal(&https),
            google,
            google_note,
            https,
            name,
            form_action: page_path.to_owned(),
            form_keep,
            alarms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_labels_in_words() {
        assert_eq!(size(1_618_095), "1.6 MB");
        assert_eq!(size(759_536), "760 KB");
        assert_eq!(size(999), "1 KB");
        assert_eq!(alarm_label(15), "15 minutes before");
        assert_eq!(alarm_label(60), "1 hour before");
        assert_eq!(alarm_label(1440), "1 day before");
    }
}
