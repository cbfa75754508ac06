//! The conference day: which `<day>` a talk sits in, and that day's bounds.
//!
//! Schedule apps group talks by conference day, and a talk at 01:00 after
//! Saturday's party belongs to Saturday, not to Sunday morning. A
//! conference day runs from its *day change*, a local time in the morning,
//! to the next day's: a talk starting before it sits in the previous day.
//! Publishers pick it to suit their nights (pretalx 04:00, frab 04:00, the
//! CCC hub 06:00); confcal picks it from the data ([`choose_day_change`]):
//! the whole hour from 00:00 to 06:00 at which the fewest sessions are
//! running, the one nearest 04:00 among equals. A daytime conference gets
//! 04:00, one whose DJ sets run until 06:00 gets 06:00. (Later hours are
//! not offered: a talk at 07:00 opens its day, it does not end the night
//! before, however many installations run through the morning.)
//!
//! Readers get to a start two ways, and both must land on the same instant:
//! - from the event's `<date>`, full ISO 8601 with the offset in force at
//!   that instant;
//! - from the day's `date` plus the event's `<start>` wall time, plus one
//!   day when `<start>` is earlier than the day change, which readers take
//!   from the day's `start` or `end` attribute (EventFahrplan reads the
//!   end's time of day). So both are exactly at the day change, local time,
//!   on every day, whatever daylight saving does in between: every talk
//!   starts within its day's bounds, and a talk running past the next day
//!   change simply runs past its day's end, as in frab.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The day change when there is nothing to choose from, and the one
/// preferred among equals: pretalx's and frab's.
pub const DEFAULT_DAY_CHANGE: NaiveTime = hour(4);

/// Day changes on offer: 00:00 to 06:00.
const CANDIDATES: usize = 7;

const fn hour(h: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(h, 0, 0) {
        Some(t) => t,
        None => panic!("a valid hour"),
    }
}

/// The day change for sessions `[start, end)` in `tz`: of the whole hours
/// 00:00 to 06:00, the one at which the fewest sessions are running (a
/// session is cut by an hour if that hour falls strictly inside it, on any
/// date), the nearest 04:00 among equals, the later of two equally near.
pub fn choose_day_change(
    sessions: impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)>,
    tz: Tz,
) -> NaiveTime {
    let mut cuts = [0usize; CANDIDATES];
    for (start, end) in sessions {
        if end - start >= Duration::days(1) {
            // Cut by every hour alike: it changes no choice.
            continue;
        }
        let (local_start, last) = (
            start.with_timezone(&tz).naive_local(),
            end.with_timezone(&tz).date_naive(),
        );
        let first = local_start.date();
        if first == last && local_start.time() >= hour(CANDIDATES as u32 - 1) {
            // Within one date, after the last hour on offer (most talks):
            // every candidate of that date is at or before its start.
            continue;
        }
        for (h, n) in cuts.iter_mut().enumerate() {
            let mut d = first;
            while d <= last {
                let at = day_start(d, hour(h as u32), tz);
                if start < at && at < end {
                    *n += 1;
                    break;
                }
                d = match d.succ_opt() {
                    Some(next) => next,
                    None => break,
                };
            }
        }
    }
    let best = (0..CANDIDATES as u32)
        .min_by_key(|&h| (cuts[h as usize], h.abs_diff(4), h < 4))
        .unwrap_or(4);
    hour(best)
}

/// The conference day of a talk that starts at local wall time `local`.
pub fn conference_day(local: NaiveDateTime, change: NaiveTime) -> NaiveDate {
    let date = local.date();
    if local.time() < change {
        date.pred_opt().unwrap_or(date)
    } else {
        date
    }
}

/// The instant conference day `day` begins: `change` on that date, or
/// where the clocks skip it, the first instant after. When it happens
/// twice, the first.
pub fn day_start(day: NaiveDate, change: NaiveTime, tz: Tz) -> DateTime<Tz> {
    let mut t = day.and_time(change);
    // Gaps are an hour or two; Pacific/Apia skipped a whole day in 2011.
    for _ in 0..(3 * 24 * 4) {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt;
        }
        t += Duration::minutes(15);
    }
    Utc.from_utc_datetime(&day.and_time(change))
        .with_timezone(&tz)
}

/// `[start, end)` of conference day `day`: from its day change to the next.
pub fn day_bounds(day: NaiveDate, change: NaiveTime, tz: Tz) -> (DateTime<Tz>, DateTime<Tz>) {
    let next = day.succ_opt().unwrap_or(day);
    (day_start(day, change, tz), day_start(next, change, tz))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::Los_Angeles, Australia::Lord_Howe, Europe::Berlin, Pacific::Apia};

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const FOUR: NaiveTime = DEFAULT_DAY_CHANGE;

    #[test]
    fn after_midnight_belongs_to_the_day_before() {
        let day = |s| conference_day(local(s), FOUR);
        assert_eq!(day("2012-03-10T23:30"), date("2012-03-10"));
        assert_eq!(day("2012-03-11T00:00"), date("2012-03-10"));
        assert_eq!(day("2012-03-11T03:59"), date("2012-03-10"));
        assert_eq!(day("2012-03-11T04:00"), date("2012-03-11"));
        assert_eq!(
            conference_day(local("2012-03-11T05:59"), hour(6)),
            date("2012-03-10")
        );
    }

    fn sessions(tz: Tz, spans: &[(&str, &str)]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        spans
            .iter()
            .map(|(a, b)| {
                let at = |s: &str| {
                    tz.from_local_datetime(&local(s))
                        .earliest()
                        .unwrap()
                        .with_timezone(&Utc)
                };
                (at(a), at(b))
            })
            .collect()
    }

    #[test]
    fn the_day_change_is_the_quietest_morning_hour() {
        let choose =
            |spans: &[(&str, &str)]| choose_day_change(sessions(Berlin, spans).into_iter(), Berlin);
        // Nothing at all, and a daytime conference: 04:00.
        assert_eq!(choose(&[]), FOUR);
        assert_eq!(
            choose(&[
                ("2024-12-27T10:00", "2024-12-27T11:00"),
                ("2024-12-28T23:00", "2024-12-29T01:00")
            ]),
            FOUR
        );
        // DJ sets until 06:00 (the CCC hub's day change).
        assert_eq!(
            choose(&[
                ("2024-12-27T23:00", "2024-12-28T02:00"),
                ("2024-12-28T02:00", "2024-12-28T04:30"),
                ("2024-12-28T04:30", "2024-12-28T06:00"),
                ("2024-12-28T11:00", "2024-12-28T12:00"),
            ]),
            hour(6)
        );
        // Shifts around the clock that change at 00, 04, 08: 04:00.
        assert_eq!(
            choose(&[
                ("2024-12-27T20:00", "2024-12-28T00:00"),
                ("2024-12-28T00:00", "2024-12-28T04:00"),
                ("2024-12-28T04:00", "2024-12-28T08:00"),
                ("2024-12-28T08:00", "2024-12-28T12:00"),
            ]),
            FOUR
        );
        // Something always running: the hour that cuts the fewest, the
        // nearest 04:00 among those.
        assert_eq!(
            choose(&[
                ("2024-12-27T23:30", "2024-12-28T05:30"),
                ("2024-12-28T05:30", "2024-12-28T09:30"),
                ("2024-12-28T09:30", "2024-12-28T12:30"),
                ("2024-12-29T06:30", "2024-12-29T11:30"),
                ("2024-12-29T02:30", "2024-12-29T04:30"),
            ]),
            hour(5),
            "00-02, 05 and 06 cut one session each, 03 and 04 two"
        );
        // An installation running through the night into the morning cuts
        // every hour on offer alike: it does not push the day change on.
        assert_eq!(
            choose(&[
                ("2024-12-27T22:00", "2024-12-28T08:00"),
                ("2024-12-28T09:00", "2024-12-28T10:00"),
            ]),
            FOUR
        );
        // A session longer than a day is cut by every hour: no say.
        assert_eq!(choose(&[("2024-12-27T10:00", "2024-12-30T10:00")]), FOUR);
    }

    #[test]
    fn bounds_are_at_the_day_change_across_dst() {
        // Los Angeles springs forward at 02:00 on 2012-03-11: the day that
        // contains the change is 23 hours long and its bounds carry their
        // own offsets.
        let (s, e) = day_bounds(date("2012-03-10"), FOUR, Los_Angeles);
        assert_eq!(s.to_rfc3339(), "2012-03-10T04:00:00-08:00");
        assert_eq!(e.to_rfc3339(), "2012-03-11T04:00:00-07:00");
        assert_eq!((e - s).num_hours(), 23);
        let (s, e) = day_bounds(date("2026-10-24"), FOUR, Berlin);
        assert_eq!(s.to_rfc3339(), "2026-10-24T04:00:00+02:00");
        assert_eq!(e.to_rfc3339(), "2026-10-25T04:00:00+01:00");
        assert_eq!((e - s).num_hours(), 25);
        // Half-hour DST.
        let (s, e) = day_bounds(date("2012-03-31"), FOUR, Lord_Howe);
        assert_eq!(s.to_rfc3339(), "2012-03-31T04:00:00+11:00");
        assert_eq!(e.to_rfc3339(), "2012-04-01T04:00:00+10:30");
    }

    #[test]
    fn a_day_the_clocks_skip_starts_at_the_next_instant() {
        // Samoa skipped 2011-12-30 entirely, jumping from the 29th to the 31st.
        let s = day_start(date("2011-12-30"), FOUR, Apia);
        assert_eq!(s.to_rfc3339(), "2011-12-31T00:00:00+14:00");
        assert!(s <= day_start(date("2011-12-31"), FOUR, Apia));
    }
}
