//! The bad-input corpus (`tests/corpus/requests.json`): every malformed
//! request answers the expected 4xx with a JSON error naming the field,
//! none answers 5xx, and none changes a stored byte.
//!
//! Each case is data: method, path, headers, a body (inline, hex, a file
//! under `tests/corpus/`, or a JSON document edited with JSON-pointer `set`
//! and `remove`), and the expected status, field and message. Run with
//! `CORPUS_EXPLORE=1` to print what every case actually answers.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::helpers::{fixture, repo_path, spawn_app_with, TestApp, ADMIN_TOKEN};

/// Small, so "over the limit" needs no megabytes; every legitimate body in
/// the corpus is far below it.
const BODY_LIMIT: usize = 64 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    #[allow(dead_code)]
    about: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    method: String,
    path: String,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    body_hex: Option<String>,
    body_file: Option<String>,
    body_json: Option<Value>,
    body_repeat: Option<Repeat>,
    /// JSON pointer → new value, applied to a JSON body.
    #[serde(default)]
    set: BTreeMap<String, Value>,
    /// JSON pointers removed from a JSON body.
    #[serde(default)]
    remove: Vec<String>,
    status: u16,
    field: Option<String>,
    error_contains: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Repeat {
    prefix: String,
    unit: String,
    count: usize,
    suffix: String,
}

fn load_corpus() -> Vec<Case> {
    let text = std::fs::read_to_string(repo_path("tests/corpus/requests.json")).unwrap();
    serde_json::from_str::<Corpus>(&text)
        .expect("tests/corpus/requests.json")
        .cases
}

/// `{token}`, `{admin}` and `{repeat:UNIT:N}` in paths and header values.
fn expand(s: &str, token: &str) -> String {
    let mut out = s.replace("{token}", token).replace("{admin}", ADMIN_TOKEN);
    while let Some(start) = out.find("{repeat:") {
        let end = start + out[start..].find('}').expect("closing brace");
        let spec = &out[start + "{repeat:".len()..end];
        let (unit, n) = spec.rsplit_once(':').expect("{repeat:UNIT:N}");
        let repeated = unit.repeat(n.parse().expect("count"));
        out.replace_range(start..=end, &repeated);
    }
    out
}

/// `{"$repeat": "ab", "times": 3}` anywhere in a value becomes `"ababab"`.
fn expand_value(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.contains_key("$repeat") => {
            let unit = m["$repeat"].as_str().expect("$repeat string");
            let times = m["times"].as_u64().expect("times") as usize;
            Value::String(unit.repeat(times))
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), expand_value(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(expand_value).collect()),
        other => other.clone(),
    }
}

fn split_pointer(ptr: &str) -> (&str, String) {
    let (parent, last) = ptr.rsplit_once('/').expect("pointer starts with /");
    (parent, last.replace("~1", "/").replace("~0", "~"))
}

fn set_pointer(doc: &mut Value, ptr: &str, value: Value) {
    let (parent, key) = split_pointer(ptr);
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.insert(key, value);
        }
        Some(Value::Array(a)) => {
            let i: usize = key.parse().expect("array index");
            if i == a.len() {
                a.push(value);
            } else {
                a[i] = value;
            }
        }
        _ => panic!("no container at {parent:?} for {ptr:?}"),
    }
}

fn remove_pointer(doc: &mut Value, ptr: &str) {
    let (parent, key) = split_pointer(ptr);
    let removed = match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => m.remove(&key).is_some(),
        Some(Value::Array(a)) => {
            a.remove(key.parse().expect("array index"));
            true
        }
        _ => false,
    };
    assert!(removed, "nothing to remove at {ptr:?}");
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn body_of(case: &Case) -> Option<Vec<u8>> {
    let given = [
        case.body.is_some(),
        case.body_hex.is_some(),
        case.body_file.is_some(),
        case.body_json.is_some(),
        case.body_repeat.is_some(),
    ];
    assert!(
        given.iter().filter(|&&b| b).count() <= 1,
        "{}: more than one body",
        case.name
    );
    let mut bytes = if let Some(b) = &case.body {
        b.clone().into_bytes()
    } else if let Some(h) = &case.body_hex {
        hex(h)
    } else if let Some(f) = &case.body_file {
        std::fs::read(repo_path(&format!("tests/corpus/{f}")))
            .unwrap_or_else(|e| panic!("{}: {f}: {e}", case.name))
    } else if let Some(j) = &case.body_json {
        expand_value(j).to_string().into_bytes()
    } else if let Some(r) = &case.body_repeat {
        format!("{}{}{}", r.prefix, r.unit.repeat(r.count), r.suffix).into_bytes()
    } else {
        assert!(
            case.set.is_empty() && case.remove.is_empty(),
            "{}: edits without a body",
            case.name
        );
        return None;
    };
    if !case.set.is_empty() || !case.remove.is_empty() {
        let mut doc: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{}: edited body is not JSON: {e}", case.name));
        for ptr in &case.remove {
            remove_pointer(&mut doc, ptr);
        }
        for (ptr, v) in &case.set {
            set_pointer(&mut doc, ptr, expand_value(v));
        }
        bytes = serde_json::to_vec(&doc).unwrap();
    }
    Some(bytes)
}

/// Everything a subscriber or the database could tell apart: every
/// conference's whole feed (body and ETag) and session listing, the
/// agenda's JSON and feed, and every row of every table.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    http: BTreeMap<String, String>,
    rows: BTreeMap<String, Vec<String>>,
}

fn snapshot(app: &TestApp, token: &str) -> Snapshot {
    let mut http = BTreeMap::new();
    let mut get = |path: String| {
        let r = app.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let etag = r.header("etag").unwrap_or("-").to_owned();
        http.insert(path, format!("ETag {etag}\n{}", r.text()));
    };
    let list = app.get("/api/conferences").json();
    let slugs: Vec<String> = list["conferences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap().to_owned())
        .collect();
    assert!(slugs.len() >= 3, "{slugs:?}");
    get("/api/conferences".into());
    for slug in &slugs {
        get(format!("/conferences/{slug}/sessions.ics"));
        get(format!("/api/conferences/{slug}/sessions?status=all"));
        get(format!("/api/conferences/{slug}"));
    }
    get(format!("/api/agendas/{token}"));
    get(format!("/agendas/{token}.ics"));

    let db = rusqlite::Connection::open_with_flags(
        &app.db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap();
    let mut rows = BTreeMap::new();
    for (table, order) in [
        ("conferences", "id"),
        ("sessions", "id"),
        ("agendas", "id"),
        ("agenda_stars", "agenda_id, session_id"),
    ] {
        let mut stmt = db
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .unwrap();
        let n = stmt.column_count();
        let dump: Vec<String> = stmt
            .query_map([], |row| {
                Ok((0..n)
                    .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join(" | "))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.insert(table.to_owned(), dump);
    }
    Snapshot { http, rows }
}

fn first_difference(a: &Snapshot, b: &Snapshot) -> String {
    for (k, v) in &a.http {
        if b.http.get(k) != Some(v) {
            return format!("{k} changed");
        }
    }
    for (k, v) in &a.rows {
        if b.rows.get(k) != Some(v) {
            return format!("table {k} changed");
        }
    }
    "key sets differ".into()
}

/// The corpus is big enough and every case is well-formed data.
#[test]
fn corpus_has_at_least_fifty_distinct_cases() {
    let cases = load_corpus();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let mut names = std::collections::HashSet::new();
    for c in &cases {
        assert!(names.insert(c.name.as_str()), "duplicate name {:?}", c.name);
        assert!(
            (400..500).contains(&c.status),
            "{}: expects {}",
            c.name,
            c.status
        );
        body_of(c);
    }
    // The document every `set`/`remove` case edits is itself valid, so each
    // of those cases fails for the one thing it changes.
    let base = std::fs::read(repo_path("tests/corpus/documents/base.json")).unwrap();
    let schedule = confcal::domain::schedule::parse_document(&base)
        .and_then(|d| d.validate())
        .expect("base.json is valid");
    assert_eq!(schedule.conference.slug.as_str(), "corpus");
}

#[test]
fn corpus_answers_4xx_json_and_changes_nothing() {
    let explore = std::env::var_os("CORPUS_EXPLORE").is_some();
    let app = spawn_app_with(|s| s.body_limit = BODY_LIMIT);
    for name in ["dst-la-2012.json", "lord-howe-2012.json"] {
        assert_eq!(app.put_schedule(&fixture(name)).status, 201, "{name}");
    }
    let base: Value = serde_json::from_slice(
        &std::fs::read(repo_path("tests/corpus/documents/base.json")).unwrap(),
    )
    .unwrap();
    let r = app.put_schedule(&base);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app.request("POST", "/api/agendas", &[], Some(br#"{"name": "Corpus"}"#));
    assert_eq!(r.status, 201, "{}", r.text());
    let token = r.json()["token"].as_str().unwrap().to_owned();
    for star in [
        "corpus/opening",
        "corpus/fall-back",
        "pycon-us-2012/dismantling-jinja",
    ] {
        let r = app.request(
            "PUT",
            &format!("/api/agendas/{token}/sessions/{star}"),
            &[],
            None,
        );
        assert_eq!(r.status, 200, "{star}: {}", r.text());
    }

    let before = snapshot(&app, &token);
    let cases = load_corpus();
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let mut failures = Vec::new();
    for case in &cases {
        let path = expand(&case.path, &token);
        let mut headers: Vec<(String, String)> = case
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), expand(v, &token)))
            .collect();
        if case.admin {
            headers.push(("Authorization".into(), auth.clone()));
        }
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let body = body_of(case);
        let r = app.request(&case.method, &path, &header_refs, body.as_deref());
        let json: Option<Value> = serde_json::from_slice(&r.body).ok();
        if explore {
            println!(
                "{:>3} {:<60} {}",
                r.status,
                case.name,
                String::from_utf8_lossy(&r.body)
            );
        }
        let mut problems = Vec::new();
        if r.status >= 500 {
            problems.push(format!("server error {}", r.status));
        } else if r.status != case.status {
            problems.push(format!("status {} (expected {})", r.status, case.status));
        }
        match &json {
            None => problems.push("body is not JSON".into()),
            Some(j) => {
                let error = j["error"].as_str().unwrap_or_default();
                if error.is_empty() {
                    problems.push("no error message".into());
                }
                if let Some(want) = &case.field {
                    if j["field"].as_str() != Some(want.as_str()) {
                        problems.push(format!("field {} (expected {want:?})", j["field"]));
                    }
                }
                if let Some(want) = &case.error_contains {
                    if !error.contains(want.as_str()) {
                        problems.push(format!("error lacks {want:?}"));
                    }
                }
            }
        }
        if !r
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
        {
            problems.push(format!("content-type {:?}", r.header("content-type")));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({} {}): {}\n    body: {}",
                case.name,
                case.method,
                case.path,
                problems.join("; "),
                String::from_utf8_lossy(&r.body)
            ));
        }
    }
    let after = snapshot(&app, &token);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        before == after,
        "the corpus changed stored data: {}",
        first_difference(&before, &after)
    );
}
