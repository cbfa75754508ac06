//! VTIMEZONE components generated from the IANA database bundled in chrono-tz,
//! in the one form that every calendar client reads right.
//!
//! Outlook and Exchange collapse a VTIMEZONE to a single yearly rule pair,
//! like a Windows time zone (MS-OXCICAL §2.1.3.1.1.19): they parse only the
//! STANDARD and the DAYLIGHT with the largest DTSTART, need both to carry
//! `RRULE:FREQ=YEARLY;BYMONTH=…;BYDAY=<n><weekday>` (or `BYMONTHDAY`), and
//! apply that pair to every year. A block listing one observance per real
//! transition, which RFC 5545 parsers read perfectly, therefore puts every
//! daylight-time event an hour off in Outlook. So each zone is written as
//! the rule in force at the feed's events ([`ZonePlan`]): one DAYLIGHT and
//! one STANDARD with yearly RRULEs, DTSTART at each rule's first onset, or a
//! single STANDARD without RRULE for a zone that keeps one offset.
//!
//! The rule is derived from the zone's own transitions (never from a
//! hand-written table) and checked against them for every year it is used
//! in: [`ZonePlan::represents`] is false for an instant that the rule pair
//! would get wrong in any reader (a year under other rules, a zone whose
//! changes follow no yearly rule, the repeated hour of a fall-back), and the
//! feed writes such instants in UTC instead.
//!
//! chrono-tz keeps its transition table private, so [`transitions`] recovers
//! it by probing `offset_from_utc_datetime` and memoises the result per zone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
    Weekday,
};
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

/// First and last years a rule is ever checked against: the scanned range.
const FIRST_YEAR: i32 = 1900;
const LAST_YEAR: i32 = 2099;

/// 00:00:00Z on 1 January of `year`, as a timestamp.
fn year_start(year: i32) -> i64 {
    NaiveDate::from_ymd_opt(year, 1, 1)
        .expect("year in range")
        .and_time(NaiveTime::MIN)
        .and_utc()
        .timestamp()
}

fn year_of(ts: i64) -> i32 {
    DateTime::from_timestamp(ts, 0)
        .expect("timestamp in range")
        .year()
}

/// The day of a yearly rule, in the two forms MS-OXCICAL accepts: one
/// weekday occurrence in the month (`2SU`, `-1SU`) or a day of the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    /// The n-th (1–4) or, for -1, the last such weekday of the month.
    Nth(i8, Weekday),
    MonthDay(u32),
}

/// "The second Sunday of March at 02:00": one yearly onset, in the local
/// time of the offset in force before it (RFC 5545 §3.6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct YearlyRule {
    month: u32,
    day: Day,
    time: NaiveTime,
}

impl YearlyRule {
    /// The rules that name `local`'s day, most specific first: the n-th
    /// weekday, the last weekday, the fixed date. Which one the zone really
    /// follows shows only across years (see [`Observance::derive`]).
    fn candidates(local: NaiveDateTime) -> Vec<YearlyRule> {
        let date = local.date();
        let (month, time) = (date.month(), local.time());
        let rule = |day| YearlyRule { month, day, time };
        let mut out = Vec::with_capacity(3);
        let n = (date.day() - 1) / 7 + 1;
        if n <= 4 {
            out.push(rule(Day::Nth(n as i8, date.weekday())));
        }
        if (date + chrono::Duration::days(7)).month() != month {
            out.push(rule(Day::Nth(-1, date.weekday())));
        }
        out.push(rule(Day::MonthDay(date.day())));
        out
    }

    fn date(&self, year: i32) -> Option<NaiveDate> {
        match self.day {
            Day::Nth(n, wd) if n > 0 => {
                NaiveDate::from_weekday_of_month_opt(year, self.month, wd, n as u8)
            }
            Day::Nth(_, wd) => {
                let next = if self.month == 12 {
                    NaiveDate::from_ymd_opt(year + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(year, self.month + 1, 1)
                }?;
                let last = next.pred_opt()?;
                let back =
                    (7 + last.weekday().num_days_from_monday() - wd.num_days_from_monday()) % 7;
                Some(last - chrono::Duration::days(i64::from(back)))
            }
            Day::MonthDay(d) => NaiveDate::from_ymd_opt(year, self.month, d),
        }
    }

    fn local(&self, year: i32) -> Option<NaiveDateTime> {
        Some(self.date(year)?.and_time(self.time))
    }

    /// The RRULE value: `FREQ=YEARLY;BYMONTH=3;BYDAY=2SU`.
    fn rrule(&self) -> String {
        let day = match self.day {
            Day::Nth(n, wd) => {
                let wd = match wd {
                    Weekday::Mon => "MO",
                    Weekday::Tue => "TU",
                    Weekday::Wed => "WE",
                    Weekday::Thu => "TH",
                    Weekday::Fri => "FR",
                    Weekday::Sat => "SA",
                    Weekday::Sun => "SU",
                };
                format!("BYDAY={n}{wd}")
            }
            Day::MonthDay(d) => format!("BYMONTHDAY={d}"),
        };
        format!("FREQ=YEARLY;BYMONTH={};{day}", self.month)
    }
}

/// One side of a rule pair: the yearly onset of one offset.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observance {
    rule: YearlyRule,
    from: i32,
    to: i32,
    name: String,
    /// The year of the rule's first onset: DTSTART, and the first year an
    /// RFC 5545 reader applies it.
    first_year: i32,
}

impl Observance {
    /// The onset in `year`, as a UTC timestamp.
    fn onset(&self, year: i32) -> Option<i64> {
        Some(self.rule.local(year)?.and_utc().timestamp() - i64::from(self.from))
    }

    /// Whether the zone really changed from `from` to `to` at this rule's
    /// onset in `year`.
    fn holds(&self, table: &[Transition], year: i32) -> bool {
        let Some(at) = self.onset(year) else {
            return false;
        };
        let i = table.partition_point(|t| t.at.timestamp() < at);
        table.get(i).is_some_and(|t| {
            t.at.timestamp() == at && t.offset_before == self.from && t.offset_after == self.to
        })
    }

    /// The observance behind the real transition `t` of `year`: of the
    /// rules naming its day, the one the zone followed for the longest run
    /// of years through `year`, starting at the run's first year.
    fn derive(table: &[Transition], t: &Transition, year: i32) -> Observance {
        let local = local_at(t.at.timestamp(), t.offset_before);
        let mut best: Option<(i32, Observance)> = None;
        for rule in YearlyRule::candidates(local) {
            let mut o = Observance {
                rule,
                from: t.offset_before,
                to: t.offset_after,
                name: t.abbreviation.clone(),
                first_year: year,
            };
            while o.first_year > FIRST_YEAR && o.holds(table, o.first_year - 1) {
                o.first_year -= 1;
            }
            let mut last = year;
            while last < LAST_YEAR && o.holds(table, last + 1) {
                last += 1;
            }
            let run = last - o.first_year;
            if best.as_ref().map_or(true, |(b, _)| run > *b) {
                best = Some((run, o));
            }
        }
        best.expect("a date always has its month-day rule").1
    }
}

/// How one zone is written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    /// One offset all year: a single STANDARD without RRULE, in force from
    /// `since` (a UTC timestamp; `None` for a zone that never changed in
    /// the scanned range, whose DTSTART is then 1970-01-01, or the feed's
    /// first instant if earlier).
    Fixed {
        offset: i32,
        name: String,
        since: Option<i64>,
    },
    /// One yearly rule pair: into daylight (the larger offset) and back.
    Yearly {
        daylight: Observance,
        standard: Observance,
    },
}

impl Form {
    /// The forms that describe `year` of the zone, if any does: a fixed
    /// offset when nothing changed in it, a rule pair when exactly two
    /// changes took the zone from one offset to another and back.
    fn derive(tz: Tz, table: &[Transition], year: i32) -> Option<Form> {
        let (a, b) = (year_start(year), year_start(year + 1));
        let lo = table.partition_point(|t| t.at.timestamp() < a);
        let hi = table.partition_point(|t| t.at.timestamp() < b);
        let changes: Vec<&Transition> = table[lo..hi]
            .iter()
            .filter(|t| t.offset_before != t.offset_after)
            .collect();
        match changes[..] {
            [] => {
                let off = offset_at(tz, a);
                let since = table[..lo]
                    .iter()
                    .rev()
                    .find(|t| t.offset_before != t.offset_after)
                    .map(|t| t.at.timestamp());
                Some(Form::Fixed {
                    offset: total_seconds(&off),
                    name: abbreviation(&off),
                    since,
                })
            }
            [x, y] if x.offset_after == y.offset_before && x.offset_before == y.offset_after => {
                let (up, down) = if x.offset_after > x.offset_before {
                    (x, y)
                } else {
                    (y, x)
                };
                Some(Form::Yearly {
                    daylight: Observance::derive(table, up, year),
                    standard: Observance::derive(table, down, year),
                })
            }
            _ => None,
        }
    }

    /// The offset at `ts` as MS-OXCICAL reads the form: the rule pair
    /// applied to every year, whatever its DTSTART.
    fn outlook_offset(&self, ts: i64) -> i32 {
        self.latest_onset(ts, false).unwrap_or(match self {
            Form::Fixed { offset, .. } => *offset,
            // Both rules have an onset in the previous year.
            Form::Yearly { standard, .. } => standard.to,
        })
    }

    /// The offset at `ts` as RFC 5545 reads the form: the observance with
    /// the latest onset at or before `ts`, counting onsets from DTSTART on;
    /// `None` before the first one, where readers disagree.
    fn rfc_offset(&self, ts: i64) -> Option<i32> {
        self.latest_onset(ts, true)
    }

    fn latest_onset(&self, ts: i64, from_dtstart: bool) -> Option<i32> {
        match self {
            Form::Fixed { offset, since, .. } => {
                (!from_dtstart || since.map_or(true, |s| s <= ts)).then_some(*offset)
            }
            Form::Yearly { daylight, standard } => {
                let year = year_of(ts);
                let mut best: Option<(i64, i32)> = None;
                for o in [daylight, standard] {
                    for y in year - 1..=year {
                        if from_dtstart && y < o.first_year {
                            continue;
                        }
                        if let Some(at) = o.onset(y).filter(|&at| at <= ts) {
                            if best.map_or(true, |(b, _)| at > b) {
                                best = Some((at, o.to));
                            }
                        }
                    }
                }
                best.map(|(_, to)| to)
            }
        }
    }

    /// Whether the form gives every instant of UTC year `year` its real
    /// offset in a reader that applies it to every year (MS-OXCICAL): the
    /// same changes at the same instants, and the same offset at the start.
    fn fits_year(&self, tz: Tz, table: &[Transition], year: i32) -> bool {
        let (a, b) = (year_start(year), year_start(year + 1));
        let lo = table.partition_point(|t| t.at.timestamp() < a);
        let hi = table.partition_point(|t| t.at.timestamp() < b);
        let real = table[lo..hi]
            .iter()
            .filter(|t| t.offset_before != t.offset_after)
            .map(|t| (t.at.timestamp(), t.offset_after));
        let mut ours: Vec<(i64, i32)> = Vec::new();
        if let Form::Yearly { daylight, standard } = self {
            for o in [daylight, standard] {
                for y in year - 1..=year + 1 {
                    if let Some(at) = o.onset(y).filter(|at| (a..b).contains(at)) {
                        ours.push((at, o.to));
                    }
                }
            }
            ours.sort_unstable();
        }
        real.eq(ours.iter().copied()) && self.outlook_offset(a) == total_seconds(&offset_at(tz, a))
    }
}

/// How one zone of a feed is written, chosen from the feed's span of
/// instants, and which of its instants that form carries right.
#[derive(Debug, Clone)]
pub struct ZonePlan {
    tz: Tz,
    table: Arc<[Transition]>,
    form: Form,
    /// Years already checked with [`Form::fits_year`]; a feed touches few.
    checked: Vec<(i32, bool)>,
    /// The feed's first instant (a UTC timestamp), where a fixed offset that
    /// never changed starts if that is before 1970.
    first: i64,
}

/// [`Form::derive`] for `tz` and `year`, remembered: deriving walks the
/// rule's years back and forth (tens of microseconds), and every render of
/// a feed asks again. At most one entry per zone and scanned year.
fn derived(tz: Tz, table: &[Transition], year: i32) -> Option<Form> {
    type Memo = Mutex<HashMap<(usize, i32), Option<Form>>>;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    let memo = MEMO.get_or_init(Memo::default);
    let key = (tz as usize, year);
    if let Some(form) = memo.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return form.clone();
    }
    let form = Form::derive(tz, table, year);
    memo.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, form.clone());
    form
}

/// At most this many years of a feed's span are tried as the source of its
/// rule (the first and the most recent ones); every year can still be
/// checked when used.
const CANDIDATE_YEARS: usize = 30;

impl ZonePlan {
    /// The form for a feed whose instants in `tz` span `[first, last]`: of
    /// the forms the years of that span follow, the one that fits most of
    /// those years, the most recent on a tie (the rule in force now is what
    /// an agenda's upcoming talks need).
    pub fn new(tz: Tz, first: DateTime<Utc>, last: DateTime<Utc>) -> ZonePlan {
        let table = transitions(tz);
        let clamp = |y: i32| y.clamp(FIRST_YEAR, LAST_YEAR);
        let (y0, y1) = (clamp(first.year()), clamp(last.max(first).year()));
        let mut years: Vec<i32> = (y0..=y1).collect();
        if years.len() > CANDIDATE_YEARS {
            let recent = years.split_off(years.len() - (CANDIDATE_YEARS - 5));
            years.truncate(5);
            years.extend(recent);
        }
        let mut best: Option<(usize, Form)> = None;
        for &y in years.iter().rev() {
            let Some(form) = derived(tz, &table, y) else {
                continue;
            };
            if best.as_ref().is_some_and(|(_, f)| *f == form) {
                continue;
            }
            let fits = years
                .iter()
                .filter(|&&y| form.fits_year(tz, &table, y))
                .count();
            if best.as_ref().map_or(true, |(n, _)| fits > *n) {
                best = Some((fits, form));
            }
        }
        // No year of the span follows a yearly rule: a fixed offset that
        // fits none of them, so every instant is written in UTC.
        let form = best.map(|(_, f)| f).unwrap_or_else(|| {
            let off = offset_at(tz, first.timestamp());
            Form::Fixed {
                offset: total_seconds(&off),
                name: abbreviation(&off),
                since: Some(first.timestamp()),
            }
        });
        ZonePlan {
            tz,
            table,
            form,
            first: first.timestamp(),
            checked: Vec::new(),
        }
    }

    fn fits(&mut self, year: i32) -> bool {
        if let Some(&(_, ok)) = self.checked.iter().find(|(y, _)| *y == year) {
            return ok;
        }
        let ok = (FIRST_YEAR..=LAST_YEAR).contains(&year)
            && self.form.fits_year(self.tz, &self.table, year);
        self.checked.push((year, ok));
        ok
    }

    /// True when `DTSTART;TZID=…` with the local time of `t` is read back
    /// as `t` by an RFC 5545 reader and by one following MS-OXCICAL: the
    /// wall-clock time names one instant (not the repeated hour of a
    /// fall-back, which readers resolve differently), the rule pair matches
    /// the zone in `t`'s year (UTC and local), and `t` lies after the
    /// block's first onset.
    pub fn represents(&mut self, t: DateTime<Utc>) -> bool {
        let ts = t.timestamp();
        let real = total_seconds(&offset_at(self.tz, ts));
        let local = local_at(ts, real);
        matches!(self.tz.from_local_datetime(&local), LocalResult::Single(_))
            && self.fits(t.year())
            && self.fits(local.year())
            && self.rfc_offset(ts) == Some(real)
    }

    /// [`Form::rfc_offset`], with the DTSTART [`ZonePlan::write`] gives a
    /// zone that never changed.
    fn rfc_offset(&self, ts: i64) -> Option<i32> {
        match &self.form {
            Form::Fixed {
                offset,
                since: None,
                ..
            } => (ts >= self.first.min(-i64::from(*offset))).then_some(*offset),
            form => form.rfc_offset(ts),
        }
    }

    /// Writes the VTIMEZONE.
    pub fn write(&self, w: &mut IcalWriter) {
        w.begin("VTIMEZONE");
        w.raw("TZID", self.tz.name());
        match &self.form {
            Form::Fixed {
                offset,
                name,
                since,
            } => {
                w.begin("STANDARD");
                let since = since.unwrap_or_else(|| self.first.min(-i64::from(*offset)));
                w.raw("DTSTART", &fmt_local(&local_at(since, *offset)));
                w.raw("TZOFFSETFROM", &fmt_offset(*offset));
                w.raw("TZOFFSETTO", &fmt_offset(*offset));
                w.text("TZNAME", name);
                w.end("STANDARD");
            }
            Form::Yearly { daylight, standard } => {
                for (kind, o) in [("STANDARD", standard), ("DAYLIGHT", daylight)] {
                    let dtstart = o.rule.local(o.first_year).expect("the rule held that year");
                    w.begin(kind);
                    w.raw("DTSTART", &fmt_local(&dtstart));
                    w.raw("RRULE", &o.rule.rrule());
                    w.raw("TZOFFSETFROM", &fmt_offset(o.from));
                    w.raw("TZOFFSETTO", &fmt_offset(o.to));
                    w.text("TZNAME", &o.name);
                    w.end(kind);
                }
            }
        }
        w.end("VTIMEZONE");
    }
}

/// Writes one VTIMEZONE for `tz` planned for the instants `[first, last]`
/// (see [`ZonePlan`]).
pub fn write_vtimezone(w: &mut IcalWriter, tz: Tz, first: DateTime<Utc>, last: DateTime<Utc>) {
    ZonePlan::new(tz, first, last).write(w);
}

#[cfg(test)]
mod tests {
    //! The rule machinery on its own. That every instant a plan claims is
    //! read back right by RFC 5545 and MS-OXCICAL readers is checked by
    //! `tests/zones.rs` and `tests/props.rs`, with a reader of their own.
    use super::*;

    fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn block(tz: Tz, first: DateTime<Utc>, last: DateTime<Utc>) -> String {
        let mut w = IcalWriter::new();
        write_vtimezone(&mut w, tz, first, last);
        w.finish()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn rule_dates() {
        let two = NaiveTime::from_hms_opt(2, 0, 0).unwrap();
        let rule = |month, day| YearlyRule {
            month,
            day,
            time: two,
        };
        let second_sunday_march = rule(3, Day::Nth(2, Weekday::Sun));
        assert_eq!(second_sunday_march.date(2012), Some(date(2012, 3, 11)));
        assert_eq!(second_sunday_march.date(2007), Some(date(2007, 3, 11)));
        assert_eq!(
            second_sunday_march.rrule(),
            "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"
        );
        let last_sunday_october = rule(10, Day::Nth(-1, Weekday::Sun));
        assert_eq!(last_sunday_october.date(2006), Some(date(2006, 10, 29)));
        assert_eq!(last_sunday_october.date(2026), Some(date(2026, 10, 25)));
        assert_eq!(
            last_sunday_october.rrule(),
            "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"
        );
        let last_friday_december = rule(12, Day::Nth(-1, Weekday::Fri));
        assert_eq!(last_friday_december.date(2021), Some(date(2021, 12, 31)));
        let leap = rule(2, Day::MonthDay(29));
        assert_eq!(leap.date(2024), Some(date(2024, 2, 29)));
        assert_eq!(leap.date(2023), None);
        assert_eq!(leap.rrule(), "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29");
    }

    #[test]
    fn candidates_name_the_same_day() {
        for local in [
            date(2012, 3, 11).and_hms_opt(2, 0, 0).unwrap(),
            date(2012, 3, 25).and_hms_opt(1, 0, 0).unwrap(),
            date(2012, 10, 31).and_hms_opt(0, 0, 0).unwrap(),
            date(2012, 2, 29).and_hms_opt(0, 0, 0).unwrap(),
        ] {
            let all = YearlyRule::candidates(local);
            assert!(!all.is_empty());
            for r in all {
                assert_eq!(r.local(2012), Some(local), "{r:?}");
            }
        }
        // 25 March 2012 is both the fourth and the last Sunday.
        let both = YearlyRule::candidates(date(2012, 3, 25).and_hms_opt(1, 0, 0).unwrap());
        assert_eq!(both.len(), 3);
    }

    /// The rule each zone follows comes from the transitions, with its
    /// first onset as DTSTART.
    #[test]
    fn derived_rules() {
        let form = |tz, y| ZonePlan::new(tz, utc(y, 6, 1), utc(y, 6, 2)).form;
        let Form::Yearly { daylight, standard } = form(Tz::America__Los_Angeles, 2012) else {
            panic!("Los Angeles has DST");
        };
        assert_eq!(daylight.rule.rrule(), "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU");
        assert_eq!(standard.rule.rrule(), "FREQ=YEARLY;BYMONTH=11;BYDAY=1SU");
        assert_eq!((daylight.first_year, standard.first_year), (2007, 2007));
        assert_eq!((daylight.from, daylight.to), (-8 * 3600, -7 * 3600));
        let Form::Yearly { daylight, standard } = form(Tz::America__Los_Angeles, 2006) else {
            panic!("Los Angeles had DST in 2006");
        };
        assert_eq!(daylight.rule.rrule(), "FREQ=YEARLY;BYMONTH=4;BYDAY=1SU");
        assert_eq!(standard.rule.rrule(), "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU");
        assert_eq!(daylight.first_year, 1987);
        // The EU's last Sunday of March, not the fourth.
        let Form::Yearly { daylight, .. } = form(Tz::Europe__Berlin, 2012) else {
            panic!("Berlin has DST");
        };
        assert_eq!(daylight.rule.rrule(), "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU");
        // Lord Howe: half an hour of DST, in the southern summer.
        let Form::Yearly { daylight, standard } = form(Tz::Australia__Lord_Howe, 2012) else {
            panic!("Lord Howe has DST");
        };
        assert_eq!((daylight.from, daylight.to), (37800, 39600));
        assert_eq!(daylight.rule.month, 10);
        assert_eq!(standard.rule.month, 4);
        // No DST: one offset.
        assert!(matches!(
            form(Tz::Asia__Kolkata, 2012),
            Form::Fixed { offset: 19800, .. }
        ));
        assert!(matches!(form(Tz::UTC, 2012), Form::Fixed { offset: 0, .. }));
    }

    #[test]
    fn los_angeles_march_2012_exact() {
        let text = block(Tz::America__Los_Angeles, utc(2012, 3, 7), utc(2012, 3, 15));
        assert_eq!(
            text,
            "BEGIN:VTIMEZONE\r\n\
             TZID:America/Los_Angeles\r\n\
             BEGIN:STANDARD\r\n\
             DTSTART:20071104T020000\r\n\
             RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n\
             TZOFFSETFROM:-0700\r\n\
             TZOFFSETTO:-0800\r\n\
             TZNAME:PST\r\n\
             END:STANDARD\r\n\
             BEGIN:DAYLIGHT\r\n\
             DTSTART:20070311T020000\r\n\
             RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n\
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
        // window starting at the epoch starts its observance earlier.
        let mut plan = ZonePlan::new(Tz::Etc__GMTPlus5, utc(1970, 1, 1), utc(1970, 1, 2));
        assert!(plan.represents(utc(1970, 1, 1)));
        assert!(transitions(Tz::UTC).is_empty());
    }

    #[test]
    fn what_a_plan_leaves_to_utc() {
        // The 2012 rule: right all of 2012 but in the repeated hour.
        let mut la = ZonePlan::new(Tz::America__Los_Angeles, utc(2012, 3, 7), utc(2012, 3, 15));
        assert!(la.represents(utc(2012, 3, 9)));
        assert!(la.represents(utc(2012, 7, 1)));
        let repeated = Utc.with_ymd_and_hms(2012, 11, 4, 8, 30, 0).unwrap();
        assert!(!la.represents(repeated));
        // 2006 followed other rules.
        assert!(!la.represents(utc(2006, 4, 10)));
        // A feed of 2006 alone gets 2006's rule.
        let mut la06 = ZonePlan::new(Tz::America__Los_Angeles, utc(2006, 3, 1), utc(2006, 5, 1));
        assert!(la06.represents(utc(2006, 4, 10)));
        assert!(!la06.represents(utc(2012, 3, 20)));
        // Morocco's Ramadan changes follow no yearly rule: the pair of one
        // year fits that year alone.
        let mut ma = ZonePlan::new(Tz::Africa__Casablanca, utc(2020, 4, 1), utc(2021, 6, 1));
        assert!(ma.represents(utc(2021, 5, 1)));
        assert!(!ma.represents(utc(2020, 5, 1)));
        // Before the first onset of a new rule RFC readers disagree: UTC.
        assert!(!la.represents(utc(2007, 1, 15)));
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
}
