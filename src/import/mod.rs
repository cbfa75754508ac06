//! Importing schedules: `confcal import`, the admin API's import, and the
//! seed data that `confcal serve` loads into an empty database.
//!
//! A schedule comes as our own schedule document or as what conferences
//! publish: frab's `schedule.xml` ([`frab_xml`]) and `schedule.json`
//! ([`frab_json`]), Sessionize's "All" view ([`sessionize`]) and
//! iCalendar ([`ics`]); [`Format::detect`] tells them apart by content.
//! Each reader gives a [`source::Source`], which [`source::build`] turns
//! into a schedule document by one set of rules for every format (times,
//! zones, ids, text; [`text`] for the text). That document is then
//! validated like any other and synced in one transaction: an importer
//! never writes the store itself.

pub mod frab_json;
pub mod frab_xml;
pub mod ics;
pub mod sessionize;
pub mod source;
pub mod text;

use std::path::{Path, PathBuf};

use chrono::Utc;
use chrono_tz::Tz;

use crate::domain::schedule::{parse_document, read_document};
use crate::domain::{Conference, ConferenceSlug, Schedule, ScheduleDocument, ValidationError};
use crate::store::{Store, StoreError, SyncReport};

pub use source::{BuildError, Warning};

/// The formats `confcal import` reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Recognised from the content.
    #[default]
    Auto,
    /// Our own schedule document (JSON).
    Confcal,
    /// frab / Pentabarf / pretalx / CCC hub / wafer `schedule.xml`.
    FrabXml,
    /// frab / pretalx / c3voc `schedule.json`, and c3voc's flat schedule2.
    FrabJson,
    /// Sessionize's `/api/v2/{id}/view/All`.
    Sessionize,
    /// iCalendar (`.ics`).
    Ics,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Auto,
        Format::Confcal,
        Format::FrabXml,
        Format::FrabJson,
        Format::Sessionize,
        Format::Ics,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Confcal => "confcal",
            Format::FrabXml => "frab-xml",
            Format::FrabJson => "frab-json",
            Format::Sessionize => "sessionize",
            Format::Ics => "ics",
        }
    }

    /// A format by its name (`frab-xml`), as the API's `format=` gives it.
    pub fn parse(s: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                format!("{s:?} is not a format: use one of {}", names.join(", "))
            })
    }

    /// What `bytes` are, from their first non-blank characters and, for
    /// JSON, its top-level keys.
    pub fn detect(bytes: &[u8]) -> Result<Format, ValidationError> {
        Format::sniff(bytes, true).map(|f| f.expect("a whole input is always decided"))
    }

    /// [`Format::detect`] from the first bytes of a file only (`whole`
    /// false): `None` when they do not decide it (a Sessionize file names
    /// its speakers only after all its sessions), and the whole file must
    /// be read. Lets a schedule document be streamed from its file, as a
    /// 100,000-session import needs, rather than read into memory first.
    pub fn sniff(bytes: &[u8], whole: bool) -> Result<Option<Format>, ValidationError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
        let head = &bytes[start.unwrap_or(bytes.len())..];
        if head.len() >= 15 && head[..15].eq_ignore_ascii_case(b"BEGIN:VCALENDAR") {
            return Ok(Some(Format::Ics));
        }
        match head.first() {
            Some(b'<') => Ok(Some(Format::FrabXml)),
            Some(b'{') => {
                let keys = top_level_keys(head);
                let has = |k: &str| keys.iter().any(|x| x == k);
                if has("schedule") {
                    Ok(Some(Format::FrabJson))
                } else if has("conference") {
                    // Only our documents have a top-level conference
                    // (frab's is inside "schedule").
                    Ok(Some(Format::Confcal))
                } else if has("sessions") && (has("speakers") || has("rooms")) {
                    Ok(Some(Format::Sessionize))
                } else if !whole {
                    Ok(None)
                } else {
                    Err(ValidationError::new(
                        "format",
                        "JSON that is none of the formats read (a confcal document, frab's \
                         schedule.json, Sessionize's All view): give --format",
                    ))
                }
            }
            None if !whole => Ok(None),
            _ => Err(ValidationError::new(
                "format",
                "the content is none of the formats read (JSON, frab XML, iCalendar)",
            )),
        }
    }
}

/// The keys of a JSON object, in order, without building its values (a
/// few megabytes of schedule read once to find which format it is). On
/// text that breaks off (the first bytes of a file) or is no object,
/// the keys read until then.
fn top_level_keys(json: &[u8]) -> Vec<String> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Keys<'a>(&'a mut Vec<String>);
    impl<'de> Visitor<'de> for Keys<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(k) = map.next_key::<String>()? {
                self.0.push(k);
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let mut keys = Vec::new();
    let _ = serde_json::Deserializer::from_slice(json).deserialize_map(Keys(&mut keys));
    keys
}

/// What the operator says about one import: the format, and the
/// conference and zone where the source lacks them (or is to be
/// overridden).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub format: Format,
    pub conference: Option<ConferenceSlug>,
    pub timezone: Option<Tz>,
}

/// A schedule read, validated and ready to sync, and what the import
/// found odd on the way.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub format: Format,
    pub schedule: Schedule,
    pub warnings: Vec<Warning>,
}

/// Reads `bytes` in `opts.format` and validates the result: the whole
/// import short of writing. `file_slug` is a slug from the file's name,
/// for sources that name no conference; `stored` answers the stored
/// conference of a slug, whose zone, name and place stay where the source
/// says nothing of them.
pub fn prepare(
    bytes: &[u8],
    opts: &Options,
    file_slug: Option<&str>,
    stored: impl FnOnce(&ConferenceSlug) -> Result<Option<Conference>, StoreError>,
) -> Result<Prepared, PrepareError> {
    let format = match opts.format {
        Format::Auto => Format::detect(bytes).map_err(BuildError::Unreadable)?,
        f => f,
    };
    let source = match format {
        Format::Confcal | Format::Auto => {
            return prepare_document(bytes, opts).map(|schedule| Prepared {
                format: Format::Confcal,
                schedule,
                warnings: Vec::new(),
            })
        }
        Format::FrabXml => frab_xml::read(bytes),
        Format::FrabJson => frab_json::read(bytes),
        Format::Sessionize => sessionize::read(bytes),
        Format::Ics => ics::read(bytes),
    }
    .map_err(|e| {
        // A rule broken by one event is invalid data; anything else means
        // the input is not readable as the format.
        if e.field == "sessions" {
            BuildError::Invalid(e)
        } else {
            BuildError::Unreadable(e)
        }
    })?;
    let given = source::Given {
        slug: opts.conference.clone(),
        timezone: opts.timezone,
        file_slug: file_slug.map(str::to_owned),
    };
    let slug = source::conference_slug(&source.acronym, &given)?;
    let stored = stored(&slug)?;
    let labels: Vec<String> = source.events.iter().map(source::Event::label).collect();
    let (doc, warnings) = source::build(source, &given, stored.as_ref())?;
    let schedule = doc.validate().map_err(|e| name_event(e, &labels))?;
    Ok(Prepared {
        format,
        schedule,
        warnings,
    })
}

/// Our own document: `--conference` renames it, `--timezone` must agree.
fn prepare_document(bytes: &[u8], opts: &Options) -> Result<Schedule, PrepareError> {
    let doc: ScheduleDocument = parse_document(bytes).map_err(BuildError::Unreadable)?;
    document_schedule(doc, opts)
}

/// See [`prepare_document`].
fn document_schedule(mut doc: ScheduleDocument, opts: &Options) -> Result<Schedule, PrepareError> {
    if let Some(slug) = &opts.conference {
        doc.conference.slug = slug.to_string();
    }
    if let Some(tz) = opts
        .timezone
        .filter(|tz| tz.name() != doc.conference.timezone)
    {
        return Err(BuildError::Invalid(ValidationError::new(
            "timezone",
            format!(
                "the document says its zone is {:?}, not {}: a confcal document's zone is its own",
                doc.conference.timezone,
                tz.name()
            ),
        ))
        .into());
    }
    Ok(doc.validate().map_err(BuildError::Invalid)?)
}

/// A validation error about `sessions[i]` says which source event that is.
fn name_event(e: ValidationError, labels: &[String]) -> BuildError {
    let index = e
        .field
        .strip_prefix("sessions[")
        .and_then(|r| r.split(']').next())
        .and_then(|i| i.parse::<usize>().ok());
    match index.and_then(|i| labels.get(i)) {
        Some(label) => BuildError::Invalid(ValidationError::new(
            e.field.clone(),
            format!("{label}: {}", e.message),
        )),
        None => BuildError::Invalid(e),
    }
}

/// Why [`prepare`] failed: the input, or the store it asked.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The slug a file's name suggests: its name up to the first dot
/// (`sessionize-global-azure-austria-2024.all.json`).
pub fn file_slug(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.split('.').next().unwrap_or(name);
    Some(text::slugify(stem, crate::domain::ids::MAX_ID_LEN)).filter(|s| !s.is_empty())
}

/// One file's import: the file, what the sync did, what was odd.
pub type SourceReport = (PathBuf, SyncReport, Vec<Warning>);

/// `confcal import`: reads and validates every file in its format before
/// anything is written, then imports them all in one transaction: a bad
/// file changes nothing.
pub fn import_sources(
    store: &Store,
    paths: &[PathBuf],
    opts: &Options,
) -> Result<Vec<SourceReport>, ImportError> {
    if opts.conference.is_some() && paths.len() > 1 {
        return Err(ImportError::Usage(
            "--conference names one conference: import one file with it at a time".into(),
        ));
    }
    let mut prepared: Vec<Prepared> = Vec::with_capacity(paths.len());
    for path in paths {
        let read_err = |source| ImportError::Read {
            path: path.clone(),
            source,
        };
        let build_err = |e| match e {
            PrepareError::Store(e) => ImportError::Store(e),
            PrepareError::Build(source) => ImportError::Source {
                path: path.clone(),
                source,
            },
        };
        let unreadable = |e| build_err(PrepareError::Build(BuildError::Unreadable(e)));
        let mut format = opts.format;
        let mut whole: Option<Vec<u8>> = None;
        if format == Format::Auto {
            let mut head = Vec::new();
            let file = std::fs::File::open(path).map_err(read_err)?;
            std::io::Read::read_to_end(&mut std::io::Read::take(file, 64 * 1024), &mut head)
                .map_err(read_err)?;
            format = match Format::sniff(&head, false).map_err(unreadable)? {
                Some(f) => f,
                None => {
                    let bytes = std::fs::read(path).map_err(read_err)?;
                    let f = Format::detect(&bytes).map_err(unreadable)?;
                    whole = Some(bytes);
                    f
                }
            };
        }
        let p = if format == Format::Confcal && whole.is_none() {
            // Streamed from the file: never the whole text in memory.
            let file = std::fs::File::open(path).map_err(read_err)?;
            let doc = read_document(file).map_err(unreadable)?;
            Prepared {
                format,
                schedule: document_schedule(doc, opts).map_err(build_err)?,
                warnings: Vec::new(),
            }
        } else {
            let bytes = match whole {
                Some(b) => b,
                None => std::fs::read(path).map_err(read_err)?,
            };
            let opts = Options {
                format,
                ..opts.clone()
            };
            prepare(
                &bytes,
                &opts,
                file_slug(path).as_deref(),
                |slug| match store.conference(slug) {
                    Ok(rec) => Ok(Some(rec.conference)),
                    Err(StoreError::ConferenceNotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                },
            )
            .map_err(build_err)?
        };
        if let Some(j) = prepared
            .iter()
            .position(|q| q.schedule.conference.slug == p.schedule.conference.slug)
        {
            return Err(ImportError::Duplicate {
                path: path.clone(),
                other: paths[j].clone(),
                slug: p.schedule.conference.slug.to_string(),
            });
        }
        prepared.push(p);
    }
    // Moved, not copied: a 100,000-session schedule is held once.
    let (schedules, warnings): (Vec<Schedule>, Vec<Vec<Warning>>) = prepared
        .into_iter()
        .map(|p| (p.schedule, p.warnings))
        .unzip();
    let reports = store.sync_schedules(&schedules, Utc::now())?;
    Ok(paths
        .iter()
        .cloned()
        .zip(reports)
        .zip(warnings)
        .map(|((path, r), w)| (path, r, w))
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Invalid {
        path: PathBuf,
        source: ValidationError,
    },
    #[error("{}: {}", path.display(), describe(source))]
    Source { path: PathBuf, source: BuildError },
    #[error("{0}")]
    Usage(String),
    #[error("{}: conference {slug:?} is also in {}", path.display(), other.display())]
    Duplicate {
        path: PathBuf,
        other: PathBuf,
        slug: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A [`BuildError`] as the command line says it: naming its options.
fn describe(e: &BuildError) -> String {
    match e {
        BuildError::NeedsTimezone => {
            "the schedule names no time zone: give its IANA zone with --timezone (such as Europe/Berlin)"
                .into()
        }
        BuildError::NeedsConference => {
            "the schedule names no conference: give its slug with --conference".into()
        }
        BuildError::Unreadable(v) | BuildError::Invalid(v) if v.field == "format" => {
            v.message.clone()
        }
        other => other.to_string(),
    }
}

/// Every file read and validated, no conference in two of them.
fn load_all(paths: &[PathBuf]) -> Result<Vec<Schedule>, ImportError> {
    let mut schedules: Vec<Schedule> = Vec::with_capacity(paths.len());
    for path in paths {
        let schedule = load(path)?;
        if let Some(j) = schedules
            .iter()
            .position(|s| s.conference.slug == schedule.conference.slug)
        {
            return Err(ImportError::Duplicate {
                path: path.clone(),
                other: paths[j].clone(),
                slug: schedule.conference.slug.to_string(),
            });
        }
        schedules.push(schedule);
    }
    Ok(schedules)
}

/// Seeds a new database from every `*.json` in `dir` (see
/// [`Store::seed`]): `None` when the database already had conferences,
/// because it is not new or because another process seeded it first. The
/// files are read only when the database looks empty.
pub fn seed_dir(
    store: &Store,
    dir: &Path,
) -> Result<Option<Vec<(PathBuf, SyncReport)>>, ImportError> {
    if !store.is_empty()? {
        return Ok(None);
    }
    let paths = json_files(dir)?;
    let schedules = load_all(&paths)?;
    Ok(store
        .seed(&schedules, Utc::now())?
        .map(|reports| paths.into_iter().zip(reports).collect()))
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ImportError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    Ok(paths)
}

pub fn load(path: &Path) -> Result<Schedule, ImportError> {
    let file = std::fs::File::open(path).map_err(|source| ImportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |source| ImportError::Invalid {
        path: path.to_owned(),
        source,
    };
    read_document(file)
        .map_err(invalid)?
        .validate()
        .map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_by_content() {
        for (body, format) in [
            (&b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"[..], Format::Ics),
            (b"\xEF\xBB\xBF\n  begin:vcalendar\n", Format::Ics),
            (b"<?xml version='1.0'?><schedule/>", Format::FrabXml),
            (b"{\"$schema\": \"x\", \"schedule\": {}}", Format::FrabJson),
            (b"{\"conference\": {}, \"sessions\": []}", Format::Confcal),
            (
                b"{\"sessions\": [], \"speakers\": [], \"rooms\": []}",
                Format::Sessionize,
            ),
        ] {
            assert_eq!(
                Format::detect(body),
                Ok(format),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        for body in [&b"{\"other\": 1}"[..], b"", b"plain words", b"[1, 2]"] {
            assert_eq!(Format::detect(body).unwrap_err().field, "format");
        }
        // The first bytes of a file: decided where they can be, else the
        // whole file is needed.
        for (head, format) in [
            (
                &b"{\"conference\": {\"slug\": \"a\"}, \"sessions\": [{\"id\""[..],
                Some(Format::Confcal),
            ),
            (
                b"{\"$schema\": \"x\", \"schedule\": {\"version",
                Some(Format::FrabJson),
            ),
            (
                b"{\"sessions\": [{\"id\": \"658419\", \"title\": \"Key",
                None,
            ),
            (b"{\"$schema\": \"x\", \"sche", None),
            (b"  ", None),
        ] {
            assert_eq!(
                Format::sniff(head, false),
                Ok(format),
                "{}",
                String::from_utf8_lossy(head)
            );
        }
        assert_eq!(Format::parse("frab-json"), Ok(Format::FrabJson));
        assert!(Format::parse("pdf")
            .unwrap_err()
            .contains("frab-xml, frab-json"));
    }

    fn none(_: &ConferenceSlug) -> Result<Option<Conference>, StoreError> {
        Ok(None)
    }

    const SESSIONIZE: &str = r#"{"sessions": [{"id": "1", "title": "Talk",
        "startsAt": "2024-04-20T09:00:00", "endsAt": "2024-04-20T09:45:00"}],
        "speakers": [], "rooms": []}"#;

    #[test]
    fn a_source_without_a_zone_needs_one_and_takes_the_stored_one() {
        let opts = Options::default();
        let e = prepare(SESSIONIZE.as_bytes(), &opts, Some("azure"), none).unwrap_err();
        assert!(
            matches!(e, PrepareError::Build(BuildError::NeedsTimezone)),
            "{e:?}"
        );
        assert!(describe(&BuildError::NeedsTimezone).contains("--timezone"));
        // The slug from the file's name; the zone the operator gives.
        let opts = Options {
            timezone: Some(chrono_tz::Europe::Vienna),
            ..Options::default()
        };
        let p = prepare(SESSIONIZE.as_bytes(), &opts, Some("azure"), none).unwrap();
        assert_eq!(p.format, Format::Sessionize);
        assert_eq!(p.schedule.conference.slug.as_str(), "azure");
        assert_eq!(p.schedule.conference.name, "azure");
        assert_eq!(
            p.schedule.sessions[0].start.to_rfc3339(),
            "2024-04-20T07:00:00+00:00"
        );
        // Imported again with no zone given: the stored conference's zone
        // and name (and what the source does not say) stay.
        let mut stored = p.schedule.conference.clone();
        stored.name = "Global Azure Austria".into();
        stored.color = Some("#0078d4".into());
        let again = prepare(
            SESSIONIZE.as_bytes(),
            &Options::default(),
            Some("azure"),
            |_| Ok(Some(stored.clone())),
        )
        .unwrap();
        assert_eq!(again.schedule.conference, stored);
        // No slug at all.
        let e = prepare(SESSIONIZE.as_bytes(), &opts, None, none).unwrap_err();
        assert!(
            matches!(e, PrepareError::Build(BuildError::NeedsConference)),
            "{e:?}"
        );
    }

    #[test]
    fn a_rule_broken_by_an_event_names_the_event() {
        let long = "x".repeat(200);
        let body = format!(
            r#"{{"sessions": [{{"id": "7", "title": "Gap", "startsAt": "2024-03-31T02:30:00",
               "endsAt": "2024-03-31T03:30:00"}}, {{"id": "8", "title": "Link",
               "startsAt": "2024-04-20T09:00:00", "endsAt": "2024-04-20T09:45:00",
               "liveUrl": "https://e.example/{long}"}}], "speakers": [], "rooms": []}}"#
        );
        let opts = Options {
            conference: Some(ConferenceSlug::parse("c").unwrap()),
            timezone: Some(chrono_tz::Europe::Vienna),
            ..Options::default()
        };
        let e = prepare(body.as_bytes(), &opts, None, none).unwrap_err();
        let PrepareError::Build(BuildError::Invalid(v)) = e else {
            panic!("{e:?}")
        };
        assert!(
            v.message.contains("event 7 \"Gap\"") && v.message.contains("does not exist"),
            "{v:?}"
        );
        // A document-level rule (here none is broken by event 8) would
        // name its event the same way.
        let labels = vec!["event 8 \"Link\"".to_owned()];
        let named = name_event(
            ValidationError::new("sessions[0].links[0].url", "too long"),
            &labels,
        );
        assert!(
            named.to_string().contains("event 8 \"Link\": too long"),
            "{named}"
        );
    }

    #[test]
    fn a_confcal_document_keeps_its_own_zone() {
        let doc =
            br#"{"conference": {"slug": "a", "name": "A", "timezone": "UTC"}, "sessions": []}"#;
        let opts = Options {
            timezone: Some(chrono_tz::Europe::Berlin),
            ..Options::default()
        };
        let e = prepare(doc, &opts, None, none).unwrap_err();
        assert!(
            matches!(e, PrepareError::Build(BuildError::Invalid(ref v)) if v.field == "timezone"),
            "{e:?}"
        );
        let opts = Options {
            conference: Some(ConferenceSlug::parse("b").unwrap()),
            ..Options::default()
        };
        let p = prepare(doc, &opts, None, none).unwrap();
        assert_eq!(
            (p.format, p.schedule.conference.slug.as_str()),
            (Format::Confcal, "b")
        );
    }

    #[test]
    fn file_slugs() {
        assert_eq!(
            file_slug(Path::new(
                "/x/sessionize-global-azure-austria-2024.all.json"
            ))
            .as_deref(),
            Some("sessionize-global-azure-austria-2024")
        );
        assert_eq!(
            file_slug(Path::new("FOSDEM 2023.xml")).as_deref(),
            Some("fosdem-2023")
        );
        assert_eq!(file_slug(Path::new(".xml")), None);
    }
}
