//! Where confcal is published: the public base URL and the host every
//! event UID names.
//!
//! A domain type because calendars keep what is built from it for ever: a
//! subscribed feed's `SOURCE`, each event's `URL` and `UID`. Owned, so a
//! render job can take it to a blocking thread.

/// The public site: every absolute address confcal hands out starts here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Public base URL without a trailing slash, e.g. `https://confcal.example`.
    pub base_url: String,
    /// Host of `base_url`: the right-hand side of every event UID.
    pub uid_host: String,
}
