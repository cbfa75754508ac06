//! iCalendar (RFC 5545) content-line writer.
//!
//! [`IcalWriter`] appends content lines to one growing `String`: every line
//! ends in CRLF and is folded so that no physical line exceeds 75 octets
//! (RFC 5545 §3.1). Folding never splits a UTF-8 character and never splits
//! a TEXT escape pair such as `\,` or `\n`: some consumers (Google Calendar
//! among them) unescape before unfolding and silently drop events whose fold
//! lands inside an escape.
//!
//! Feeds contain hundreds of thousands of properties, so values are escaped
//! and folded straight into the output buffer; a property that fits on one
//! line costs a couple of `push_str` calls and no allocation.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};

/// Maximum octets on one physical line, excluding the CRLF (RFC 5545 §3.1).
const MAX_LINE: usize = 75;

/// Line break plus the single space that marks a continuation line.
const FOLD: &str = "\r\n ";

/// Builds an iCalendar stream into a String: CRLF line ends, folded at 75 octets.
#[derive(Debug, Clone, Default)]
pub struct IcalWriter {
    out: String,
}

impl IcalWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer whose buffer is pre-sized; a feed's size is roughly
    /// known from the previous render, which saves repeated reallocations.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            out: String::with_capacity(bytes),
        }
    }

    /// A writer that appends to `buf` (which may already hold anything;
    /// folding only counts what this writer writes).
    pub fn from_string(buf: String) -> Self {
        Self { out: buf }
    }

    /// Writes `BEGIN:<component>`.
    pub fn begin(&mut self, component: &str) {
        self.raw("BEGIN", component);
    }

    /// Writes `END:<component>`.
    pub fn end(&mut self, component: &str) {
        self.raw("END", component);
    }

    /// Writes one property whose value is already in its final form.
    ///
    /// `name` is the property name with any parameters, e.g.
    /// `"DTSTART;TZID=America/Los_Angeles"`; `value` is written as is (the
    /// caller guarantees it is a valid non-TEXT value), folded.
    pub fn raw(&mut self, name: &str, value: &str) {
        // Fast path: the whole line fits, so no folding bookkeeping at all.
        if name.len() + 1 + value.len() <= MAX_LINE {
            self.out.reserve(name.len() + value.len() + 3);
            self.out.push_str(name);
            self.out.push(':');
            self.out.push_str(value);
            self.out.push_str("\r\n");
            return;
        }
        let mut line = Line::start(&mut self.out, name);
        // A raw value may still carry backslash pairs (e.g. a pre-escaped
        // value); keeping them together costs nothing and is never wrong.
        let mut rest = value;
        while let Some(pos) = rest.find('\\') {
            line.plain(&rest[..pos]);
            let pair_len = rest[pos + 1..].chars().next().map_or(0, char::len_utf8);
            line.unit(&rest[pos..pos + 1 + pair_len]);
            rest = &rest[pos + 1 + pair_len..];
        }
        line.plain(rest);
        line.finish();
    }

    /// Writes a property with parameters: `NAME;KEY=value;…:value`.
    ///
    /// Each parameter value is written as RFC 5545 §3.2 requires: quoted
    /// (`KEY="…"`) when it contains `:`, `;` or `,`, and with RFC 6868's
    /// caret encoding for what a parameter value cannot otherwise hold: `^`
    /// as `^^`, `"` as `^'`, a line break (LF, CR or CRLF) as `^n`. Other
    /// control characters, forbidden in parameter values, are dropped. A
    /// caret pair is never split by a fold. `value` is written as is, like
    /// [`IcalWriter::raw`] (a URI, a number: the caller's to format).
    pub fn raw_with_params(&mut self, name: &str, params: &[(&str, &str)], value: &str) {
        let mut line = Line {
            out: &mut self.out,
            col: 0,
        };
        line.plain(name);
        for (key, v) in params {
            line.plain(";");
            line.plain(key);
            line.plain("=");
            let quote = v.contains([':', ';', ',']);
            if quote {
                line.plain("\"");
            }
            param_pieces(v, |piece| line.piece(piece));
            if quote {
                line.plain("\"");
            }
        }
        line.plain(":");
        line.plain(value);
        line.finish();
    }

    /// Writes a TEXT property: `value` is escaped with the rules of
    /// [`escape_text`] directly into the output, then folded.
    pub fn text(&mut self, name: &str, value: &str) {
        let mut line = Line::start(&mut self.out, name);
        escape_pieces(value, |piece| line.piece(piece));
        line.finish();
    }

    /// Writes a TEXT property whose value is the concatenation of `parts`,
    /// each escaped on its own: lets callers assemble a DESCRIPTION from
    /// pieces without first copying them into one string. (A CR ending one
    /// part and an LF starting the next become two line breaks; stored text
    /// never has a CR, it is normalised on input.)
    pub fn text_parts(&mut self, name: &str, parts: &[&str]) {
        let mut line = Line::start(&mut self.out, name);
        for part in parts {
            escape_pieces(part, |piece| line.piece(piece));
        }
        line.finish();
    }

    /// Writes a multi-valued TEXT property (e.g. CATEGORIES): each value is
    /// escaped, and the values are joined by an unescaped `,`.
    pub fn text_list<S: AsRef<str>>(&mut self, name: &str, values: &[S]) {
        let mut line = Line::start(&mut self.out, name);
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                line.plain(",");
            }
            escape_pieces(value.as_ref(), |piece| line.piece(piece));
        }
        line.finish();
    }

    /// Octets written so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The stream written so far.
    pub fn as_str(&self) -> &str {
        &self.out
    }

    /// The finished stream.
    pub fn finish(self) -> String {
        self.out
    }
}

/// One logical content line being folded into the output.
///
/// `col` counts octets already on the current physical line, so folding
/// decisions need no look-back into the buffer.
struct Line<'a> {
    out: &'a mut String,
    col: usize,
}

impl<'a> Line<'a> {
    /// Starts a line with `name:`; the name itself may need folding when it
    /// carries long parameters.
    fn start(out: &'a mut String, name: &str) -> Self {
        let mut line = Line { out, col: 0 };
        line.plain(name);
        line.plain(":");
        line
    }

    fn piece(&mut self, piece: Piece<'_>) {
        match piece {
            Piece::Plain(s) => self.plain(s),
            Piece::Escape(pair) => self.unit(pair),
        }
    }

    /// Appends text that may be broken at any character boundary.
    #[inline]
    fn plain(&mut self, mut s: &str) {
        while self.col + s.len() > MAX_LINE {
            let mut cut = MAX_LINE - self.col;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.out.push_str(&s[..cut]);
            self.out.push_str(FOLD);
            self.col = 1;
            s = &s[cut..];
        }
        self.out.push_str(s);
        self.col += s.len();
    }

    /// Appends a unit that must not be split (an escape pair).
    #[inline]
    fn unit(&mut self, s: &str) {
        if self.col + s.len() > MAX_LINE {
            self.out.push_str(FOLD);
            self.col = 1;
        }
        self.out.push_str(s);
        self.col += s.len();
    }

    fn finish(self) {
        self.out.push_str("\r\n");
    }
}

/// A fragment of an escaped TEXT value.
#[derive(Debug, Clone, Copy)]
enum Piece<'s> {
    /// Characters that need no escaping; may be folded between characters.
    Plain(&'s str),
    /// A backslash escape pair; must stay on one physical line.
    Escape(&'static str),
}

/// Bytes that TEXT escaping rewrites or drops. All are ASCII, so the runs
/// between them are always valid `str` slices.
#[inline]
fn is_special(b: u8) -> bool {
    matches!(b, b'\\' | b';' | b',' | 0x7f) || (b < 0x20 && b != b'\t')
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `word` is below `n` (exact for `n` ≤ 128; bytes of
/// multi-byte UTF-8 characters, ≥ 0x80, never count).
#[inline]
fn has_below(word: u64, n: u8) -> bool {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS != 0
}

#[inline]
fn has_byte(word: u64, b: u8) -> bool {
    has_below(word ^ (ONES * u64::from(b)), 1)
}

/// False only when no byte of `word` is special (see [`is_special`]); true
/// may be a false alarm (a tab), which the byte-wise check then settles.
#[inline]
fn may_be_special(word: u64) -> bool {
    has_below(word, 0x20)
        || has_byte(word, b'\\')
        || has_byte(word, b';')
        || has_byte(word, b',')
        || has_byte(word, 0x7f)
}

/// Splits `s` into escaped pieces without allocating; shared by
/// [`escape_text`] and the writer so both always agree.
#[inline]
fn escape_pieces<'s>(s: &'s str, mut emit: impl FnMut(Piece<'s>)) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Most text has no special byte for long stretches: skip eight
        // bytes at a time while a word cannot contain one.
        while i + 8 <= bytes.len() {
            let word = u64::from_le_bytes(bytes[i..i + 8].try_into().expect("eight bytes"));
            if may_be_special(word) {
                break;
            }
            i += 8;
        }
        if i >= bytes.len() {
            break;
        }
        let b = bytes[i];
        if !is_special(b) {
            i += 1;
            continue;
        }
        if start < i {
            emit(Piece::Plain(&s[start..i]));
        }
        i += 1;
        match b {
            b'\\' => emit(Piece::Escape("\\\\")),
            b';' => emit(Piece::Escape("\\;")),
            b',' => emit(Piece::Escape("\\,")),
            b'\n' => emit(Piece::Escape("\\n")),
            b'\r' => {
                // CRLF and lone CR both mean one line break.
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
                emit(Piece::Escape("\\n"));
            }
            // Any other CONTROL character is forbidden in TEXT: drop it.
            _ => {}
        }
        start = i;
    }
    if start < bytes.len() {
        emit(Piece::Plain(&s[start..]));
    }
}

/// Splits a parameter value into pieces with RFC 6868 caret encoding (see
/// [`IcalWriter::raw_with_params`]).
fn param_pieces<'s>(s: &'s str, mut emit: impl FnMut(Piece<'s>)) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let special = matches!(b, b'^' | b'"' | 0x7f) || (b < 0x20 && b != b'\t');
        if !special {
            i += 1;
            continue;
        }
        if start < i {
            emit(Piece::Plain(&s[start..i]));
        }
        i += 1;
        match b {
            b'^' => emit(Piece::Escape("^^")),
            b'"' => emit(Piece::Escape("^'")),
            b'\n' => emit(Piece::Escape("^n")),
            b'\r' => {
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
                emit(Piece::Escape("^n"));
            }
            _ => {}
        }
        start = i;
    }
    if start < bytes.len() {
        emit(Piece::Plain(&s[start..]));
    }
}

/// Reverses the caret encoding of one parameter value (RFC 6868 §3): `^^`,
/// `^'` and `^n`; a caret before anything else stays as it is.
pub fn decode_param(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '^' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some('^') => {
                out.push('^');
                chars.next();
            }
            Some('\'') => {
                out.push('"');
                chars.next();
            }
            Some('n') => {
                out.push('\n');
                chars.next();
            }
            _ => out.push('^'),
        }
    }
    out
}

/// Escapes a TEXT value per RFC 5545 §3.3.11.
///
/// CRLF and lone CR are first normalised to LF; then `\` → `\\`, `;` → `\;`,
/// `,` → `\,`, LF → `\n`. Every other control character (U+0000–U+001F
/// except HTAB, and U+007F) is dropped, because RFC 5545 forbids CONTROL in
/// TEXT and strict parsers reject the whole object.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    escape_text_into(s, &mut out);
    out
}

/// [`escape_text`] appending to an existing buffer (no folding).
pub fn escape_text_into(s: &str, out: &mut String) {
    escape_pieces(s, |piece| match piece {
        Piece::Plain(p) => out.push_str(p),
        Piece::Escape(e) => out.push_str(e),
    });
}

/// What a TEXT value (or a parameter value) can carry of `s`, so what a
/// reader gets back of what was written: CRLF and CR become LF, and the
/// controls RFC 5545 forbids (U+0000–U+001F except tab and LF, U+007F)
/// are gone. The writer's contract, which its tests, the property tests
/// and the fuzz targets check it against.
pub fn representable(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|&c| c == '\t' || c == '\n' || !(c < ' ' || c == '\u{7f}'))
        .collect()
}

/// Unfolds an iCalendar stream: every CRLF followed by one space or tab is
/// removed (RFC 5545 §3.1). Other line breaks are kept.
pub fn unfold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("\r\n") {
        let after = &rest.as_bytes()[pos + 2..];
        if matches!(after.first(), Some(b' ' | b'\t')) {
            out.push_str(&rest[..pos]);
            rest = &rest[pos + 3..];
        } else {
            out.push_str(&rest[..pos + 2]);
            rest = &rest[pos + 2..];
        }
    }
    out.push_str(rest);
    out
}

/// Reverses [`escape_text`]: `\\`, `\;`, `\,`, `\n` and `\N` are decoded;
/// any other backslash is kept literally, which is the lenient reading most
/// parsers use for malformed input.
pub fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some(e @ ('\\' | ';' | ',')) => {
                out.push(e);
                chars.next();
            }
            Some('n' | 'N') => {
                out.push('\n');
                chars.next();
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// UTC DATE-TIME form, e.g. `20120309T220000Z`.
pub fn fmt_utc(dt: &DateTime<Utc>) -> String {
    let mut s = fmt_local(&dt.naive_utc());
    s.push('Z');
    s
}

/// Local (floating) DATE-TIME form, e.g. `20120309T140000`.
///
/// Written by hand rather than with `format("%Y%m%dT%H%M%S")`, which parses
/// the format string on every call; this runs once per date property.
pub fn fmt_local(dt: &NaiveDateTime) -> String {
    let mut s = String::with_capacity(16);
    // Writing to a String cannot fail.
    let _ = write!(
        s,
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};
    use proptest::prelude::*;

    /// The physical lines of a stream, without their CRLF.
    fn physical_lines(s: &str) -> Vec<&str> {
        assert!(s.is_empty() || s.ends_with("\r\n"), "unterminated: {s:?}");
        s.split_terminator("\r\n").collect()
    }

    /// Every physical line is ≤ 75 octets and CR/LF only appear as CRLF.
    fn assert_well_formed(s: &str) {
        for line in physical_lines(s) {
            assert!(
                line.len() <= MAX_LINE,
                "line too long ({}): {line:?}",
                line.len()
            );
            assert!(!line.contains(['\r', '\n']), "bare CR/LF in {line:?}");
        }
    }

    fn text_line(name: &str, value: &str) -> String {
        let mut w = IcalWriter::new();
        w.text(name, value);
        w.finish()
    }

    /// Value of the single property in `out`, unfolded and unescaped.
    fn read_back(out: &str) -> String {
        let logical = unfold(out);
        let logical = logical.strip_suffix("\r\n").expect("CRLF at end");
        assert!(!logical.contains("\r\n"), "more than one logical line");
        let (_, value) = logical.split_once(':').expect("colon");
        unescape_text(value)
    }

    #[test]
    fn begin_end_and_short_raw() {
        let mut w = IcalWriter::with_capacity(64);
        assert!(w.is_empty());
        w.begin("VCALENDAR");
        w.raw("DTSTART;TZID=America/Los_Angeles", "20120311T020000");
        w.end("VCALENDAR");
        assert_eq!(
            w.as_str(),
            "BEGIN:VCALENDAR\r\nDTSTART;TZID=America/Los_Angeles:20120311T020000\r\nEND:VCALENDAR\r\n"
        );
        assert_eq!(w.len(), w.as_str().len());
        assert!(!w.is_empty());
    }

    #[test]
    fn fold_at_exactly_75_and_76_octets() {
        // "X:" + 73 = 75 octets: fits on one line.
        let out = text_line("X", &"a".repeat(73));
        assert_eq!(out, format!("X:{}\r\n", "a".repeat(73)));
        // 76 octets: one octet moves to a continuation line.
        let out = text_line("X", &"a".repeat(74));
        assert_eq!(out, format!("X:{}\r\n a\r\n", "a".repeat(73)));
        // Continuation lines hold 74 content octets after their space.
        let out = text_line("X", &"a".repeat(73 + 74 + 1));
        assert_eq!(
            out,
            format!("X:{}\r\n {}\r\n a\r\n", "a".repeat(73), "a".repeat(74))
        );
        // Same for raw.
        let mut w = IcalWriter::new();
        w.raw("X", &"b".repeat(74));
        assert_eq!(w.as_str(), format!("X:{}\r\n b\r\n", "b".repeat(73)));
    }

    #[test]
    fn never_folds_inside_multibyte_characters() {
        // 72 ASCII + "é" (2 octets) = 74, then "é" would make 76 → fold before it.
        let out = text_line("X", &format!("{}éé", "a".repeat(71)));
        assert_eq!(out, format!("X:{}é\r\n é\r\n", "a".repeat(71)));
        // "日" is 3 octets: 73 + 3 > 75 even though 2 octets are free.
        let out = text_line("X", &format!("{}日本", "a".repeat(71)));
        assert_eq!(out, format!("X:{}\r\n 日本\r\n", "a".repeat(71)));
        // Emoji (4 octets) straddling the boundary.
        let out = text_line("X", &format!("{}😀x", "a".repeat(70)));
        assert_eq!(out, format!("X:{}\r\n 😀x\r\n", "a".repeat(70)));
        // Exactly filling the line with a 4-octet character.
        let out = text_line("X", &format!("{}😀", "a".repeat(69)));
        assert_eq!(out, format!("X:{}😀\r\n", "a".repeat(69)));
        for s in [format!("{}日本日本", "é".repeat(40)), "😀".repeat(60)] {
            let out = text_line("SUMMARY", &s);
            assert_well_formed(&out);
            assert_eq!(read_back(&out), s);
        }
    }

    #[test]
    fn never_folds_inside_escape_pairs() {
        for (ch, esc) in [(',', "\\,"), (';', "\\;"), ('\\', "\\\\"), ('\n', "\\n")] {
            // "X:" + 72 = 74 octets; the 2-octet escape would end at 76.
            let value = format!("{}{ch}z", "a".repeat(72));
            let out = text_line("X", &value);
            assert_eq!(out, format!("X:{}\r\n {esc}z\r\n", "a".repeat(72)));
            assert_eq!(read_back(&out), value);
            // Ending exactly at 75 stays on the line.
            let value = format!("{}{ch}", "a".repeat(71));
            let out = text_line("X", &value);
            assert_eq!(out, format!("X:{}{esc}\r\n", "a".repeat(71)));
        }
        // Raw values keep backslash pairs together too.
        let mut w = IcalWriter::new();
        w.raw("X", &format!("{}\\,b", "a".repeat(72)));
        assert_eq!(w.as_str(), format!("X:{}\r\n \\,b\r\n", "a".repeat(72)));
    }

    #[test]
    fn escaping_and_newline_normalisation() {
        assert_eq!(escape_text(r"a\b;c,d"), r"a\\b\;c\,d");
        assert_eq!(escape_text("l1\r\nl2\rl3\nl4"), r"l1\nl2\nl3\nl4");
        assert_eq!(escape_text("\r\r\n\n"), r"\n\n\n");
        assert_eq!(escape_text("tab\tkept"), "tab\tkept");
        assert_eq!(escape_text("a\0b\x07c\x1bd\x7fe\u{1f}"), "abcde");
        assert_eq!(escape_text("ünïcödé 日本 😀"), "ünïcödé 日本 😀");
        assert_eq!(text_line("SUMMARY", "a\u{0}\tb"), "SUMMARY:a\tb\r\n");
        assert_eq!(unescape_text(r"a\\b\;c\,d\ne\Nf\x\"), "a\\b;c,d\ne\nf\\x\\");
    }

    #[test]
    fn word_scan_agrees_with_the_byte_check() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut bytes = [b'a'; 8];
                bytes[pos] = b;
                let word = u64::from_le_bytes(bytes);
                if is_special(b) {
                    assert!(may_be_special(word), "byte {b:#x} at {pos} missed");
                }
                if b >= 0x20 && !is_special(b) {
                    assert!(!may_be_special(word), "byte {b:#x} false alarm");
                }
            }
        }
    }

    #[test]
    fn text_parts_is_text_of_the_concatenation() {
        let parts = ["by A, B", "\n\n", "x;y\\", "é".repeat(40).leak(), "\r\nend"];
        let mut a = IcalWriter::new();
        a.text_parts("DESCRIPTION", &parts);
        let mut b = IcalWriter::new();
        b.text("DESCRIPTION", &parts.concat());
        assert_eq!(a.finish(), b.finish());
    }

    #[test]
    fn text_list_escapes_each_value() {
        let mut w = IcalWriter::new();
        w.text_list("CATEGORIES", &["Rust, systems", "a;b", "plain"]);
        assert_eq!(w.as_str(), "CATEGORIES:Rust\\, systems,a\\;b,plain\r\n");
        let mut w = IcalWriter::new();
        w.text_list::<&str>("CATEGORIES", &[]);
        assert_eq!(w.as_str(), "CATEGORIES:\r\n");
        let long: Vec<String> = (0..30).map(|i| format!("tag,{i}")).collect();
        let mut w = IcalWriter::new();
        w.text_list("CATEGORIES", &long);
        assert_well_formed(w.as_str());
        let unfolded = unfold(w.as_str());
        assert!(unfolded.starts_with("CATEGORIES:tag\\,0,tag\\,1,"));
    }

    #[test]
    fn long_names_fold_too() {
        let name = format!("ATTENDEE;CN=\"{}\"", "Zoë ".repeat(30));
        let mut w = IcalWriter::new();
        w.raw(&name, "mailto:z@example.org");
        assert_well_formed(w.as_str());
        assert_eq!(
            unfold(w.as_str()),
            format!("{name}:mailto:z@example.org\r\n")
        );
    }

    fn param_line(params: &[(&str, &str)], value: &str) -> String {
        let mut w = IcalWriter::new();
        w.raw_with_params("X-P", params, value);
        w.finish()
    }

    #[test]
    fn parameters_are_quoted_only_when_needed() {
        assert_eq!(
            param_line(&[("VALUE", "URI"), ("X-APPLE-RADIUS", "100")], "geo:1,2"),
            "X-P;VALUE=URI;X-APPLE-RADIUS=100:geo:1,2\r\n"
        );
        for (v, want) in [
            ("E2, Hall", "\"E2, Hall\""),
            ("a;b", "\"a;b\""),
            ("10:30", "\"10:30\""),
            ("plain words", "plain words"),
            ("", ""),
        ] {
            assert_eq!(
                param_line(&[("X-T", v)], "x"),
                format!("X-P;X-T={want}:x\r\n")
            );
        }
    }

    #[test]
    fn parameters_use_caret_encoding() {
        assert_eq!(
            param_line(&[("X-T", "say \"hi\", ^_^\r\nbye\nend\rx")], "v"),
            "X-P;X-T=\"say ^'hi^', ^^_^^^nbye^nend^nx\":v\r\n"
        );
        // Controls other than line breaks cannot be carried: dropped.
        assert_eq!(
            param_line(&[("X-T", "a\u{0}b\u{7}c\td")], "v"),
            "X-P;X-T=a\u{0}b\u{7}c\td:v\r\n".replace(['\u{0}', '\u{7}'], "")
        );
        assert_eq!(
            decode_param("say ^'hi^', ^^_^^^nbye^x"),
            "say \"hi\", ^_^\nbye^x"
        );
    }

    #[test]
    fn parameter_lines_fold_at_75_octets_without_splitting_pairs() {
        // Long, multibyte, full of carets: every fold point must be legal.
        let title = format!(
            "{}, Zoë's \"Hall\" ^ 日本 😀",
            "Santa Clara Convention Center".repeat(3)
        );
        for pad in 0..6 {
            let v = format!("{}{title}", "x".repeat(pad));
            let out = param_line(&[("VALUE", "URI"), ("X-TITLE", &v)], "geo:37.4039,-121.974");
            assert_well_formed(&out);
            for line in physical_lines(&out) {
                assert!(std::str::from_utf8(line.as_bytes()).is_ok());
                assert!(
                    !line.ends_with('^') || line.ends_with("^^"),
                    "caret split: {line:?}"
                );
            }
            let logical = unfold(&out);
            let expected = format!(
                "X-P;VALUE=URI;X-TITLE=\"{}\":geo:37.4039,-121.974\r\n",
                v.replace('^', "^^").replace('"', "^'")
            );
            assert_eq!(logical, expected);
            // Read back: the quoted value between the first `="` and `":`.
            let quoted = logical.split_once("X-TITLE=\"").unwrap().1;
            let quoted = quoted.split_once("\":").unwrap().0;
            assert!(!quoted.contains('"'));
            assert_eq!(decode_param(quoted), v);
        }
    }

    #[test]
    fn unfold_handles_space_and_tab() {
        assert_eq!(unfold("A:b\r\n c\r\n\td\r\nE:f\r\n"), "A:bcd\r\nE:f\r\n");
    }

    #[test]
    fn date_time_forms() {
        let utc = Utc.with_ymd_and_hms(2012, 3, 9, 22, 0, 0).unwrap();
        assert_eq!(fmt_utc(&utc), "20120309T220000Z");
        let local = NaiveDate::from_ymd_opt(2012, 3, 9)
            .unwrap()
            .and_hms_opt(14, 0, 5)
            .unwrap();
        assert_eq!(fmt_local(&local), "20120309T140005");
    }

    /// Characters that stress escaping and folding, mixed with anything.
    fn tricky_string() -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            3 => any::<char>(),
            3 => prop::sample::select(vec![
                '\\', ';', ',', '\r', '\n', '\t', '\0', '\x7f', '\x1b', 'é', '日', '😀', 'a', ' ',
            ]),
        ];
        prop::collection::vec(ch, 0..300).prop_map(|v| v.into_iter().collect())
    }

    /// Checks a single folded content line: each physical line is valid
    /// UTF-8 on its own (no character cut by a fold), continuation lines are
    /// non-empty, and no fold falls between a backslash and the character it
    /// escapes (backslash pairs are counted from `value_start`, the first
    /// octet after the colon, in the unfolded line).
    fn check_fold_points(out: &str, value_start: usize) -> Result<(), TestCaseError> {
        let body = out.as_bytes().strip_suffix(b"\r\n").expect("CRLF at end");
        let mut folds = Vec::new();
        let mut unfolded = Vec::new();
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            prop_assert!(
                std::str::from_utf8(line).is_ok(),
                "line {} cuts a character",
                i
            );
            if i > 0 {
                prop_assert!(
                    line.len() > 1 && line[0] == b' ',
                    "bad continuation {:?}",
                    line
                );
                folds.push(unfolded.len());
                unfolded.extend_from_slice(&line[1..]);
            } else {
                unfolded.extend_from_slice(line);
            }
        }
        let mut i = value_start;
        while i < unfolded.len() {
            if unfolded[i] == b'\\' {
                prop_assert!(!folds.contains(&(i + 1)), "fold splits escape at {}", i);
                i += 2;
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn prop_text_round_trips_and_folds_safely(name_len in 1usize..80, value in tricky_string()) {
            let name = "N".repeat(name_len);
            let out = text_line(&name, &value);
            assert_well_formed(&out);
            prop_assert_eq!(read_back(&out), representable(&value));

            check_fold_points(&out, name.len() + 1)?;
        }

        #[test]
        fn prop_param_values_round_trip(v in tricky_string(), pad in 0usize..80) {
            let name = "X".repeat(pad + 1);
            let mut w = IcalWriter::new();
            w.raw_with_params(&name, &[("X-TITLE", &v)], "geo:0,0");
            assert_well_formed(w.as_str());
            let logical = unfold(w.as_str());
            let rest = logical.strip_prefix(&format!("{name};X-TITLE=")).unwrap();
            let rest = rest.strip_suffix(":geo:0,0\r\n").unwrap();
            let inner = match rest.strip_prefix('"') {
                Some(q) => q.strip_suffix('"').unwrap(),
                None => {
                    prop_assert!(!rest.contains([':', ';', ',']));
                    rest
                }
            };
            prop_assert!(!inner.contains('"'));
            // RFC 5545 CONTROL is ASCII's; C1 characters are NON-US-ASCII, allowed.
            prop_assert!(!inner.chars().any(|c| c.is_ascii_control() && c != '\t'));
            prop_assert_eq!(decode_param(inner), representable(&v));
        }

        #[test]
        fn prop_raw_unfolds_to_input(value in "[^\\r\\n]{0,300}") {
            let mut w = IcalWriter::new();
            w.raw("X-RAW", &value);
            assert_well_formed(w.as_str());
            prop_assert_eq!(unfold(w.as_str()), format!("X-RAW:{value}\r\n"));
            check_fold_points(w.as_str(), "X-RAW:".len())?;
        }

        #[test]
        fn prop_text_list_round_trips(values in prop::collection::vec(tricky_string(), 0..5)) {
            let mut w = IcalWriter::new();
            w.text_list("CATEGORIES", &values);
            assert_well_formed(w.as_str());
            let logical = unfold(w.as_str());
            let value = logical.strip_prefix("CATEGORIES:").unwrap().strip_suffix("\r\n").unwrap();
            // Split on commas that are not escaped.
            let mut parts = vec![String::new()];
            let mut chars = value.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        let last = parts.last_mut().unwrap();
                        last.push('\\');
                        last.extend(chars.next());
                    }
                    ',' => parts.push(String::new()),
                    c => parts.last_mut().unwrap().push(c),
                }
            }
            let got: Vec<String> = parts.iter().map(|p| unescape_text(p)).collect();
            let want: Vec<String> = if values.is_empty() {
                vec![String::new()]
            } else {
                values.iter().map(|v| representable(v)).collect()
            };
            prop_assert_eq!(got, want);
        }
    }
}
