//! confcal: conference schedules stored in SQLite and served as iCalendar
//! feeds that calendar apps subscribe to.
//!
//! A tour, in the order a request meets the code:
//!
//! - [`startup`]: builds the [`startup::Application`] from [`config::Settings`]:
//!   opens the store, seeds it from `data/`, binds, serves.
//! - [`http`]: routes and handlers (JSON API, admin, feeds and their cache,
//!   schedule exports, agendas, HTML pages, health and metrics);
//!   [`http::ApiError`] is the one error type and decides every status code.
//! - [`ical`]: where feeds are rendered: the content-line writer, VTIMEZONE
//!   generation from the tz database, and calendars of sessions.
//! - [`domain`]: conferences, sessions, ids, filters, and the local-time rules
//!   around daylight saving ([`domain::localtime`]) — start here to learn what
//!   confcal accepts.
//! - [`store`]: all SQL: migrations, queries, the search index (each
//!   conference's words apart), the schedule sync that keeps
//!   `sequence`/`last_modified`/`version` honest, agendas, backups.
//! - [`import`]: schedules in: our documents and what conferences publish
//!   (frab XML/JSON, Sessionize, iCalendar), read into one source model
//!   whose rules make a schedule document (`confcal import`, the admin
//!   import, seeding).
//! - [`export`]: a conference as frab/c3voc `schedule.xml` and
//!   `schedule.json` for schedule apps (the day model, stable guids and
//!   ids, an escaping XML writer).
//! - [`follow`]: following a source: the schedule fetched from where it is
//!   published, conditionally and on an interval, synced like an import;
//!   what fails or looks suspicious changes nothing.
//! - [`generate`]: deterministic schedules for benchmarks (`confcal generate`).

pub mod config;
pub mod domain;
pub mod export;
pub mod follow;
pub mod generate;
pub mod http;
pub mod ical;
pub mod import;
pub mod startup;
pub mod store;
