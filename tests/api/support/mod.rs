//! What the integration tests share besides starting the app
//! (`helpers.rs`): the iCalendar reader and the cookie-keeping browser.

pub mod browser;
pub mod ical;
