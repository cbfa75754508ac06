//! confcal: conference schedules stored in SQLite (or a shared PostgreSQL)
//! and served as iCalendar feeds that calendar apps subscribe to.
//!
//! A tour, in the order a request meets the code; the file tree says the
//! same thing:
//!
//! - [`startup`]: builds the [`startup::Application`] from [`config::Settings`]:
//!   opens the store, seeds it from `data/`, binds, serves.
//! - [`http`]: routes and handlers. Where a page is: `http/pages/`, one file
//!   per page (`index`, `conference`, `timetable`, `now`, `session`,
//!   `agenda`, `changes`), one for the forms and one for the visitor's
//!   time zone. Where feeds are served and cached: `http/feeds/` (the endpoints,
//!   the cache of renderings, ETags and compressed variants, conditional
//!   requests); the schedule exports (`exports`) are served through the
//!   same cache, and so are the changes' Atom feeds (`changes`, which
//!   also gives the API's changes). The JSON API (`api`, `agendas`, `admin` and its token
//!   check `auth`, followed `sources`), the extractors that check what a
//!   URL or form names (`extract`, `pages/forms`), health and metrics
//!   (`ops`), the HTTP/1 server (`server`) and the JSON bodies of the
//!   errors actix-http writes itself (`head_errors`), large bodies in
//!   slices, the send timeout and the budget of unsent bodies (`stream`),
//!   middleware;
//!   [`http::HttpError`] is the one error type, and its module says the
//!   error policy.
//! - [`ical`]: where calendars are built: which calendars there are and
//!   what they are called ([`ical::calendars`]), the writing of events and
//!   VTIMEZONEs, the content-line writer. It depends on the domain alone.
//! - [`domain`]: where the rules are: conferences, sessions, ids, filters,
//!   the local-time rules around daylight saving ([`domain::localtime`]),
//!   the schedule document and its validation, agendas (tokens, names,
//!   conflicts, starring), what counts as a change worth telling
//!   ([`domain::changes`]), the records the store returns, every public
//!   URL ([`domain::urls`]), and the timetable's grid layout
//!   ([`domain::timetable`]). Start here to learn what confcal accepts.
//! - [`store`]: all SQL, behind one contract, [`store::Store`] (the
//!   methods the handlers call, returning the records of
//!   [`domain::records`]), with two backends: `store/sqlite/` (the file
//!   database: migrations, queries, the FTS5 search index with each
//!   conference's words apart, the WAL, backups, the files' health, the
//!   change history's statements) and `store/postgres/` (one database
//!   shared by replicas: row locks for writers, snapshots for reads, the
//!   same search words in a table, the same history). What is not SQL is
//!   written once in `store/rules.rs` (the schedule sync's diff and the
//!   `sequence`/`last_modified`/`version` rules, cancel-not-delete, what
//!   the change history tells, the star limit, the held sync, the source
//!   lease), `store/history.rs` (a stored change read back) and
//!   `store/types.rs`; `store/target.rs` reads `--db` (a path or a
//!   `postgres://` URL, its password never shown); `store/conformance.rs`
//!   tells one story of the contract to both backends. Nothing outside
//!   `store/` sees a connection.
//! - [`import`]: schedules in: our documents and what conferences publish
//!   (frab XML/JSON, Sessionize, iCalendar), one file per format, read into
//!   one source model whose rules make a schedule document
//!   ([`domain::ScheduleDocument`]), so that its validation stays the one
//!   gate for the DST rules (`confcal import`, the admin import, seeding).
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
