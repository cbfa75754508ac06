//! The search index: each conference's words in a namespace of its own.
//!
//! A search must cost in proportion to the conference searched, however
//! large the other conferences in the database are. An FTS5 prefix term
//! (`"pyt"*`) is answered by merging the whole doclist of every indexed
//! word it begins, over every row of the index: no rowid range or column
//! filter narrows that merge, so with one index over all conferences a
//! five-talk conference's search cost what the whole database holds (and
//! with a big conference beside it, ran into its deadline).
//!
//! So every word is indexed as `{conference id}:{word}`. A prefix term of
//! one conference, `"7:pyt"*`, is then a range of that conference's words
//! only, and its doclists hold only that conference's sessions. The words
//! themselves are exactly what the index has always used: SQLite's own
//! `unicode61 remove_diacritics 2` tokenizer, called here through FTS5's C
//! interface (a copy of its Unicode tables would drift from it). Its
//! output, already case-folded and without diacritics, is written as text
//! of space-separated words to an FTS5 table whose `ascii` tokenizer (with
//! `:` a word character) splits it back into the same words unchanged:
//! `unicode61` words never hold an ASCII character that is not a letter or
//! a digit, nor an ASCII capital, and `ascii` keeps every other byte as it
//! is. Each column keeps its own words and their order, so phrases (a
//! query word that `unicode61` splits in two) and columns match as before.
//!
//! The triggers that keep the index in step with `sessions` call the SQL
//! function [`WORDS_FUNCTION`], which every connection the store opens has
//! (see [`register`]). A connection without it (the `sqlite3` shell) can
//! read everything, check integrity, and delete sessions, but an insert or
//! an update of a session's text fails with "no such function": loudly,
//! rather than leaving the index behind.
//!
//! The others tried, with 300,000 sessions (the seed's worst search, one
//! index over all, about 1 s): a rowid range per conference does not help,
//! since FTS5 merges a prefix's doclists whole before it seeks (0.9 s); a
//! `prefix='3'` index makes 3-character prefixes one doclist (1 ms), but a
//! 4-character prefix is the whole merge again; the conference as an
//! indexed column ANDed in merges the same doclists (1.1 s); scanning the
//! conference's own rows costs what it holds but makes a narrow search of
//! a big conference a scan of all of it. A tokenizer of our own, wrapping
//! `unicode61`, would namespace the words as well, but then every
//! connection that so much as reads the table or checks integrity would
//! need it registered; the function is needed only to write.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;

use rusqlite::functions::FunctionFlags;
use rusqlite::{ffi, Connection};

use crate::domain::SessionFilter;

/// `confcal_search_words(conference_id, text)`: `text`'s words as the index
/// holds them (see the module docs); NULL for NULL.
pub const WORDS_FUNCTION: &str = "confcal_search_words";

/// The tokenizer and arguments that define what a word is: the ones the
/// index had before it was split by conference, so searches match what
/// they matched.
const TOKENIZER: &CStr = c"unicode61";
const TOKENIZER_ARGS: [&CStr; 2] = [c"remove_diacritics", c"2"];

/// An instance of SQLite's `unicode61` tokenizer.
///
/// It holds copies of the tokenizer's function pointers (static code in
/// SQLite) and its own instance, allocated by SQLite: nothing that belongs
/// to the connection it was found through, so it may outlive it.
pub struct Words {
    functions: ffi::fts5_tokenizer,
    instance: *mut ffi::Fts5Tokenizer,
}

// SAFETY: the instance is plain memory owned by this value (no thread
// affinity, no reference to a connection); `&mut self` on every use keeps
// it to one thread at a time.
unsafe impl Send for Words {}

impl Words {
    /// Finds `unicode61` through `conn`'s FTS5 and makes an instance.
    pub fn new(conn: &Connection) -> rusqlite::Result<Words> {
        let api = fts5_api(conn)?;
        let mut functions = ffi::fts5_tokenizer {
            xCreate: None,
            xDelete: None,
            xTokenize: None,
        };
        let mut user_data: *mut c_void = ptr::null_mut();
        let mut args: Vec<*const c_char> = TOKENIZER_ARGS.iter().map(|a| a.as_ptr()).collect();
        let mut instance: *mut ffi::Fts5Tokenizer = ptr::null_mut();
        // SAFETY: `api` is the connection's live FTS5 global (checked not
        // null); the out-pointers are valid locals; the arguments are
        // NUL-terminated strings that outlive the calls.
        let rc = unsafe {
            let find = (*api)
                .xFindTokenizer
                .ok_or_else(|| fail("no xFindTokenizer"))?;
            let rc = find(api, TOKENIZER.as_ptr(), &mut user_data, &mut functions);
            if rc != ffi::SQLITE_OK {
                return Err(fail("FTS5 has no unicode61 tokenizer"));
            }
            let create = functions.xCreate.ok_or_else(|| fail("no xCreate"))?;
            create(
                user_data,
                args.as_mut_ptr(),
                args.len() as c_int,
                &mut instance,
            )
        };
        if rc != ffi::SQLITE_OK || instance.is_null() || functions.xTokenize.is_none() {
            return Err(fail("the unicode61 tokenizer could not be made"));
        }
        Ok(Words {
            functions,
            instance,
        })
    }

    /// Appends `text`'s words to `out`, each as `{conference}:{word}` and
    /// separated by spaces.
    pub fn write(&mut self, conference: i64, text: &str, out: &mut String) -> rusqlite::Result<()> {
        let len = c_int::try_from(text.len()).map_err(|_| fail("text too long to index"))?;
        let mut sink = Sink {
            prefix: format!("{conference}:"),
            out: std::mem::take(out).into_bytes(),
        };
        let tokenize = self.functions.xTokenize.expect("checked in new");
        // SAFETY: `instance` was made by this tokenizer's xCreate and is
        // used by one caller at a time (`&mut self`); `text` is valid for
        // `len` bytes during the call; `sink` outlives it and `on_word`
        // reads it as the `Sink` it is.
        let rc = unsafe {
            tokenize(
                self.instance,
                (&mut sink as *mut Sink).cast(),
                ffi::FTS5_TOKENIZE_DOCUMENT,
                text.as_ptr().cast(),
                len,
                Some(on_word),
            )
        };
        // unicode61 words are UTF-8 taken from UTF-8 text.
        *out = String::from_utf8(sink.out).map_err(|_| fail("a word is not UTF-8"))?;
        if rc != ffi::SQLITE_OK {
            return Err(fail("the unicode61 tokenizer failed"));
        }
        Ok(())
    }

    /// [`Words::write`] into a new string.
    pub fn of(&mut self, conference: i64, text: &str) -> rusqlite::Result<String> {
        let mut out = String::new();
        self.write(conference, text, &mut out)?;
        Ok(out)
    }
}

impl Drop for Words {
    fn drop(&mut self) {
        if let Some(delete) = self.functions.xDelete {
            // SAFETY: made by this tokenizer's xCreate, deleted once.
            unsafe { delete(self.instance) };
        }
    }
}

/// Where [`on_word`] writes.
struct Sink {
    prefix: String,
    out: Vec<u8>,
}

/// The tokenizer's callback: one word.
unsafe extern "C" fn on_word(
    ctx: *mut c_void,
    _flags: c_int,
    token: *const c_char,
    len: c_int,
    _start: c_int,
    _end: c_int,
) -> c_int {
    // SAFETY: `ctx` is the `Sink` that `Words::write` passed, alive and
    // not otherwise borrowed during the tokenizer call; `token` points to
    // `len` bytes for the duration of this call.
    let (sink, word) = unsafe {
        (
            &mut *ctx.cast::<Sink>(),
            std::slice::from_raw_parts(token.cast::<u8>(), usize::try_from(len).unwrap_or(0)),
        )
    };
    if !sink.out.is_empty() {
        sink.out.push(b' ');
    }
    sink.out.extend_from_slice(sink.prefix.as_bytes());
    sink.out.extend_from_slice(word);
    ffi::SQLITE_OK
}

/// The connection's `fts5_api` (the documented way: `SELECT fts5(?1)`
/// with a pointer bound to `?1`).
fn fts5_api(conn: &Connection) -> rusqlite::Result<*mut ffi::fts5_api> {
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    // SAFETY: `handle` is the open connection's; the statement is
    // finalised before returning; the bound pointer is a live local that
    // FTS5 writes once during the step.
    unsafe {
        let db = conn.handle();
        let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
        let rc = ffi::sqlite3_prepare_v2(
            db,
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &mut stmt,
            ptr::null_mut(),
        );
        if rc != ffi::SQLITE_OK {
            return Err(fail("this SQLite has no FTS5"));
        }
        ffi::sqlite3_bind_pointer(
            stmt,
            1,
            (&mut api as *mut *mut ffi::fts5_api).cast(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        ffi::sqlite3_step(stmt);
        ffi::sqlite3_finalize(stmt);
    }
    if api.is_null() {
        return Err(fail("FTS5 gave no fts5_api"));
    }
    Ok(api)
}

fn fail(msg: &str) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(format!("search index: {msg}").into())
}

/// Gives `conn` the [`WORDS_FUNCTION`] that the index's triggers call.
/// Every connection the store opens gets it; so must any other that
/// inserts or updates sessions.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let words = RefCell::new(Words::new(conn)?);
    conn.create_scalar_function(
        WORDS_FUNCTION,
        2,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        move |ctx| {
            let conference: i64 = ctx.get(0)?;
            let Some(text) = ctx.get_raw(1).as_str_or_null()? else {
                return Ok(None);
            };
            let mut words = words
                .try_borrow_mut()
                .map_err(|_| fail("called from within itself"))?;
            Ok(Some(words.of(conference, text)?))
        },
    )
}

/// The FTS5 query for `filter`'s `q` values within one conference: the
/// query of [`SessionFilter::fts_query`] with each word replaced by its
/// words as that conference's index holds them.
pub(super) fn match_query(
    conn: &Connection,
    conference: i64,
    filter: &SessionFilter,
) -> rusqlite::Result<Option<String>> {
    if filter.q.is_empty() {
        return Ok(None);
    }
    let mut words = Words::new(conn)?;
    let mut failed = None;
    let q = filter.fts_query_with(|w| {
        words.of(conference, w).unwrap_or_else(|e| {
            failed = Some(e);
            String::new()
        })
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(q),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Two conferences' sessions in the index as it was (one table over
    /// all, unicode61) and as it is (per-conference words).
    fn both(docs: &[(i64, [&str; 3])]) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE old USING fts5 (title, abstract, speakers,
                 tokenize = 'unicode61 remove_diacritics 2');
             CREATE VIRTUAL TABLE new USING fts5 (title, abstract, speakers,
                 content = '', contentless_delete = 1, tokenize = \"ascii tokenchars ':'\");
             CREATE TABLE conf (id INTEGER PRIMARY KEY, conference INTEGER);",
        )
        .unwrap();
        for (i, (c, [t, a, s])) in docs.iter().enumerate() {
            conn.execute(
                "INSERT INTO old (rowid, title, abstract, speakers) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![i as i64 + 1, t, a, s],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO new (rowid, title, abstract, speakers) VALUES (?1,
                     confcal_search_words(?5, ?2), confcal_search_words(?5, ?3),
                     confcal_search_words(?5, ?4))",
                rusqlite::params![i as i64 + 1, t, a, s, c],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO conf (id, conference) VALUES (?1, ?2)",
                rusqlite::params![i as i64 + 1, c],
            )
            .unwrap();
        }
        conn
    }

    fn ids(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Vec<i64> {
        let mut stmt = conn.prepare(sql).unwrap();
        let rows = stmt.query_map(args, |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// What the old index found in conference `c`, and what the new one does.
    fn found(conn: &Connection, c: i64, query: &str) -> (Vec<i64>, Vec<i64>) {
        let f = SessionFilter::from_query(query).unwrap();
        let Some(old_q) = f.fts_query() else {
            return (vec![], vec![]);
        };
        let old = ids(
            conn,
            "SELECT rowid FROM old WHERE old MATCH ?1
             AND rowid IN (SELECT id FROM conf WHERE conference = ?2) ORDER BY rowid",
            rusqlite::params![old_q, c],
        );
        let new_q = match_query(conn, c, &f).unwrap().unwrap();
        let new = ids(
            conn,
            "SELECT rowid FROM new WHERE new MATCH ?1 ORDER BY rowid",
            [new_q],
        );
        (old, new)
    }

    #[test]
    fn words_are_unicode61s_in_a_namespace() {
        let conn = Connection::open_in_memory().unwrap();
        let mut w = Words::new(&conn).unwrap();
        // unicode61 as it is: `ł` has no decomposition, so it stays.
        assert_eq!(
            w.of(7, "Café CRASH-reports, Łódź 日本語 x²").unwrap(),
            "7:cafe 7:crash 7:reports 7:łodz 7:日本語 7:x²"
        );
        assert_eq!(w.of(12, " -- ").unwrap(), "");
        register(&conn).unwrap();
        let v: Option<String> = conn
            .query_row("SELECT confcal_search_words(3, NULL)", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, None);
    }

    #[test]
    fn searches_find_what_the_one_index_found_in_the_conference() {
        let conn = both(&[
            (
                1,
                [
                    "Apache Cassandra and Python",
                    "Using pycassa; thrift.",
                    "[\"Jeremiah Jordan\"]",
                ],
            ),
            (
                1,
                [
                    "Make Sure Your Programs Crash",
                    "Segfaults don't happen",
                    "[\"Moshe Zadka\"]",
                ],
            ),
            (
                2,
                [
                    "Python at Scale",
                    "Cassandra again, programs",
                    "[\"Zoë Müller\"]",
                ],
            ),
            (
                2,
                ["Résumés in Ångström", "naïve café co-op", "[\"O'Neil\"]"],
            ),
            (
                1,
                ["résumé writing", "e\u{301}cole ﬁne", "[\"Nguyễn Satō\"]"],
            ),
        ]);
        for q in [
            "q=python",
            "q=pyt",
            "q=py",
            "q=cassandra+thrift",
            "q=cas&q=crash",
            "q=resume",
            "q=angstrom&q=cafe",
            "q=co-op",
            "q=don",
            "q=don't",
            "q=%22%20OR%20*",
            "q=NEAR(x)",
            "q=jeremiah+jordan",
            "q=nguyen",
            "q=sato",
            "q=ecole",
            "q=e%CC%81cole",
            "q=fine",
            "q=%EF%AC%81ne",
            "q=zoe+muller",
            "q=o%27neil",
            "q=neil",
        ] {
            for c in [1, 2] {
                let (old, new) = found(&conn, c, q);
                assert_eq!(old, new, "{q} in conference {c}");
            }
        }
        // And the namespaces are real: a word of conference 2 only.
        assert_eq!(found(&conn, 1, "q=muller"), (vec![], vec![]));
        assert_eq!(found(&conn, 2, "q=muller").1, [3]);
    }

    /// Text of words that meet the tokenizers' edges: accents composed
    /// and decomposed, ligatures, titlecase digraphs, apostrophes, CJK,
    /// and any other character at all.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9éÉüÜßøŁłǅǆ日本ﬁ\u{301}\u{345}\u{2160}'’ .,:*-]{0,40}",
            "\\PC{0,30}",
        ]
    }

    proptest! {
        /// Any text, any query (words taken from the text, cut to
        /// prefixes, or anything): the same sessions as the one index
        /// found, in both conferences.
        #[test]
        fn any_text_any_query_matches_as_before(
            texts in proptest::collection::vec((text(), text(), text()), 1..6),
            other in proptest::collection::vec(text(), 1..4),
            cut in 1usize..6,
            pick in any::<bool>(),
        ) {
            let docs: Vec<(i64, [&str; 3])> = texts
                .iter()
                .enumerate()
                .map(|(i, (t, a, s))| (1 + (i % 2) as i64, [t.as_str(), a.as_str(), s.as_str()]))
                .collect();
            let conn = both(&docs);
            let values: Vec<String> = if pick {
                texts
                    .iter()
                    .flat_map(|(t, a, _)| t.split_whitespace().chain(a.split_whitespace()))
                    .map(|w| w.chars().take(cut).collect())
                    .take(4)
                    .collect()
            } else {
                other
            };
            let query: String = values
                .iter()
                .map(|w| format!("q={}", url::form_urlencoded::byte_serialize(w.as_bytes()).collect::<String>()))
                .collect::<Vec<_>>()
                .join("&");
            if let Ok(f) = SessionFilter::from_query(&query) {
                if f.fts_query().is_some() {
                    for c in [1, 2] {
                        let (old, new) = found(&conn, c, &query);
                        prop_assert_eq!(old, new, "{} in conference {}", query, c);
                    }
                }
            }
        }
    }
}
