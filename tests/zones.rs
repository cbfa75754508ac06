//! VTIMEZONE blocks against readers that follow RFC 5545 and MS-OXCICAL
//! (`support/vtimezone_reader.rs`, which shares no code with confcal):
//! every instant a [`ZonePlan`] says it represents is read back as itself
//! by both, for many zones and years, around every transition since 1970,
//! and for any zone and span (proptest); and the instants it leaves to UTC
//! are only the ones no single rule pair can carry.

#[path = "support/vtimezone_reader.rs"]
#[allow(dead_code)]
mod reader;

use chrono::{DateTime, Duration, LocalResult, Offset, TimeZone, Utc};
use chrono_tz::{Tz, TZ_VARIANTS};
use proptest::prelude::*;

use confcal::ical::vtimezone::{transitions, ZonePlan};
use confcal::ical::writer::IcalWriter;
use reader::{wall, Vtimezone};

fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn real_offset(tz: Tz, ts: i64) -> i64 {
    let t = DateTime::from_timestamp(ts, 0).unwrap();
    i64::from(
        tz.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// Whether `ts`'s wall-clock time in `tz` names one instant only.
fn unambiguous(tz: Tz, ts: i64) -> bool {
    let local = wall(ts, real_offset(tz, ts));
    matches!(tz.from_local_datetime(&local), LocalResult::Single(_))
}

/// The plan and its block as read back.
fn plan(tz: Tz, first: DateTime<Utc>, last: DateTime<Utc>) -> (ZonePlan, Vtimezone) {
    let plan = ZonePlan::new(tz, first, last);
    let mut w = IcalWriter::new();
    plan.write(&mut w);
    let text = w.finish();
    let lines: Vec<String> = text
        .split_terminator("\r\n")
        .map(|l| {
            assert!(l.len() <= 75 && !l.starts_with(' '), "{l:?}");
            l.to_owned()
        })
        .collect();
    let block = Vtimezone::read(&lines, tz.name());
    // Outlook must accept the block as one rule pair.
    block.outlook_pair();
    (plan, block)
}

/// Checks one instant: when the plan represents it, both readers resolve
/// its wall-clock time to it and nothing else. Returns whether it was
/// represented.
fn check(tz: Tz, plan: &mut ZonePlan, block: &Vtimezone, ts: i64) -> bool {
    let t = DateTime::from_timestamp(ts, 0).unwrap();
    if !plan.represents(t) {
        return false;
    }
    let local = wall(ts, real_offset(tz, ts));
    assert_eq!(
        block.resolve_rfc(local),
        vec![ts],
        "RFC 5545 reader, {} at {t} ({local})\n{block:?}",
        tz.name()
    );
    assert_eq!(
        block.resolve_outlook(local),
        vec![ts],
        "MS-OXCICAL reader, {} at {t} ({local})\n{block:?}",
        tz.name()
    );
    true
}

/// Probes `[first, last]` every hour or three and ±1 s around every transition in it;
/// returns the probes the plan left to UTC.
fn check_window(tz: Tz, first: DateTime<Utc>, last: DateTime<Utc>) -> Vec<i64> {
    let (mut p, block) = plan(tz, first, last);
    let (a, b) = (first.timestamp(), last.timestamp());
    // Hourly, or every three hours over long spans (the transitions get
    // their own probes either way).
    let step = if b - a > 40 * 86400 { 3 * 3600 } else { 3600 };
    let mut probes: Vec<i64> = (a..=b).step_by(step).chain([b]).collect();
    for t in transitions(tz).iter() {
        let at = t.at.timestamp();
        probes.extend(
            [at - 1, at, at + 1]
                .into_iter()
                .filter(|ts| (a..=b).contains(ts)),
        );
    }
    probes
        .into_iter()
        .filter(|&ts| !check(tz, &mut p, &block, ts))
        .collect()
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
    Tz::America__Santiago,
    Tz::Pacific__Apia,
    Tz::Africa__Casablanca,
    Tz::Asia__Jerusalem,
    Tz::UTC,
    Tz::Etc__GMTPlus5,
];

const YEARS: &[i32] = &[1970, 1990, 2006, 2007, 2011, 2012, 2019, 2024, 2037];

#[test]
fn what_the_plan_claims_both_readers_read_right() {
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
fn around_every_transition_since_1970() {
    for &tz in ZONES {
        for t in transitions(tz).iter().filter(|t| t.at >= utc(1970, 1, 1)) {
            check_window(tz, t.at - Duration::days(2), t.at + Duration::days(2));
            check_window(tz, t.at - Duration::hours(5), t.at);
            check_window(tz, t.at, t.at + Duration::hours(5));
        }
    }
}

/// Zones that follow one yearly rule (or none) get every instant of a
/// year of it in local time, but for the repeated hour of a fall-back.
#[test]
fn rule_following_zones_leave_only_the_repeated_hour_to_utc() {
    // Zones whose changes in these years follow no one yearly rule (or
    // Brazil's, Chile's, Samoa's, Morocco's and Israel's date-by-decree
    // rules) may leave more to UTC; the others must not.
    let irregular = [
        Tz::America__Sao_Paulo,
        Tz::America__Santiago,
        Tz::Pacific__Apia,
        Tz::Africa__Casablanca,
        Tz::Asia__Jerusalem,
    ];
    let zones = ZONES.iter().copied().filter(|z| !irregular.contains(z));
    for tz in zones {
        for y in [2012, 2019, 2024] {
            // From 2 January: a southern zone's rule may begin in its
            // first year with an onset in the (local) previous year.
            let left = check_window(tz, utc(y, 1, 2), utc(y, 12, 30));
            for ts in left {
                assert!(
                    !unambiguous(tz, ts),
                    "{} {y}: {} left to UTC",
                    tz.name(),
                    DateTime::from_timestamp(ts, 0).unwrap()
                );
            }
        }
    }
    // Los Angeles 2006 under the rules of 2006, and a feed spanning 2006
    // and 2012 under the later rule, its 2006 instants in UTC.
    assert!(
        check_window(Tz::America__Los_Angeles, utc(2006, 3, 1), utc(2006, 11, 1))
            .into_iter()
            .all(|ts| !unambiguous(Tz::America__Los_Angeles, ts))
    );
    let (mut p, block) = plan(Tz::America__Los_Angeles, utc(2006, 4, 1), utc(2012, 3, 15));
    assert!(!check(
        Tz::America__Los_Angeles,
        &mut p,
        &block,
        utc(2006, 4, 10).timestamp()
    ));
    assert!(check(
        Tz::America__Los_Angeles,
        &mut p,
        &block,
        utc(2012, 3, 12).timestamp()
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn any_zone_any_span(
        zone in 0..TZ_VARIANTS.len(),
        ts in utc(1970, 1, 1).timestamp()..utc(2099, 1, 1).timestamp(),
        before in 0i64..400 * 86400,
        after in 0i64..400 * 86400,
    ) {
        let tz = TZ_VARIANTS[zone];
        let first = DateTime::from_timestamp(ts - before, 0).unwrap();
        let last = DateTime::from_timestamp(ts + after, 0).unwrap();
        let (mut p, block) = plan(tz, first, last);
        for probe in [first.timestamp(), ts, last.timestamp()] {
            check(tz, &mut p, &block, probe);
        }
    }
}
