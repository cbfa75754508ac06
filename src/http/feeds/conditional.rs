//! Conditional requests (RFC 9110 §13): `If-None-Match` against the ETag
//! of the coding served, else `If-Modified-Since` against a settled
//! `Last-Modified`.

use std::time::{Duration, SystemTime};

use actix_web::http::header::{self, HttpDate};
use actix_web::HttpRequest;
use chrono::{DateTime, Utc};

use crate::http::protocol::if_none_match;

/// The `Last-Modified` to send for data last changed at `changed`, judged
/// at `now` (whole seconds): `None` while that second lasts.
///
/// HTTP dates have one-second resolution. A client that fetched during the
/// second of a change and then revalidated with `If-Modified-Since` would be
/// told 304 for a second change in that same second; sending the date only
/// once its second is over means any client holding it fetched after every
/// change of that second (RFC 9110 §8.8.2.2 calls such a date a strong
/// validator for this reason). It also keeps `Last-Modified` from ever being
/// later than `Date` (§8.8.2.1). Clients still get the ETag meanwhile.
pub fn settled_last_modified(changed: DateTime<Utc>, now: SystemTime) -> Option<SystemTime> {
    let changed = SystemTime::UNIX_EPOCH + Duration::from_secs(changed.timestamp().max(0) as u64);
    let now_secs = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    let changed_secs = changed
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_secs();
    (changed_secs < now_secs).then_some(changed)
}

/// RFC 9110 §13.2.2: If-None-Match decides when present, against the
/// ETag of the coding selected for this request (see
/// [`crate::http::protocol::if_none_match`]); otherwise If-Modified-Since
/// (second precision, like our timestamps), and only against a settled
/// `Last-Modified` (see [`settled_last_modified`]).
pub fn not_modified(req: &HttpRequest, etag: &str, modified: Option<SystemTime>) -> bool {
    if let Some(matched) = if_none_match(req, etag) {
        return matched;
    }
    let Some(modified) = modified else {
        return false;
    };
    req.headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<HttpDate>().ok())
        .is_some_and(|since| modified <= SystemTime::from(since))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn last_modified_waits_for_its_second_to_end() {
        let changed = Utc.with_ymd_and_hms(2012, 3, 9, 22, 0, 0).unwrap();
        let at = |secs: u64, millis: u64| {
            SystemTime::UNIX_EPOCH
                + Duration::from_secs(changed.timestamp() as u64 + secs)
                + Duration::from_millis(millis)
        };
        assert_eq!(settled_last_modified(changed, at(0, 0)), None);
        assert_eq!(settled_last_modified(changed, at(0, 999)), None);
        assert_eq!(settled_last_modified(changed, at(1, 0)), Some(at(0, 0)));
        assert_eq!(settled_last_modified(changed, at(3600, 5)), Some(at(0, 0)));
        // A clock behind the data (stepped back) never yields a future date.
        let earlier = SystemTime::UNIX_EPOCH + Duration::from_secs(changed.timestamp() as u64 - 5);
        assert_eq!(settled_last_modified(changed, earlier), None);
    }
}
