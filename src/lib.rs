//! confcal: conference schedules stored in SQLite and served as iCalendar
//! feeds that calendar apps subscribe to.
//!
//! A tour, in the order a request meets the code:
//!
//! - [`startup`]: builds the [`startup::Application`] from [`config::Settings`]:
//!   opens the store, seeds it from `data/`, binds, serves.
//! - [`http`]: routes and handlers (JSON API, admin, feeds and their cache,
//!   agendas, HTML pages, health and metrics; large bodies and the send
//!   timeout in [`http::stream`]); [`http::ApiError`] is the one error type
//!   and decides every status code.
//! - [`ical`]: where feeds are rendered: the content-line writer, VTIMEZONE
//!   generation from the tz database, and calendars of sessions.
//! - [`domain`]: conferences, sessions, ids, filters, and the local-time rules
//!   around daylight saving ([`domain::localtime`]) — start here to learn what
//!   confcal accepts.
//! - [`store`]: all SQL: migrations, queries, the schedule sync that keeps
//!   `sequence`/`last_modified`/`version` honest, agendas, backups.
//! - [`import`]: schedule documents from files (`confcal import`, seeding).
//! - [`generate`]: deterministic schedules for benchmarks (`confcal generate`).

pub mod config;
pub mod domain;
pub mod generate;
pub mod http;
pub mod ical;
pub mod import;
pub mod startup;
pub mod store;
