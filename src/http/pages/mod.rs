//! Server-rendered HTML pages (issue 5): filled in by the pages work.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}
