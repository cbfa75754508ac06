//! VTIMEZONE components generated from the IANA database bundled in chrono-tz.
//!
//! Rather than shipping hand-copied VTIMEZONE blocks or guessing RRULEs
//! (which go stale whenever a government changes its rules), each block lists
//! the zone's actual transitions as individual STANDARD/DAYLIGHT observances,
//! restricted to the window of instants the feed needs.
//!
//! chrono-tz keeps its transition table private, so [`transitions`] recovers
//! it by probing `offset_from_utc_datetime` and memoises the result per zone.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz, TzOffset, TZ_VARIANTS};

use super::writer::{fmt_local, IcalWriter};

/// One change of offset, abbreviation or DST flag in a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The instant the new offset starts.
    pub at: DateTime<Utc>,
    /// Seconds east of UTC in force before `at`.
    pub offset_before: i32,
    /// Seconds east of UTC in force from `at`.
    pub offset_after: i32,
    /// Abbreviation in force from `at` (e.g. "PDT"); numeric ones such as
    /// "+0530" are kept as chrono-tz gives them.
    pub abbreviation: String,
    /// Whether daylight saving is in force from `at`, i.e. chrono-tz's
    /// `dst_offset()` is *positive*.
    ///
    /// tzdata models Irish (and Moroccan, and 1990s Namibian) time with a
    /// *negative* DST offset in winter; treating "non-zero" as daylight would
    /// emit DAYLIGHT observances for Dublin's winter GMT and STANDARD ones for
    /// its summer IST, which calendar clients display backwards.
    pub is_dst: bool,
}

/// Start of the scanned range: 1900-01-01T00:00:00Z.
const SCAN_START: i64 = -2_208_988_800;
/// End of the scanned range: 2100-01-01T00:00:00Z. chrono-tz expands
/// recurring rules only up to 2099, so nothing changes after this anyway.
const SCAN_END: i64 = 4_102_444_800;
/// Probe spacing. Every zone's spans are far longer than this; a span
/// shorter than the step that returns to the same state would be missed.
const SCAN_STEP: i64 = 6 * 3600;

/// 1970-01-01T00:00:00, the conventional DTSTART for a zone with no
/// transitions in the window.
const EPOCH_LOCAL: &str = "19700101T000000";

/// Every transition of `tz` between 1900-01-01 and 2100-01-01 UTC, oldest
/// first.
///
/// The table is built once per zone per process (tens of milliseconds) and
/// shared afterwards: the cache is one `OnceLock` per zone, so readers never
/// take a lock and two threads building different zones never wait on each
/// other.
pub fn transitions(tz: Tz) -> Arc<[Transition]> {
    type Slot = OnceLock<Arc<[Transition]>>;
    static CACHE: OnceLock<Box<[Slot]>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| TZ_VARIANTS.iter().map(|_| OnceLock::new()).collect());
    // `Tz` is a field-less enum listed in declaration order in TZ_VARIANTS;
    // the bounds check guards against that ever changing.
    match cache.get(tz as usize) {
        Some(slot) => Arc::clone(slot.get_or_init(|| scan_transitions(tz))),
        None => scan_transitions(tz),
    }
}

/// The offset chrono-tz gives for a UTC timestamp (seconds).
fn offset_at(tz: Tz, ts: i64) -> TzOffset {
    let utc = DateTime::from_timestamp(ts, 0).expect("scan range is representable");
    tz.offset_from_utc_datetime(&utc.naive_utc())
}

fn total_seconds(off: &TzOffset) -> i32 {
    off.fix().local_minus_utc()
}

fn is_dst(off: &TzOffset) -> bool {
    off.dst_offset().num_seconds() > 0
}

fn abbreviation(off: &TzOffset) -> String {
    match off.abbreviation() {
        Some(name) => name.to_owned(),
        // chrono-tz leaves numeric abbreviations ("+0530") unnamed.
        None => off.to_string(),
    }
}

/// Walks the range at [`SCAN_STEP`] and bisects every change to the second.
fn scan_transitions(tz: Tz) -> Arc<[Transition]> {
    let mut out: Vec<Transition> = Vec::new();
    let mut t = SCAN_START;
    let mut cur = offset_at(tz, t);
    while t < SCAN_END {
        let next = (t + SCAN_STEP).min(SCAN_END);
        if offset_at(tz, next) == cur {
            t = next;
            continue;
        }
        // Invariant: `lo` has the current offset, `hi` does not.
        let (mut lo, mut hi) = (t, next);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if offset_at(tz, mid) == cur {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let new = offset_at(tz, hi);
        let (before, after) = (total_seconds(&cur), total_seconds(&new));
        let name = abbreviation(&new);
        // tzdata sometimes only re-splits base/DST offsets without any
        // visible change; such a transition would be a no-op observance.
        let visible = before != after || abbreviation(&cur) != name || is_dst(&cur) != is_dst(&new);
        if visible {
            out.push(Transition {
                at: DateTime::from_timestamp(hi, 0).expect("in range"),
                offset_before: before,
                offset_after: after,
                abbreviation: name,
                is_dst: is_dst(&new),
            });
        }
        cur = new;
        // Re-probe from the change itself: several changes may share a step.
        t = hi;
    }
    out.into()
}

/// Formats a UTC offset as `+HHMM`, or `+HHMMSS` when seconds are non-zero
/// (RFC 5545 §3.3.14).
fn fmt_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

/// Local wall-clock time of `ts` (UTC seconds) at `offset` seconds east.
fn local_at(ts: i64, offset: i32) -> NaiveDateTime {
    DateTime::from_timestamp(ts + i64::from(offset), 0)
        .expect("timestamp in chrono range")
        .naive_utc()
}

fn write_observance(w: &mut IcalWriter, dst: bool, dtstart: &str, from: i32, to: i32, name: &str) {
    let kind = if dst { "DAYLIGHT" } else { "STANDARD" };
    w.begin(kind);
    w.raw("DTSTART", dtstart);
    w.raw("TZOFFSETFROM", &fmt_offset(from));
    w.raw("TZOFFSETTO", &fmt_offset(to));
    w.text("TZNAME", name);
    w.end(kind);
}

/// Writes one VTIMEZONE for `tz` that is correct for every instant in
/// `[first, last]`.
///
/// TZID is the IANA name. There is one observance per transition, from the
/// last transition at or before `first` through the last one at or before
/// `last`; each has DTSTART in the local time of the offset in force
/// *before* it (RFC 5545 §3.6.5: DTSTART is interpreted in TZOFFSETFROM).
/// No RRULE: the observances list real transitions, so the block stays right
/// when a zone's rules change from one year to the next.
///
/// A zone without a transition at or before `first` (UTC, `Etc/GMT+5`, or a
/// zone whose last change predates 1900) starts with a single STANDARD
/// observance at 1970-01-01T00:00:00 (or `first`, if earlier) whose
/// TZOFFSETFROM and TZOFFSETTO are the offset in force at `first`. Windows
/// reaching before 1900 are only correct from 1900 onwards.
pub fn write_vtimezone(w: &mut IcalWriter, tz: Tz, first: DateTime<Utc>, last: DateTime<Utc>) {
    let table = transitions(tz);
    let last = last.max(first);
    // Number of transitions at or before each bound.
    let n_first = table.partition_point(|t| t.at <= first);
    let n_last = table.partition_point(|t| t.at <= last);

    w.begin("VTIMEZONE");
    w.raw("TZID", tz.name());
    let start = if n_first == 0 {
        let off = tz.offset_from_utc_datetime(&first.naive_utc());
        let offset = total_seconds(&off);
        // DTSTART must not lie after `first`, which it would for an
        // early-1970 window in a zone west of Greenwich.
        let epoch_utc = -i64::from(offset);
        let dtstart = if first.timestamp() < epoch_utc {
            fmt_local(&local_at(first.timestamp(), offset))
        } else {
            EPOCH_LOCAL.to_owned()
        };
        write_observance(w, false, &dtstart, offset, offset, &abbreviation(&off));
        0
    } else {
        n_first - 1
    };
    for t in &table[start..n_last] {
        let dtstart = fmt_local(&local_at(t.at.timestamp(), t.offset_before));
        write_observance(
            w,
            t.is_dst,
            &dtstart,
            t.offset_before,
            t.offset_after,
            &t.abbreviation,
        );
    }
    w.end("VTIMEZONE");
}

#[cfg(test)]
mod tests {
    use super::super::writer::unfold;
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    /// One observance as read back from a VTIMEZONE block.
    #[derive(Debug)]
    struct Observance {
        kind: String,
        /// DTSTART converted to UTC via TZOFFSETFROM.
        start_utc: i64,
        to: i32,
        name: String,
    }

    fn parse_offset(s: &str) -> i32 {
        let sign = match &s[..1] {
            "+" => 1,
            "-" => -1,
            _ => panic!("bad offset {s}"),
        };
        let digits = &s[1..];
        assert!(digits.len() == 4 || digits.len() == 6, "bad offset {s}");
        let h: i32 = digits[0..2].parse().unwrap();
        let m: i32 = digits[2..4].parse().unwrap();
        let sec: i32 = if digits.len() == 6 {
            digits[4..6].parse().unwrap()
        } else {
            0
        };
        sign * (h * 3600 + m * 60 + sec)
    }

    /// A tiny VTIMEZONE interpreter: enough of RFC 5545 to resolve a UTC
    /// instant against explicit observances (no RRULE/RDATE support, which
    /// doubles as a check that none are emitted).
    struct Interpreter {
        tzid: String,
        observances: Vec<Observance>,
    }

    /// An observance whose properties are still being read.
    #[derive(Default)]
    struct Pending {
        kind: String,
        start: Option<NaiveDateTime>,
        from: Option<i32>,
        to: Option<i32>,
        name: Option<String>,
    }

    impl Interpreter {
        fn parse(block: &str) -> Self {
            let text = unfold(block);
            let mut tzid = None;
            let mut observances = Vec::new();
            let mut cur: Option<Pending> = None;
            for line in text.split_terminator("\r\n") {
                let (name, value) = line.split_once(':').expect("content line");
                match name {
                    "BEGIN" if value == "STANDARD" || value == "DAYLIGHT" => {
                        assert!(cur.is_none(), "nested observance");
                        cur = Some(Pending {
                            kind: value.to_owned(),
                            ..Pending::default()
                        });
                    }
                    "END" if value == "STANDARD" || value == "DAYLIGHT" => {
                        let p = cur.take().expect("open observance");
                        assert_eq!(p.kind, value);
                        let start = p.start.expect("DTSTART");
                        let from = p.from.expect("TZOFFSETFROM");
                        observances.push(Observance {
                            kind: p.kind,
                            start_utc: start.and_utc().timestamp() - i64::from(from),
                            to: p.to.expect("TZOFFSETTO"),
                            name: p.name.expect("TZNAME"),
                        });
                    }
                    "BEGIN" | "END" => assert_eq!(value, "VTIMEZONE"),
                    "TZID" => {
                        assert!(tzid.replace(value.to_owned()).is_none(), "two TZIDs");
                    }
                    _ => {
                        let p = cur.as_mut().expect("property inside an observance");
                        let dup = match name {
                            "DTSTART" => p
                                .start
                                .replace(
                                    NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
                                        .expect("local DATE-TIME"),
                                )
                                .is_some(),
                            "TZOFFSETFROM" => p.from.replace(parse_offset(value)).is_some(),
                            "TZOFFSETTO" => p.to.replace(parse_offset(value)).is_some(),
                            "TZNAME" => p.name.replace(value.to_owned()).is_some(),
                            other => panic!("unexpected property {other}"),
                        };
                        assert!(!dup, "duplicate {name}");
                    }
                }
            }
            Interpreter {
                tzid: tzid.expect("TZID"),
                observances,
            }
        }

        /// The offset in force at `ts`: TZOFFSETTO of the observance with the
        /// latest start ≤ `ts`.
        fn offset_at(&self, ts: i64) -> Option<i32> {
            self.observances
                .iter()
                .filter(|o| o.start_utc <= ts)
                .max_by_key(|o| o.start_utc)
                .map(|o| o.to)
        }
    }

    fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn block(tz: Tz, first: DateTime<Utc>, last: DateTime<Utc>) -> String {
        let mut w = IcalWriter::new();
        write_vtimezone(&mut w, tz, first, last);
        w.finish()
    }

    fn chrono_offset(tz: Tz, ts: i64) -> i32 {
        total_seconds(&offset_at(tz, ts))
    }

    /// Checks `[first, last]` hourly and ±1 s around every transition.
    fn check_window(tz: Tz, first: DateTime<Utc>, last: DateTime<Utc>) {
        let text = block(tz, first, last);
        let interp = Interpreter::parse(&text);
        assert_eq!(interp.tzid, tz.name());
        let check = |ts: i64| {
            assert_eq!(
                interp.offset_at(ts),
                Some(chrono_offset(tz, ts)),
                "{} at {} in window {first}..{last}\n{text}",
                tz.name(),
                DateTime::from_timestamp(ts, 0).unwrap(),
            );
        };
        for o in &interp.observances {
            let dst = is_dst(&offset_at(tz, o.start_utc.max(SCAN_START)));
            assert_eq!(o.kind == "DAYLIGHT", dst, "{} {o:?}", tz.name());
        }
        let (a, b) = (first.timestamp(), last.timestamp());
        (a..=b).step_by(3600).for_each(check);
        check(b);
        for t in transitions(tz).iter() {
            let at = t.at.timestamp();
            for ts in [at - 1, at, at + 1] {
                if (a..=b).contains(&ts) {
                    check(ts);
                }
            }
        }
    }

    const ZONES: &[Tz] = &[
        Tz::America__Los_Angeles,
        Tz::America__New_York,
        Tz::Europe__London,
        Tz::Europe__Dublin,
        Tz::Europe__Berlin,
        Tz::Australia__Lord_Howe,
        Tz::Australia__Sydney,
        Tz::Asia__Kolkata,
        Tz::Asia__Tokyo,
        Tz::America__St_Johns,
        Tz::Pacific__Chatham,
        Tz::Asia__Kathmandu,
        Tz::America__Sao_Paulo,
        Tz::Pacific__Apia,
        Tz::Africa__Casablanca,
        Tz::UTC,
        Tz::Etc__GMTPlus5,
    ];

    const YEARS: &[i32] = &[1970, 1990, 2007, 2011, 2012, 2019, 2024, 2037];

    #[test]
    fn matches_chrono_tz_for_many_zones_and_years() {
        for &tz in ZONES {
            for &y in YEARS {
                check_window(tz, utc(y, 1, 1), utc(y + 1, 1, 1));
                check_window(tz, utc(y, 3, 7), utc(y, 3, 15));
                check_window(tz, utc(y, 10, 1), utc(y, 10, 4));
                check_window(tz, utc(y, 12, 29), utc(y + 1, 1, 2));
            }
        }
    }

    #[test]
    fn few_day_windows_around_every_transition() {
        for &tz in ZONES {
            let table = transitions(tz);
            for t in table.iter().filter(|t| t.at >= utc(1970, 1, 1)) {
                check_window(tz, t.at - Duration::days(2), t.at + Duration::days(2));
                // A window ending exactly at, and starting exactly at, a transition.
                check_window(tz, t.at - Duration::hours(5), t.at);
                check_window(tz, t.at, t.at + Duration::hours(5));
            }
        }
    }

    #[test]
    fn los_angeles_march_2012_exact() {
        // US rule since 2007 (Energy Policy Act of 2005): DST starts on the
        // second Sunday in March at 02:00 local standard time and ends on the
        // first Sunday in November at 02:00 local daylight time. So
        // 2011-11-06 02:00 PDT (09:00Z) → PST, and
        // 2012-03-11 02:00 PST (10:00Z) → PDT.
        let text = block(Tz::America__Los_Angeles, utc(2012, 3, 7), utc(2012, 3, 15));
        assert_eq!(
            text,
            "BEGIN:VTIMEZONE\r\n\
             TZID:America/Los_Angeles\r\n\
             BEGIN:STANDARD\r\n\
             DTSTART:20111106T020000\r\n\
             TZOFFSETFROM:-0700\r\n\
             TZOFFSETTO:-0800\r\n\
             TZNAME:PST\r\n\
             END:STANDARD\r\n\
             BEGIN:DAYLIGHT\r\n\
             DTSTART:20120311T020000\r\n\
             TZOFFSETFROM:-0800\r\n\
             TZOFFSETTO:-0700\r\n\
             TZNAME:PDT\r\n\
             END:DAYLIGHT\r\n\
             END:VTIMEZONE\r\n"
        );
        let la = transitions(Tz::America__Los_Angeles);
        let t = la
            .iter()
            .find(|t| t.at == Utc.with_ymd_and_hms(2012, 3, 11, 10, 0, 0).unwrap())
            .expect("2012 spring-forward transition");
        assert_eq!(
            *t,
            Transition {
                at: Utc.with_ymd_and_hms(2012, 3, 11, 10, 0, 0).unwrap(),
                offset_before: -8 * 3600,
                offset_after: -7 * 3600,
                abbreviation: "PDT".into(),
                is_dst: true,
            }
        );
    }

    #[test]
    fn zones_without_transitions_get_one_standard_observance() {
        for (tz, off, name) in [
            (Tz::UTC, "+0000", "UTC"),
            (Tz::Etc__GMTPlus5, "-0500", "-05"),
        ] {
            let text = block(tz, utc(2024, 1, 1), utc(2025, 1, 1));
            assert_eq!(
                text,
                format!(
                    "BEGIN:VTIMEZONE\r\nTZID:{}\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
                     TZOFFSETFROM:{off}\r\nTZOFFSETTO:{off}\r\nTZNAME:{name}\r\nEND:STANDARD\r\n\
                     END:VTIMEZONE\r\n",
                    tz.name()
                )
            );
        }
        // West of Greenwich, 1970-01-01T00:00 local is after 00:00Z, so a
        // window starting at the epoch must start its observance earlier.
        check_window(Tz::Etc__GMTPlus5, utc(1970, 1, 1), utc(1970, 1, 2));
        assert!(transitions(Tz::UTC).is_empty());
    }

    #[test]
    fn block_shape() {
        for &tz in ZONES {
            let text = block(tz, utc(2000, 1, 1), utc(2030, 1, 1));
            assert!(text.ends_with("\r\n"));
            for line in text.split_terminator("\r\n") {
                assert!(line.len() <= 75, "{line:?}");
                assert!(!line.contains(['\r', '\n']));
                for banned in ["DTSTAMP", "UID", "RRULE", "RDATE"] {
                    assert!(!line.starts_with(banned), "{line}");
                }
            }
            assert_eq!(text.matches("\r\nTZID:").count(), 1);
            assert!(text.contains(&format!("\r\nTZID:{}\r\n", tz.name())));
            let interp = Interpreter::parse(&text);
            assert!(!interp.observances.is_empty());
            assert!(interp.observances.iter().all(|o| !o.name.is_empty()));
        }
    }

    #[test]
    fn odd_offsets_and_dst_flags() {
        // Lord Howe: +10:30 standard, +11:00 in summer (30-minute DST).
        let lh = transitions(Tz::Australia__Lord_Howe);
        let t = lh
            .iter()
            .find(|t| t.at.timestamp() > utc(2024, 1, 1).timestamp())
            .unwrap();
        assert_eq!((t.offset_before, t.offset_after), (39600, 37800));
        assert!(!t.is_dst);
        assert_eq!(fmt_offset(37800), "+1030");
        assert_eq!(fmt_offset(-12600), "-0330");
        assert_eq!(fmt_offset(45900), "+1245");
        assert_eq!(fmt_offset(-17762), "-045602");
        assert_eq!(fmt_offset(0), "+0000");
        // Dublin: tzdata gives winter GMT a negative DST offset; neither
        // GMT nor IST counts as daylight here (see `Transition::is_dst`).
        let dublin = transitions(Tz::Europe__Dublin);
        let recent: Vec<_> = dublin.iter().filter(|t| t.at >= utc(2020, 1, 1)).collect();
        assert!(recent.iter().all(|t| !t.is_dst));
        assert!(recent.iter().any(|t| t.abbreviation == "IST"));
        // Apia skipped 2011-12-30 entirely: -10 → +14.
        let apia = transitions(Tz::Pacific__Apia);
        let skip = apia
            .iter()
            .find(|t| t.at.timestamp() > utc(2011, 12, 29).timestamp())
            .unwrap();
        assert_eq!((skip.offset_before, skip.offset_after), (-36000, 50400));
        // Sao Paulo: no transitions after DST was abolished in 2019.
        let sp = transitions(Tz::America__Sao_Paulo);
        assert!(sp.last().unwrap().at < utc(2019, 3, 1));
    }

    #[test]
    fn cache_slots_match_variants() {
        for (i, &tz) in TZ_VARIANTS.iter().enumerate() {
            assert_eq!(tz as usize, i);
        }
        let a = transitions(Tz::Europe__Berlin);
        let b = transitions(Tz::Europe__Berlin);
        assert!(Arc::ptr_eq(&a, &b));
        for pair in a.windows(2) {
            assert!(pair[0].at < pair[1].at);
            assert_eq!(pair[0].offset_after, pair[1].offset_before);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn prop_any_zone_any_instant(
            zone in 0..TZ_VARIANTS.len(),
            ts in utc(1970, 1, 1).timestamp()..utc(2100, 1, 1).timestamp(),
            before in 0i64..400 * 86400,
            after in 0i64..400 * 86400,
        ) {
            let tz = TZ_VARIANTS[zone];
            let first = DateTime::from_timestamp(ts - before, 0).unwrap();
            let last = DateTime::from_timestamp(ts + after, 0).unwrap();
            let interp = Interpreter::parse(&block(tz, first, last));
            for probe in [first.timestamp(), ts, last.timestamp()] {
                prop_assert_eq!(interp.offset_at(probe), Some(chrono_offset(tz, probe)),
                    "{} at {}", tz.name(), probe);
            }
        }
    }
}
