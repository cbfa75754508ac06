//! Integration tests: the real app on port 0 with a temporary database.

mod admin;
mod agendas;
mod cache;
mod changes;
mod corpus;
mod crash;
mod descriptors;
mod expect;
mod exports;
mod faults;
mod feeds;
mod fields;
mod golden;
mod helpers;
mod http;
mod import_cli;
mod import_real;
mod injection;
mod limits;
mod load;
mod memory;
mod on_postgres;
mod ops;
mod pages;

mod search;
mod secrets;
mod sessions;
mod sources;
mod stalled;
mod subscribe;
mod support;
mod timetable;
#[path = "../support/vtimezone_reader.rs"]
#[allow(dead_code)]
mod vtimezone_reader;
