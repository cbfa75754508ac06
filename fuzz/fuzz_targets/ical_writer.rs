//! Any text through `IcalWriter`: TEXT, TEXT built from parts, and TEXT
//! lists. Every physical line is at most 75 octets and CRLF-terminated, no
//! fold splits an escape pair, and unfolding then unescaping gives back the
//! text (CR/CRLF read as LF, the controls TEXT cannot carry dropped).
//!
//! `cargo +nightly fuzz run ical_writer`

#![no_main]

use libfuzzer_sys::fuzz_target;

use confcal::ical::writer::{representable, unescape_text, unfold, IcalWriter};

/// Property names of every length class the feeds use, including one with
/// a parameter long enough to need folding itself.
const NAMES: &[&str] = &[
    "SUMMARY",
    "DESCRIPTION",
    "X",
    "LOCATION;LANGUAGE=en",
    "X-CONFCAL-A-VERY-LONG-PROPERTY-NAME;X-PARAM=\"a quoted parameter value, long enough to fold\"",
];

/// A strict reader that fails on a dangling or unknown escape: applied to
/// one physical line at a time it catches a fold inside an escape pair.
fn strict_unescape(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            ';' => out.push(';'),
            ',' => out.push(','),
            'n' | 'N' => out.push('\n'),
            _ => return None,
        }
    }
    Some(out)
}

/// Splits a TEXT list at unescaped commas.
fn split_list(v: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next().expect("escape at the end");
                let item = items.last_mut().unwrap();
                item.push('\\');
                item.push(e);
            }
            ',' => items.push(String::new()),
            c => items.last_mut().unwrap().push(c),
        }
    }
    items.iter().map(|i| unescape_text(i)).collect()
}

fuzz_target!(|input: (u8, &str)| {
    let (selector, text) = input;
    let name = NAMES[usize::from(selector) % NAMES.len()];
    let mut w = IcalWriter::new();
    let parts: Vec<&str> = text.split('\u{1}').collect();
    match selector / 8 % 3 {
        0 => w.text(name, text),
        1 => w.text_parts(name, &parts),
        _ => w.text_list(name, &parts),
    }
    let out = w.finish();

    assert!(out.ends_with("\r\n"), "unterminated: {out:?}");
    let physical: Vec<&str> = out.split_terminator("\r\n").collect();
    for (i, line) in physical.iter().enumerate() {
        assert!(line.len() <= 75, "line of {} octets: {line:?}", line.len());
        assert!(!line.contains(['\r', '\n']), "bare CR/LF in {line:?}");
        if i > 0 {
            assert!(
                line.starts_with(' '),
                "continuation without space: {line:?}"
            );
        }
    }

    let logical = unfold(&out);
    let logical = logical.strip_suffix("\r\n").expect("CRLF");
    assert!(
        !logical.contains("\r\n"),
        "more than one logical line: {logical:?}"
    );
    let value = logical
        .strip_prefix(name)
        .and_then(|v| v.strip_prefix(':'))
        .expect("NAME:value");

    // No escape pair is split by a fold: each physical line's share of the
    // value unescapes on its own to the same text as the whole value.
    let mut pieces = Vec::new();
    let mut name_left = name.len() + 1;
    for (i, line) in physical.iter().enumerate() {
        let content = if i == 0 { *line } else { &line[1..] };
        // The name (and ':') may itself be folded; skip its octets.
        let drop = name_left.min(content.len());
        name_left -= drop;
        pieces.push(&content[drop..]);
    }
    assert_eq!(pieces.concat(), value);
    let per_line: Option<String> = pieces.iter().map(|p| strict_unescape(p)).collect();
    let per_line = per_line.unwrap_or_else(|| panic!("a fold splits an escape: {out:?}"));
    let whole = strict_unescape(value).expect("only valid escapes");
    assert_eq!(per_line, whole, "fold inside an escape pair");

    // Round trip. Parts are escaped one after the other, so a CR ending one
    // part and an LF starting the next are two line breaks.
    match selector / 8 % 3 {
        0 => assert_eq!(whole, representable(text), "round trip"),
        1 => {
            let want: String = parts.iter().map(|p| representable(p)).collect();
            assert_eq!(whole, want, "parts round trip");
        }
        _ => {
            let want: Vec<String> = parts.iter().map(|p| representable(p)).collect();
            assert_eq!(split_list(value), want, "list round trip");
        }
    }
});
