//! Everything that serves a feed, one job a file:
//!
//! - [`handlers`]: the endpoints: `/conferences/{conf}/sessions.ics` (with
//!   the API's filters), its short `/feeds/{code}.ics` address, a talk's
//!   `/conferences/{conf}/sessions/{id}.ics`, an agenda's
//!   `/agendas/{token}.ics`
//! - [`current`]: the current rendering of a feed: cached when its stamp is
//!   current, else rendered on a blocking thread and cached
//! - [`cache`]: rendered feeds by key and stamp, bounded in bytes (no HTTP
//!   in it)
//! - [`representation`]: a rendered feed with its ETags and compressed
//!   variants, and which coding a client gets
//! - [`mod@compress`]: gzip and brotli in fixed chunks, streamed or in one go
//! - [`mod@respond`]: the 200 or 304, streamed or in slices
//! - [`conditional`]: `If-None-Match` and `If-Modified-Since`
//!
//! The calendars themselves are built in [`crate::ical::calendars`]. All
//! feeds are cached by data version and revalidated with ETag /
//! Last-Modified.

pub mod cache;
pub mod compress;
pub mod conditional;
pub mod current;
pub mod handlers;
pub mod representation;
pub mod respond;

pub use cache::FeedCache;
pub use compress::compress;
pub use current::rendered_feed;
pub use handlers::{
    agenda_feed, agenda_rendered, conference_feed, conference_rendered, session_ics, short_feed,
    PRIVATE_CACHE, PUBLIC_CACHE,
};
pub use representation::{strong_etag, Rendered, Variant};
pub use respond::respond;
