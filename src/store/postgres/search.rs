//! Full-text search on PostgreSQL, returning the sessions SQLite's FTS5
//! returns for the same query.
//!
//! Parity comes from using the same words: `session_words` holds each
//! session's title, abstract and speakers as SQLite's `unicode61
//! remove_diacritics 2` tokenizer splits them (case-folded, accents
//! removed), one row per word with its column and position, and a query's
//! words go through the same tokenizer. The query's structure is
//! [`SessionFilter::search_terms`], the one SQLite's FTS5 query is built
//! from: alternatives (one per `q` value) of terms that must all match;
//! a term is a phrase (its words consecutive in one column, as FTS5
//! phrases are), its last word a prefix when the term is long enough
//! (FTS5's `"…"*`), and a term with no words matches nothing (as FTS5's
//! `""`). Every lookup is of one conference's words, through the
//! `(conference_id, word text_pattern_ops)` index: a word by equality, a
//! prefix by `LIKE 'pyt%'`.

use postgres::types::ToSql;
use postgres::Transaction;

use super::PgStore;
use crate::domain::SessionFilter;
use crate::store::StoreError;

/// One term of a search: a phrase, its last word maybe a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Term {
    pub words: Vec<String>,
    pub prefix: bool,
}

/// Columns as numbered in `session_words`.
const COLUMNS: [i16; 3] = [0, 1, 2];

impl PgStore {
    /// The filter's search, its words made by the shared tokenizer.
    pub(super) fn search_terms(
        &self,
        filter: &SessionFilter,
    ) -> Result<Option<Vec<Vec<Term>>>, StoreError> {
        let Some(alternatives) = filter.search_terms() else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(alternatives.len());
        for terms in alternatives {
            let mut alt = Vec::with_capacity(terms.len());
            for (w, prefix) in terms {
                alt.push(Term {
                    words: self.words(w)?,
                    prefix,
                });
            }
            out.push(alt);
        }
        Ok(Some(out))
    }

    /// Rewrites a session's words (after its insert or an update of its
    /// text), in the caller's transaction.
    pub(super) fn write_words(
        &self,
        tx: &mut Transaction<'_>,
        session_id: i64,
        conference_id: i64,
        texts: [&str; 3],
    ) -> Result<(), StoreError> {
        let (mut cols, mut poss, mut words) = (Vec::new(), Vec::new(), Vec::new());
        for (col, text) in COLUMNS.iter().zip(texts) {
            for (pos, w) in self.words(text)?.into_iter().enumerate() {
                cols.push(*col);
                poss.push(i32::try_from(pos).unwrap_or(i32::MAX));
                words.push(w);
            }
        }
        tx.execute(
            "DELETE FROM session_words WHERE session_id = $1",
            &[&session_id],
        )?;
        if !words.is_empty() {
            tx.execute(
                "INSERT INTO session_words (session_id, conference_id, col, pos, word) \
                 SELECT $1, $2, t.c, t.p, t.w \
                 FROM unnest($3::smallint[], $4::integer[], $5::text[]) AS t(c, p, w)",
                &[&session_id, &conference_id, &cols, &poss, &words],
            )?;
        }
        Ok(())
    }
}

/// A query of the ids of the sessions that match `alternatives`, in the
/// conference that parameter `$conf` holds; its values are appended to
/// `args`.
pub(super) fn matching_sql(
    alternatives: &[Vec<Term>],
    conf: usize,
    args: &mut Vec<Box<dyn ToSql + Sync>>,
) -> String {
    let push = |args: &mut Vec<Box<dyn ToSql + Sync>>, v: String| {
        args.push(Box::new(v));
        format!("${}", args.len())
    };
    let alts: Vec<String> = alternatives
        .iter()
        .map(|terms| {
            let parts: Vec<String> = terms
                .iter()
                .map(|t| {
                    if t.words.is_empty() {
                        return "SELECT NULL::bigint WHERE false".to_owned();
                    }
                    let last = t.words.len() - 1;
                    let mut from = String::new();
                    let mut cond = format!("w0.conference_id = ${conf}");
                    for (i, w) in t.words.iter().enumerate() {
                        let test = if i == last && t.prefix {
                            format!("LIKE {}", push(args, like_prefix(w)))
                        } else {
                            format!("= {}", push(args, w.clone()))
                        };
                        if i == 0 {
                            from.push_str("session_words w0");
                            cond.push_str(&format!(" AND w0.word {test}"));
                        } else {
                            from.push_str(&format!(
                                " JOIN session_words w{i} ON w{i}.session_id = w0.session_id \
                                 AND w{i}.col = w0.col AND w{i}.pos = w0.pos + {i} \
                                 AND w{i}.word {test}"
                            ));
                        }
                    }
                    format!("SELECT w0.session_id FROM {from} WHERE {cond}")
                })
                .collect();
            format!("({})", parts.join(") INTERSECT ("))
        })
        .collect();
    alts.join(" UNION ")
}

/// `w%` with `w`'s own `%`, `_` and `\` taken literally (unicode61 words
/// have none; the escape is for safety alone).
fn like_prefix(w: &str) -> String {
    let mut p = String::with_capacity(w.len() + 1);
    for c in w.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}
