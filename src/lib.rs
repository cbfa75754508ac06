//! confcal: conference schedules stored in SQLite and served as iCalendar
//! feeds that calendar apps subscribe to.
//!
//! A tour, in the order a request meets the code; the file tree says the
//! same thing:
//!
//! - [`startup`]: builds the [`startup::Application`] from [`config::Settings`]:
//!   opens the store, seeds it from `data/`, binds, serves.
//! - [`http`]: routes and handlers. Where a page is: `http/pages/`, one file
//!   per page (`index`, `conference`, `session`, `agenda`) and one for the
//!   forms. Where feeds are served and cached: `http/feeds/` (the endpoints,
//!   the cache of renderings, ETags and compressed variants, conditional
//!   requests). The JSON API (`api`, `agendas`, `admin`), the extractors
//!   that check what a URL or form names (`extract`, `pages/forms`), health
//!   and metrics (`ops`), middleware; [`http::HttpError`] is the one error
//!   type, and its module says the error policy.
//! - [`ical`]: where calendars are built: which calendars there are and
//!   what they are called ([`ical::calendars`]), the writing of events and
//!   VTIMEZONEs, the content-line writer. It depends on the domain alone.
//! - [`domain`]: where the rules are: conferences, sessions, ids, filters,
//!   the local-time rules around daylight saving ([`domain::localtime`]),
//!   the schedule document and its validation, agendas (tokens, names,
//!   conflicts, starring), the records the store returns, and every public
//!   URL ([`domain::urls`]). Start here to learn what confcal accepts.
//! - [`store`]: all SQL: migrations, queries, the schedule sync that keeps
//!   `sequence`/`last_modified`/`version` honest, agendas, backups,
//!   exports, statistics. Nothing outside it sees a connection. When a
//!   second backend comes, `store/` becomes the interface (the methods the
//!   handlers call, the records of [`domain::records`]) with today's SQLite
//!   code under `store/sqlite/` and PostgreSQL beside it in
//!   `store/postgres/`.
//! - [`import`]: schedule documents from files (`confcal import`, seeding).
//!   Importers of other schedule formats will live in `src/import/`, one
//!   file per format, each producing the schedule document
//!   ([`domain::ScheduleDocument`]), so that its validation stays the one
//!   gate for the DST rules.
//! - [`generate`]: deterministic schedules for benchmarks (`confcal generate`).

pub mod config;
pub mod domain;
pub mod generate;
pub mod http;
pub mod ical;
pub mod import;
pub mod startup;
pub mod store;
