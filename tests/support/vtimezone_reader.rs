//! A reader of VTIMEZONE blocks, written for the tests from the two texts
//! that say how clients read them, and sharing no code with confcal:
//!
//! - [`Vtimezone::rfc_offset`] follows RFC 5545 §3.6.5: each STANDARD or
//!   DAYLIGHT has onsets at DTSTART and at every RRULE instance after it
//!   (DTSTART's wall-clock time read in TZOFFSETFROM), and the offset in
//!   force at an instant is the TZOFFSETTO of the latest onset at or before
//!   it. Before the first onset it answers `None`: readers disagree there.
//! - [`Vtimezone::outlook_offset`] follows MS-OXCICAL §2.1.3.1.1.19, the
//!   way Outlook and Exchange turn a VTIMEZONE into one Windows-style rule
//!   pair: only the STANDARD and the DAYLIGHT with the largest DTSTART are
//!   read; with a DAYLIGHT, both must carry `RRULE:FREQ=YEARLY` with
//!   `BYMONTH` and one `BYDAY` occurrence or a `BYMONTHDAY`; without one,
//!   the STANDARD must have no RRULE; the pair then applies to every year,
//!   whatever the DTSTARTs say.
//!
//! Only what confcal may write is accepted (yearly rules, no RDATE or
//! UNTIL); anything else panics, so a test notices a new form.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc, Weekday};

/// One STANDARD or DAYLIGHT as read.
#[derive(Debug, Clone)]
pub struct Observance {
    pub daylight: bool,
    pub dtstart: NaiveDateTime,
    pub rule: Option<Rule>,
    pub from: i64,
    pub to: i64,
}

/// A yearly RRULE: the month and the day in it.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub month: u32,
    pub day: RuleDay,
}

#[derive(Debug, Clone, Copy)]
pub enum RuleDay {
    /// `BYDAY=2SU` (n = 2) or `BYDAY=-1SU` (n = -1).
    Weekday(i64, Weekday),
    /// `BYMONTHDAY=21`.
    MonthDay(u32),
}

#[derive(Debug, Clone)]
pub struct Vtimezone {
    pub tzid: String,
    pub observances: Vec<Observance>,
}

fn local(v: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").unwrap_or_else(|e| panic!("{v:?}: {e}"))
}

/// `+HHMM` or `+HHMMSS` in seconds east of UTC.
fn offset(v: &str) -> i64 {
    let sign = match &v[..1] {
        "+" => 1,
        "-" => -1,
        _ => panic!("offset {v:?}"),
    };
    let d = &v[1..];
    assert!(d.len() == 4 || d.len() == 6, "offset {v:?}");
    let n = |r: std::ops::Range<usize>| d.get(r).map_or(0, |s| s.parse::<i64>().unwrap());
    sign * (n(0..2) * 3600 + n(2..4) * 60 + n(4..6))
}

fn weekday(code: &str) -> Weekday {
    match code {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => panic!("weekday {code:?}"),
    }
}

fn rule(v: &str) -> Rule {
    let (mut freq, mut month, mut day) = (None, None, None);
    for part in v.split(';') {
        let (k, val) = part.split_once('=').expect("RRULE part");
        match k {
            "FREQ" => freq = Some(val.to_owned()),
            "BYMONTH" => month = Some(val.parse::<u32>().expect("one BYMONTH")),
            "BYDAY" => {
                let (n, wd) = val.split_at(val.len() - 2);
                let n: i64 = n.parse().expect("one BYDAY occurrence, such as 2SU");
                assert!((-1..=4).contains(&n) && n != 0, "BYDAY {val}");
                day = Some(RuleDay::Weekday(n, weekday(wd)));
            }
            "BYMONTHDAY" => day = Some(RuleDay::MonthDay(val.parse().expect("BYMONTHDAY"))),
            _ => panic!("RRULE part {part:?} is not one MS-OXCICAL reads"),
        }
    }
    assert_eq!(freq.as_deref(), Some("YEARLY"), "{v}");
    Rule {
        month: month.expect("BYMONTH"),
        day: day.expect("BYDAY or BYMONTHDAY"),
    }
}

impl Rule {
    /// The rule's date in `year`, counting weekdays from either end of the
    /// month one day at a time.
    pub fn date(&self, year: i32) -> Option<NaiveDate> {
        let first = NaiveDate::from_ymd_opt(year, self.month, 1)?;
        let days: Vec<NaiveDate> = first
            .iter_days()
            .take_while(|d| d.month() == self.month)
            .collect();
        match self.day {
            RuleDay::MonthDay(d) => days.get(d as usize - 1).copied(),
            RuleDay::Weekday(n, wd) => {
                let hits: Vec<NaiveDate> = days.into_iter().filter(|d| d.weekday() == wd).collect();
                if n > 0 {
                    hits.get(n as usize - 1).copied()
                } else {
                    hits.last().copied()
                }
            }
        }
    }
}

impl Observance {
    /// Onsets (UTC timestamps) to consider for an instant in `year`: a
    /// rule-less observance's one DTSTART, or the rule's instances in that
    /// year and the one before at DTSTART's time, no earlier than DTSTART
    /// when `from_dtstart`.
    fn onsets(&self, year: i32, from_dtstart: bool) -> Vec<i64> {
        let at = |t: NaiveDateTime| t.and_utc().timestamp() - self.from;
        match self.rule {
            None => vec![at(self.dtstart)],
            Some(r) => (year - 1..=year)
                .filter_map(|y| r.date(y))
                .map(|d| d.and_time(self.dtstart.time()))
                .filter(|t| !from_dtstart || *t >= self.dtstart)
                .map(at)
                .collect(),
        }
    }
}

impl Vtimezone {
    /// Reads the VTIMEZONE whose TZID is `tzid` from a feed's logical
    /// (unfolded) lines.
    pub fn read(lines: &[String], tzid: &str) -> Self {
        let begin = lines
            .iter()
            .enumerate()
            .position(|(i, l)| {
                l == "BEGIN:VTIMEZONE" && lines.get(i + 1) == Some(&format!("TZID:{tzid}"))
            })
            .unwrap_or_else(|| panic!("no VTIMEZONE for {tzid}"));
        let mut observances = Vec::new();
        let (mut dtstart, mut rrule, mut from, mut to) = (None, None, None, None);
        for l in &lines[begin + 2..] {
            if l == "END:VTIMEZONE" {
                break;
            }
            assert!(!l.starts_with("RDATE"), "{l}");
            if let Some(v) = l.strip_prefix("DTSTART:") {
                dtstart = Some(local(v));
            } else if let Some(v) = l.strip_prefix("RRULE:") {
                rrule = Some(rule(v));
            } else if let Some(v) = l.strip_prefix("TZOFFSETFROM:") {
                from = Some(offset(v));
            } else if let Some(v) = l.strip_prefix("TZOFFSETTO:") {
                to = Some(offset(v));
            } else if l == "END:STANDARD" || l == "END:DAYLIGHT" {
                observances.push(Observance {
                    daylight: l == "END:DAYLIGHT",
                    dtstart: dtstart.take().expect("DTSTART"),
                    rule: rrule.take(),
                    from: from.take().expect("TZOFFSETFROM"),
                    to: to.take().expect("TZOFFSETTO"),
                });
            }
        }
        assert!(!observances.is_empty(), "an empty VTIMEZONE");
        Vtimezone {
            tzid: tzid.to_owned(),
            observances,
        }
    }

    fn latest(obs: &[&Observance], ts: i64, from_dtstart: bool) -> Option<i64> {
        let year = DateTime::from_timestamp(ts, 0).unwrap().year();
        obs.iter()
            .flat_map(|o| {
                o.onsets(year, from_dtstart)
                    .into_iter()
                    .map(|at| (at, o.to))
            })
            .filter(|&(at, _)| at <= ts)
            .max_by_key(|&(at, _)| at)
            .map(|(_, to)| to)
    }

    /// The offset at `ts` by RFC 5545 (see the module text).
    pub fn rfc_offset(&self, ts: i64) -> Option<i64> {
        let all: Vec<&Observance> = self.observances.iter().collect();
        Self::latest(&all, ts, true)
    }

    /// The one rule pair MS-OXCICAL keeps: the STANDARD and the DAYLIGHT
    /// with the largest DTSTART. Panics where Outlook would reject the
    /// block or read it as something else.
    pub fn outlook_pair(&self) -> (Observance, Option<Observance>) {
        let pick = |daylight: bool| {
            self.observances
                .iter()
                .filter(|o| o.daylight == daylight)
                .max_by_key(|o| o.dtstart)
                .cloned()
        };
        let standard = pick(false).expect("MS-OXCICAL needs a STANDARD");
        let daylight = pick(true);
        match &daylight {
            Some(d) => {
                assert!(
                    d.rule.is_some() && standard.rule.is_some(),
                    "{}: with a DAYLIGHT, both need a yearly RRULE: {self:?}",
                    self.tzid
                );
                assert_eq!(d.from, standard.to, "{}", self.tzid);
                assert_eq!(d.to, standard.from, "{}", self.tzid);
            }
            None => assert!(
                standard.rule.is_none(),
                "{}: a STANDARD alone must have no RRULE",
                self.tzid
            ),
        }
        (standard, daylight)
    }

    /// The offset at `ts` by MS-OXCICAL (see the module text).
    pub fn outlook_offset(&self, ts: i64) -> i64 {
        match self.outlook_pair() {
            (standard, None) => standard.to,
            (standard, Some(daylight)) => Self::latest(&[&standard, &daylight], ts, false)
                .expect("a rule pair has an onset in every year"),
        }
    }

    /// Every instant whose wall-clock time is `t`, by `offset_at`.
    pub fn resolve(&self, t: NaiveDateTime, offset_at: impl Fn(i64) -> Option<i64>) -> Vec<i64> {
        let wall = t.and_utc().timestamp();
        let mut offsets: Vec<i64> = self
            .observances
            .iter()
            .flat_map(|o| [o.from, o.to])
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        offsets
            .into_iter()
            .map(|o| wall - o)
            .filter(|&utc| offset_at(utc) == Some(wall - utc))
            .collect()
    }

    /// The instants an RFC 5545 reader finds for wall-clock time `t`.
    pub fn resolve_rfc(&self, t: NaiveDateTime) -> Vec<i64> {
        self.resolve(t, |ts| self.rfc_offset(ts))
    }

    /// The instants Outlook finds for wall-clock time `t`.
    pub fn resolve_outlook(&self, t: NaiveDateTime) -> Vec<i64> {
        self.resolve(t, |ts| Some(self.outlook_offset(ts)))
    }
}

/// The wall-clock time `value` (`YYYYMMDDTHHMMSS`) names.
pub fn parse_local(value: &str) -> NaiveDateTime {
    local(value)
}

/// `ts` as a wall-clock time at `offset` seconds east.
pub fn wall(ts: i64, offset: i64) -> NaiveDateTime {
    DateTime::<Utc>::from_timestamp(ts + offset, 0)
        .unwrap()
        .naive_utc()
}
