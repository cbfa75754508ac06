//! Criterion micro-benchmarks: the feed renderer (per event), the
//! schedule-app exports, and VTIMEZONE generation. `cargo bench`; the
//! end-to-end numbers come from bench/run.sh.

use chrono::{TimeZone, Utc};
use confcal::domain::{SessionRecord, Site, Status};
use confcal::generate::{generate, GenerateArgs};
use confcal::ical::feed::{render, CalendarMeta, Event};
use confcal::ical::vtimezone::write_vtimezone;
use confcal::ical::writer::IcalWriter;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn sessions(n: usize) -> (confcal::domain::Conference, Vec<SessionRecord>) {
    let doc = generate(&GenerateArgs {
        sessions: n,
        days: None,
        rooms: 12,
        seed: 1,
    });
    let schedule = doc.validate().expect("generated schedules are valid");
    let now = Utc.with_ymd_and_hms(2012, 1, 1, 0, 0, 0).unwrap();
    let records = schedule
        .sessions
        .into_iter()
        .map(|data| SessionRecord {
            data,
            status: Status::Confirmed,
            sequence: 0,
            created: now,
            last_modified: now,
        })
        .collect();
    (schedule.conference, records)
}

fn renderer(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for n in [100usize, 1_000] {
        let (conf, records) = sessions(n);
        let events: Vec<Event<'_>> = records
            .iter()
            .map(|s| Event {
                conference: &conf,
                session: s,
            })
            .collect();
        let meta = CalendarMeta {
            name: "BenchConf".into(),
            description: "bench".into(),
            source_url: "http://localhost/feed.ics".into(),
            page_url: "http://localhost/".into(),
            tz: conf.tz,
            empty_window: (records[0].data.start, records[0].data.end),
            color: None,
        };
        let site = Site {
            base_url: "http://localhost".into(),
            uid_host: "localhost".into(),
        };
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("events", n), &events, |b, events| {
            b.iter(|| render(&meta, events, &site))
        });
    }
    group.finish();
}

fn vtimezone(c: &mut Criterion) {
    let la = chrono_tz::America::Los_Angeles;
    let from = Utc.with_ymd_and_hms(2012, 3, 8, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2012, 3, 14, 0, 0, 0).unwrap();
    // The zone's transition table is built once per process; this measures
    // the per-feed cost that follows.
    c.bench_function("vtimezone/los_angeles_week", |b| {
        b.iter(|| {
            let mut w = IcalWriter::with_capacity(512);
            write_vtimezone(&mut w, la, from, to);
            w.finish()
        })
    });
    let lord_howe = chrono_tz::Australia::Lord_Howe;
    let year_end = Utc.with_ymd_and_hms(2013, 3, 8, 0, 0, 0).unwrap();
    c.bench_function("vtimezone/lord_howe_year", |b| {
        b.iter(|| {
            let mut w = IcalWriter::with_capacity(1024);
            write_vtimezone(&mut w, lord_howe, from, year_end);
            w.finish()
        })
    });
}

/// The per-event check of whether a local time goes out with TZID (two per
/// event), over a week of Los Angeles minutes across the spring change.
fn represents(c: &mut Criterion) {
    let la: chrono_tz::Tz = "America/Los_Angeles".parse().unwrap();
    let from = Utc.with_ymd_and_hms(2012, 3, 7, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2012, 3, 15, 0, 0, 0).unwrap();
    let instants: Vec<_> = (0..1000)
        .map(|i| from + chrono::Duration::minutes(i * 11))
        .collect();
    c.bench_function("vtimezone/represents_1000", |b| {
        let mut plan = confcal::ical::vtimezone::ZonePlan::new(la, from, to);
        b.iter(|| instants.iter().filter(|&&t| plan.represents(t)).count())
    });
}

/// The schedule-app exports of a 1,000-session conference: the layout both
/// documents share (days, rooms, guids, ids), then each document.
fn exports(c: &mut Criterion) {
    use confcal::export::{Export, Format};
    let (conference, records) = sessions(1_000);
    let now = Utc.with_ymd_and_hms(2012, 1, 1, 0, 0, 0).unwrap();
    let rec = confcal::store::ConferenceRecord {
        conference,
        version: 1,
        created: now,
        last_modified: now,
        session_count: records.len() as i64,
        first_start: records.first().map(|s| s.data.start),
        last_end: records.iter().map(|s| s.data.end).max(),
    };
    let site = Site {
        base_url: "http://localhost".into(),
        uid_host: "localhost".into(),
    };
    let mut group = c.benchmark_group("export");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("layout/1000", |b| {
        b.iter(|| Export::new(&rec, &records, site.links()).days.len())
    });
    let export = Export::new(&rec, &records, site.links());
    for format in [Format::Xml, Format::Json] {
        group.bench_function(format!("{}/1000", format.file_name()), |b| {
            b.iter(|| format.render(&export).len())
        });
    }
    group.finish();
}

criterion_group!(benches, renderer, exports, vtimezone, represents);
criterion_main!(benches);
