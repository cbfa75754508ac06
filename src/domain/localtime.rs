//! Wall-clock times in a conference's zone, and the daylight-saving rules.
//!
//! Schedules are written in local time ("14:00 on Friday"), but we store UTC
//! instants. The conversion is where calendars go wrong, so it is strict:
//! a local time that does not exist (in the spring-forward gap) is an error,
//! one that exists twice (in the fall-back hour) needs an explicit offset, and
//! an explicit offset must be one the zone really uses at that instant.

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;

/// Why a local time string could not become an instant. The messages are
/// shown to people who edit schedules, so they say how to fix the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    #[error("{0:?} is not a time of the form YYYY-MM-DDTHH:MM[:SS] with an optional offset such as -08:00")]
    Malformed(String),
    #[error("{local} does not exist in {tz}: the clocks skip it when daylight saving time begins")]
    Nonexistent { local: NaiveDateTime, tz: Tz },
    #[error("{local} happens twice in {tz} (the clocks go back); add the offset to say which: {earlier} for the first, {later} for the second")]
    Ambiguous {
        local: NaiveDateTime,
        tz: Tz,
        earlier: String,
        later: String,
    },
    #[error("{given} is not the offset of {tz} at {local} (it is {actual})")]
    OffsetDisagrees {
        local: NaiveDateTime,
        tz: Tz,
        given: String,
        actual: String,
    },
}

/// Parses `YYYY-MM-DDTHH:MM[:SS]` optionally followed by `Z` or `±HH:MM`,
/// read in `tz`, into a UTC instant.
pub fn parse_local(s: &str, tz: Tz) -> Result<DateTime<Utc>, LocalTimeError> {
    let malformed = || LocalTimeError::Malformed(s.to_owned());
    let (naive_part, offset) = split_offset(s).ok_or_else(malformed)?;
    let local = parse_naive(naive_part).ok_or_else(malformed)?;
    match offset {
        Some(offset) => {
            let instant = offset
                .from_local_datetime(&local)
                .single()
                .ok_or_else(malformed)?
                .with_timezone(&Utc);
            let actual = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
            if actual != offset {
                return Err(LocalTimeError::OffsetDisagrees {
                    local,
                    tz,
                    given: fmt_offset(offset),
                    actual: fmt_offset(actual),
                });
            }
            Ok(instant)
        }
        None => match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
            LocalResult::None => Err(LocalTimeError::Nonexistent { local, tz }),
            LocalResult::Ambiguous(a, b) => {
                let (first, second) = if a < b { (a, b) } else { (b, a) };
                Err(LocalTimeError::Ambiguous {
                    local,
                    tz,
                    earlier: fmt_offset(first.offset().fix()),
                    later: fmt_offset(second.offset().fix()),
                })
            }
        },
    }
}

/// `-08:00`, `+05:30`, `+00:00`: the form the schedule format takes.
pub fn fmt_offset(o: FixedOffset) -> String {
    let secs = o.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    if abs % 60 == 0 {
        format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60)
    } else {
        format!(
            "{sign}{:02}:{:02}:{:02}",
            abs / 3600,
            abs / 60 % 60,
            abs % 60
        )
    }
}

/// The instant in `tz` as a schedule-format string: local wall-clock time,
/// with the offset appended only where the local time alone would be
/// ambiguous. Parsing the result with [`parse_local`] gives back `instant`.
pub fn format_local(instant: DateTime<Utc>, tz: Tz) -> String {
    let local = instant.with_timezone(&tz);
    let naive = local.naive_local();
    let mut s = if naive.time().format("%S").to_string() == "00" {
        naive.format("%Y-%m-%dT%H:%M").to_string()
    } else {
        naive.format("%Y-%m-%dT%H:%M:%S").to_string()
    };
    if !matches!(tz.from_local_datetime(&naive), LocalResult::Single(_)) {
        s.push_str(&fmt_offset(local.offset().fix()));
    }
    s
}

/// The half-open UTC interval `[start, end)` covered by a local calendar day:
/// from the first instant of that date to the first instant of the next one.
/// (A day is 23 or 25 hours long around a daylight-saving change, and in a
/// few zones midnight itself does not exist on the day of the change.)
pub fn local_day_bounds(day: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = first_instant_of(day, tz);
    let end = first_instant_of(day.succ_opt().unwrap_or(NaiveDate::MAX), tz);
    (start, end)
}

fn first_instant_of(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    // Walk forward from midnight until a local time exists; gaps are at most
    // a few hours, so 15-minute steps over a day always find one.
    let mut t = day.and_time(NaiveTime::MIN);
    for _ in 0..96 {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.with_timezone(&Utc);
        }
        t += chrono::Duration::minutes(15);
    }
    Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN))
}

fn split_offset(s: &str) -> Option<(&str, Option<FixedOffset>)> {
    if let Some(rest) = s.strip_suffix('Z') {
        return Some((rest, Some(FixedOffset::east_opt(0)?)));
    }
    // The date part is exactly 10 bytes ("YYYY-MM-DD"); an offset sign can
    // only appear after the 'T'.
    let t = s.find('T')?;
    match s[t..].find(['+', '-']) {
        None => Some((s, None)),
        Some(i) => {
            let (naive, off) = s.split_at(t + i);
            Some((naive, Some(parse_offset(off)?)))
        }
    }
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let b = s.as_bytes();
    if b.len() != 6 || b[3] != b':' {
        return None;
    }
    let num = |x: &[u8]| -> Option<i32> {
        if x.iter().all(u8::is_ascii_digit) {
            Some(i32::from(x[0] - b'0') * 10 + i32::from(x[1] - b'0'))
        } else {
            None
        }
    };
    let (h, m) = (num(&b[1..3])?, num(&b[4..6])?);
    if h > 23 || m > 59 {
        return None;
    }
    let secs = h * 3600 + m * 60;
    match b[0] {
        b'+' => FixedOffset::east_opt(secs),
        b'-' => FixedOffset::west_opt(secs),
        _ => None,
    }
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    // Strict shapes only: chrono's parser alone would also take single-digit
    // fields, which makes typos silently valid.
    let t = match s.len() {
        16 => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").ok(),
        19 => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok(),
        _ => None,
    }?;
    // chrono reads ":60" as a leap second, which no zone's wall clock shows
    // and which does not survive storage as a timestamp (so re-importing
    // the same document would count as a change every time).
    (chrono::Timelike::nanosecond(&t) < 1_000_000_000).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::Los_Angeles as LA;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn pacific_standard_and_daylight_time() {
        // PST is UTC-8 before 2012-03-11 02:00, PDT is UTC-7 after it.
        assert_eq!(
            parse_local("2012-03-09T14:00", LA).unwrap(),
            utc("2012-03-09T22:00:00Z")
        );
        assert_eq!(
            parse_local("2012-03-12T14:00:30", LA).unwrap(),
            utc("2012-03-12T21:00:30Z")
        );
        assert_eq!(
            parse_local("2012-03-11T01:59", LA).unwrap(),
            utc("2012-03-11T09:59:00Z")
        );
        assert_eq!(
            parse_local("2012-03-11T03:00", LA).unwrap(),
            utc("2012-03-11T10:00:00Z")
        );
    }

    #[test]
    fn spring_forward_gap_is_rejected() {
        for s in [
            "2012-03-11T02:00",
            "2012-03-11T02:30",
            "2012-03-11T02:59:59",
        ] {
            let err = parse_local(s, LA).unwrap_err();
            assert!(
                matches!(err, LocalTimeError::Nonexistent { .. }),
                "{s}: {err}"
            );
            assert!(err.to_string().contains("does not exist"));
        }
    }

    #[test]
    fn fall_back_hour_needs_an_offset() {
        let err = parse_local("2012-11-04T01:30", LA).unwrap_err();
        assert_eq!(
            err,
            LocalTimeError::Ambiguous {
                local: "2012-11-04T01:30:00".parse().unwrap(),
                tz: LA,
                earlier: "-07:00".into(),
                later: "-08:00".into(),
            }
        );
        assert!(err.to_string().contains("add the offset"));
        assert_eq!(
            parse_local("2012-11-04T01:30-07:00", LA).unwrap(),
            utc("2012-11-04T08:30:00Z")
        );
        assert_eq!(
            parse_local("2012-11-04T01:30-08:00", LA).unwrap(),
            utc("2012-11-04T09:30:00Z")
        );
    }

    #[test]
    fn offset_must_agree_with_zone() {
        let err = parse_local("2012-03-09T14:00-07:00", LA).unwrap_err();
        assert!(
            matches!(err, LocalTimeError::OffsetDisagrees { .. }),
            "{err}"
        );
        let err = parse_local("2012-07-01T14:00-08:00", LA).unwrap_err();
        assert!(err.to_string().contains("it is -07:00"), "{err}");
        assert!(parse_local("2012-07-01T14:00Z", LA).is_err());
        assert_eq!(
            parse_local("2012-07-01T14:00Z", chrono_tz::UTC).unwrap(),
            utc("2012-07-01T14:00:00Z")
        );
        assert_eq!(
            parse_local("2012-07-01T14:00+05:30", chrono_tz::Asia::Kolkata).unwrap(),
            utc("2012-07-01T08:30:00Z")
        );
    }

    #[test]
    fn malformed_times_are_rejected() {
        for s in [
            "",
            "2012-03-09",
            "2012-03-09 14:00",
            "2012-3-9T14:00",
            "2012-03-09T14",
            "2012-03-09T25:00",
            "2012-02-30T10:00",
            "2012-03-09T14:00:00.5",
            "2012-03-09T14:00+8",
            "2012-03-09T14:00-08:60",
            "2012-03-09T14:00-0800",
            "friday",
        ] {
            assert!(
                matches!(parse_local(s, LA), Err(LocalTimeError::Malformed(_))),
                "{s:?} accepted"
            );
        }
    }

    #[test]
    fn format_local_round_trips_through_both_sides_of_dst() {
        let mut t = utc("2012-03-10T00:00:00Z");
        let end = utc("2012-11-06T00:00:00Z");
        while t < end {
            let s = format_local(t, LA);
            assert_eq!(parse_local(&s, LA).unwrap(), t, "{s}");
            t += chrono::Duration::minutes(17);
        }
        assert_eq!(
            format_local(utc("2012-11-04T09:30:00Z"), LA),
            "2012-11-04T01:30-08:00"
        );
        assert_eq!(
            format_local(utc("2012-03-09T22:00:00Z"), LA),
            "2012-03-09T14:00"
        );
    }

    #[test]
    fn local_days_are_23_24_or_25_hours() {
        let hours = |d: &str| {
            let (a, b) = local_day_bounds(d.parse().unwrap(), LA);
            (b - a).num_hours()
        };
        assert_eq!(hours("2012-03-10"), 24);
        assert_eq!(hours("2012-03-11"), 23);
        assert_eq!(hours("2012-11-04"), 25);
        let (start, _) = local_day_bounds("2012-03-09".parse().unwrap(), LA);
        assert_eq!(start, utc("2012-03-09T08:00:00Z"));
    }
}
