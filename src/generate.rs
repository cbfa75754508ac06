//! `confcal generate`: a deterministic, realistic schedule document for
//! benchmarks and load tests.
//!
//! The same arguments always print the same bytes (a small SplitMix64
//! generator, no external randomness). The conference is in Los Angeles and
//! starts 2012-03-08, so every schedule of more than three days straddles
//! the 2012-03-11 daylight-saving change; larger ones cross many more.

use std::io::Write;

use chrono::{Duration, NaiveDate, NaiveTime};
use serde::Serialize;

use crate::domain::schedule::{ConferenceDoc, ScheduleDocument, SessionDoc};

#[derive(Debug, Clone)]
pub struct GenerateArgs {
    pub sessions: usize,
    /// Days of the conference; at least enough for the sessions.
    pub days: Option<usize>,
    pub rooms: usize,
    pub seed: u64,
}

/// SplitMix64: tiny, fast, and good enough to pick words.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const FIRST: &[&str] = &[
    "Armin", "Jeremiah", "Moshe", "Walker", "Adam", "José", "Zoë", "Łukasz", "Ana", "Søren",
    "Chloé", "Mateus", "Ngọc", "Priya", "Kenji", "Fatima", "Olusegun", "Ingrid", "Dmitrij", "Mei",
    "Björn", "Amélie", "Rafał", "Nuño", "Aisha",
];
const LAST: &[&str] = &[
    "Ronacher",
    "Jordan",
    "Zadka",
    "Hale",
    "Lowry",
    "García",
    "Müller",
    "Kowalski",
    "Nørgaard",
    "Lefèvre",
    "Ibáñez",
    "Nguyễn",
    "Sharma",
    "Satō",
    "Haddad",
    "Adeyemi",
    "Øster",
    "Šimůnek",
    "Wang",
    "Ångström",
    "O'Neil",
    "Dvořák",
    "Çelik",
];
const TOPICS: &[&str] = &[
    "Code Generation",
    "Async I/O",
    "Packaging",
    "Type Hints",
    "Testing",
    "Data Pipelines",
    "Web APIs",
    "Concurrency",
    "Security",
    "Observability",
    "Databases",
    "Machine Learning",
    "Calendars & Time Zones",
    "Unicode",
    "Compilers",
    "Embedded Python",
    "Teaching",
    "Accessibility",
    "Performance",
    "Documentation",
];
const ANGLES: &[&str] = &[
    "in Practice",
    "for Mad Scientists",
    "Without Tears",
    "at Scale",
    "from Scratch",
    "— Lessons Learned",
    "; a Field Guide",
    ", Revisited",
    "for Beginners",
    "Deep Dive",
    "Done Right",
    "in 40 Minutes",
];
const SENTENCES: &[&str] = &[
    "This talk walks through the design, the trade-offs and the mistakes we made along the way.",
    "We will look at real code, real failures; and what we changed after each of them.",
    "Attendees should know basic Python, but no prior experience with the tools is needed.",
    "Half of the time is spent on live examples, the other half on questions from the audience.",
    "Along the way we meet daylight saving time, leap seconds, and other calendar curiosities.",
    "Naïve approaches work until they don't: caching, retries and timeouts all have sharp edges.",
    "The audience will leave with a checklist, a small library, and — hopefully — fewer bugs.",
    "Examples use café menus, résumés and 日本語 text, because real data is never plain ASCII.",
    "We compare three designs; each has costs, benefits, and a failure mode worth knowing.",
    "Benchmarks are shown with their methodology, so you can repeat them on your own machine.",
    "The last part covers deployment: containers, health checks, metrics; and graceful restarts.",
    "No slides are harmed: everything is reproducible from a public repository.",
];
const BULLETS: &[&str] = &[
    "Why it matters",
    "A short history",
    "The core idea",
    "Common pitfalls",
    "Measuring it",
    "Case study",
    "Tooling",
    "Q&A",
    "What's next",
    "Résumé of the key points",
];
const TRACKS: &[&str] = &["Core", "Web", "Data", "Education", "Science", "Ops"];

/// Session lengths in minutes, and the break after each.
const LENGTHS: &[i64] = &[30, 40, 45, 60];
const BREAK: i64 = 10;

pub fn generate(args: &GenerateArgs) -> ScheduleDocument {
    let mut rng = Rng(args.seed ^ 0x636f_6e66_6361_6c00);
    let rooms: Vec<String> = (1..=args.rooms.max(1))
        .map(|i| format!("Room {i:02}"))
        .collect();
    // Each room's day runs 09:00–18:00; sessions are laid out per room.
    let per_room_day = 9 * 60 / (45 + BREAK) as usize;
    let needed_days = args.sessions.div_ceil(per_room_day * rooms.len()).max(1);
    let days = args.days.unwrap_or(needed_days).max(needed_days);
    let first_day = NaiveDate::from_ymd_opt(2012, 3, 8).expect("valid date");
    let mut sessions = Vec::with_capacity(args.sessions);
    'days: for d in 0..days {
        let date = first_day + Duration::days(d as i64);
        for room in &rooms {
            let mut t = date.and_time(NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"));
            let day_end = date.and_time(NaiveTime::from_hms_opt(18, 0, 0).expect("valid time"));
            loop {
                if sessions.len() == args.sessions {
                    break 'days;
                }
                let len = LENGTHS[rng.below(LENGTHS.len())];
                let end = t + Duration::minutes(len);
                if end > day_end {
                    break;
                }
                sessions.push(session(&mut rng, sessions.len(), room, t, end));
                t = end + Duration::minutes(BREAK);
            }
        }
    }
    ScheduleDocument {
        conference: ConferenceDoc {
            slug: "bench-conf".into(),
            name: "BenchConf 2012".into(),
            timezone: "America/Los_Angeles".into(),
            venue: Some("Santa Clara Convention Center".into()),
            url: None,
            address: None,
            geo: None,
            color: None,
        },
        sessions,
    }
}

fn session(
    rng: &mut Rng,
    n: usize,
    room: &str,
    start: chrono::NaiveDateTime,
    end: chrono::NaiveDateTime,
) -> SessionDoc {
    let speakers = (0..1 + rng.below(3))
        .map(|_| format!("{} {}", rng.pick(FIRST), rng.pick(LAST)))
        .collect();
    let tracks = if rng.chance(30) {
        vec![rng.pick(TRACKS).to_owned()]
    } else {
        vec![]
    };
    SessionDoc {
        id: format!("s{n:06}"),
        title: format!("{} {}", rng.pick(TOPICS), rng.pick(ANGLES)),
        speakers,
        start: start.format("%Y-%m-%dT%H:%M").to_string(),
        end: end.format("%Y-%m-%dT%H:%M").to_string(),
        room: Some(room.to_owned()),
        tracks,
        abstract_: abstract_text(rng),
        notes: rng.chance(5).then(|| "Coverage video note".to_owned()),
        url: None,
        kind: None,
        links: Vec::new(),
        language: None,
    }
}

/// 300–1,500 characters of sentences, sometimes followed by an outline.
fn abstract_text(rng: &mut Rng) -> String {
    let target = 300 + rng.below(1_200);
    let mut s = String::with_capacity(target + 200);
    while s.chars().count() < target {
        if !s.is_empty() {
            s.push(if rng.chance(20) { '\n' } else { ' ' });
        }
        s.push_str(rng.pick(SENTENCES));
    }
    if rng.chance(40) {
        s.push_str("\n\n");
        for i in 0..2 + rng.below(3) {
            if i > 0 {
                s.push('\n');
            }
            s.push_str("• ");
            s.push_str(rng.pick(BULLETS));
        }
    }
    // Trim to at most 1,500 characters on a character boundary.
    if s.chars().count() > 1_500 {
        s = s.chars().take(1_500).collect();
    }
    s.trim().to_owned()
}

/// Writes the document as JSON.
pub fn write(doc: &ScheduleDocument, out: impl Write) -> serde_json::Result<()> {
    #[derive(Serialize)]
    struct Wrapper<'a>(&'a ScheduleDocument);
    serde_json::to_writer(out, &Wrapper(doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(n: usize) -> GenerateArgs {
        GenerateArgs {
            sessions: n,
            days: None,
            rooms: 12,
            seed: 7,
        }
    }

    #[test]
    fn deterministic_valid_and_realistic() {
        let a = generate(&args(2_000));
        let b = generate(&args(2_000));
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        let other = generate(&GenerateArgs {
            seed: 8,
            ..args(2_000)
        });
        assert_ne!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&other).unwrap()
        );

        let schedule = a.clone().validate().expect("generated documents are valid");
        assert_eq!(schedule.sessions.len(), 2_000);
        let tracked = a.sessions.iter().filter(|s| !s.tracks.is_empty()).count();
        assert!(
            (400..=800).contains(&tracked),
            "{tracked} of 2000 in tracks"
        );
        for s in &a.sessions {
            let len = s.abstract_.chars().count();
            assert!((300..=1_500).contains(&len), "abstract of {len} characters");
            assert!((1..=3).contains(&s.speakers.len()));
        }
        let all: String = a.sessions.iter().map(|s| s.abstract_.as_str()).collect();
        for needle in [",", ";", "\n", "é", "日本語"] {
            assert!(all.contains(needle), "{needle:?} never appears");
        }
        // Straddles the DST change: sessions before and after 2012-03-11.
        assert!(a.sessions.iter().any(|s| s.start.starts_with("2012-03-09")));
        assert!(a.sessions.iter().any(|s| s.start.starts_with("2012-03-12")));
        let rooms: std::collections::BTreeSet<_> =
            a.sessions.iter().map(|s| s.room.clone()).collect();
        assert_eq!(rooms.len(), 12);
    }
}
