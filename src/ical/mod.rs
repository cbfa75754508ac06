//! iCalendar output: where feeds are rendered.
//!
//! - [`writer`]: content lines (escape, quote parameters, fold at 75
//!   octets, CRLF)
//! - [`vtimezone`]: VTIMEZONE blocks generated from the tz database that
//!   chrono-tz carries, in the one yearly-rule-pair form Outlook reads, and
//!   which instants that form carries (the rest go out in UTC)
//! - [`feed`]: a calendar of sessions (conference feeds, single talks,
//!   agendas), with the feed options (alarms, compact descriptions)
//! - [`colors`]: the CSS3 colour names RFC 7986 COLOR takes
//!
//! Hand-written rather than built with the `icalendar` crate: that crate
//! injects DTSTAMP/UID into every component (wrong inside a VTIMEZONE), has
//! no VTIMEZONE generation, leaves a lone CR unescaped, and allocates per
//! property — while feeds of 100,000 events must render in well under a
//! second. The crate's parser is still used in tests as a second reader.

pub mod calendars;
pub mod colors;
pub mod feed;
pub mod vtimezone;
pub mod writer;
