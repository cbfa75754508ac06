//! confcal: conference schedules stored in SQLite and served as iCalendar
//! feeds that calendar apps subscribe to.
//!
//! A tour, in the order a request meets the code:
//!
//! - [`startup`]: builds the [`startup::Application`] from [`config::Settings`]:
//!   opens the store, seeds it from `data/`, binds, serves.
//! - [`http`]: routes and handlers; [`http::ApiError`] is the one error type
//!   and decides every status code.
//! - [`domain`]: conferences, sessions, ids, filters, and the local-time rules
//!   around daylight saving ([`domain::localtime`]) — start here to learn what
//!   confcal accepts.
//! - [`store`]: all SQL: migrations, queries, and the schedule sync that keeps
//!   `sequence`/`last_modified` honest.
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
