//! Text as schedules publish it, made into what the schedule document
//! holds: one-line fields without line breaks, descriptions without HTML
//! markup, slugs for ids and kinds, and cuts at the document's limits.

use std::borrow::Cow;

/// A one-line field (title, room, speaker): every run of white space,
/// line breaks included, becomes one space, and control characters go.
/// Schedules wrap long titles over lines; the document's titles are lines.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A multi-line field (abstract, notes): `\r\n` and `\r` become `\n`,
/// control characters other than line breaks and tabs go, trailing
/// spaces of each line and runs of more than one empty line go.
pub fn multi_line(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(s.len());
    let mut empty_run = 0;
    for line in s.split('\n') {
        let line: String = line
            .chars()
            .filter(|&c| !c.is_control() || c == '\t')
            .collect();
        let line = line.trim_end();
        if line.trim().is_empty() {
            empty_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if empty_run > 0 { "\n\n" } else { "\n" });
        }
        empty_run = 0;
        out.push_str(line);
    }
    out
}

/// HTML element names that mark a text as HTML. A text is read as HTML
/// only when it has one of these as a tag, so a plain abstract that says
/// "a < b" or "<your name>" is kept exactly as written.
const HTML_TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "section",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];

/// Tags whose start and end are paragraph breaks.
const BLOCK_TAGS: &[&str] = &[
    "blockquote",
    "div",
    "dl",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "ul",
];

/// One tag at the start of `s` (which begins with `<`): its lowercase
/// name, whether it closes, its attributes' text, and its length. `None`
/// when it is not a tag of [`HTML_TAGS`].
fn tag_at(s: &str) -> Option<(String, bool, &str, usize)> {
    let end = s.find('>')?;
    let inner = &s[1..end];
    let (closing, rest) = match inner.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, inner),
    };
    let name_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name = rest[..name_len].to_ascii_lowercase();
    let after = &rest[name_len..];
    let well_formed =
        after.is_empty() || after.starts_with([' ', '\t', '\n', '\r', '/']) && !after.contains('<');
    (well_formed && HTML_TAGS.contains(&name.as_str())).then(|| (name, closing, after, end + 1))
}

/// Whether `s` holds HTML markup: a closing tag of one of [`HTML_TAGS`]
/// (`</p>`), or a `<br>`, `<hr>` or `<img …>`, which have none. An opening
/// tag alone is not enough ("notes <i>" may well be plain text): only a
/// text that ends what it opens, or breaks lines the HTML way, is read as
/// HTML.
pub fn looks_like_html(s: &str) -> bool {
    s.match_indices('<').any(|(i, _)| {
        tag_at(&s[i..]).is_some_and(|(name, closing, _, _)| {
            closing || matches!(name.as_str(), "br" | "hr" | "img")
        })
    })
}

/// The value of attribute `name` in a tag's attribute text.
fn attribute<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let lower = attrs.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = attrs[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let rest = rest[1..].trim_start();
        return Some(match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
            _ => rest.split(char::is_whitespace).next().unwrap_or(""),
        });
    }
    None
}

/// Abstracts and descriptions that carry HTML (FOSDEM's and Pentabarf's
/// `<p>…</p>`, iCalendar descriptions) shown as the text a reader of the
/// page would see: paragraphs and line breaks kept, list items as "• "
/// lines (what the session page shows as a list), a link's address after
/// its text, entities decoded, every other tag dropped. A text without
/// HTML tags comes back unchanged: markdown and plain text stay as they
/// are.
pub fn html_to_text(s: &str) -> Cow<'_, str> {
    if !looks_like_html(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut link: Option<String> = None;
    let mut link_text_start = 0;
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        push_text(&mut out, &rest[..i]);
        rest = &rest[i..];
        let Some((name, closing, attrs, len)) = tag_at(rest) else {
            push_text(&mut out, "<");
            rest = &rest[1..];
            continue;
        };
        rest = &rest[len..];
        match (name.as_str(), closing) {
            ("br", _) => out.push('\n'),
            // Each item starts its own line; the list's end is a block's.
            ("li", false) => out.push_str("\n• "),
            ("a", false) => {
                link = attribute(attrs, "href")
                    .map(decode_entities)
                    .filter(|h| h.starts_with("http://") || h.starts_with("https://"));
                link_text_start = out.len();
            }
            ("a", true) => {
                if let Some(href) = link.take() {
                    let text = out[link_text_start..].trim();
                    if text != href && !text.is_empty() {
                        out.push_str(&format!(" ({href})"));
                    } else if text.is_empty() {
                        out.push_str(&href);
                    }
                }
            }
            ("img", _) => {
                if let Some(alt) = attribute(attrs, "alt").filter(|a| !a.trim().is_empty()) {
                    push_text(&mut out, alt);
                }
            }
            (n, _) if BLOCK_TAGS.contains(&n) => out.push_str("\n\n"),
            _ => {}
        }
    }
    push_text(&mut out, rest);
    // Lines as the text shows them: no space at either end, at most one
    // empty line between paragraphs.
    let lines: Vec<&str> = out.split('\n').map(str::trim).collect();
    Cow::Owned(multi_line(&lines.join("\n")))
}

/// Text between tags: white space collapses as HTML does, entities decode.
fn push_text(out: &mut String, text: &str) {
    let decoded = decode_entities(text);
    let mut space = false;
    for c in decoded.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            space = true;
            continue;
        }
        if space && !out.is_empty() && !out.ends_with(['\n', ' ']) {
            out.push(' ');
        }
        space = false;
        out.push(if c == '\u{a0}' { ' ' } else { c });
    }
    if space && !out.is_empty() && !out.ends_with(['\n', ' ']) {
        out.push(' ');
    }
}

/// `&amp;`, `&#39;`, `&#x2019;` and the named entities abstracts use; an
/// unknown name stays as written.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest[1..].find(';').filter(|&j| j <= 10).and_then(|j| {
            let name = &rest[1..1 + j];
            let c = if let Some(num) = name.strip_prefix('#') {
                let n = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => num.parse().ok(),
                };
                n.and_then(char::from_u32)
            } else {
                named_entity(name)
            };
            c.map(|c| (c, j + 2))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "hellip" => '…',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "eacute" => 'é',
        "egrave" => 'è',
        "aacute" => 'á',
        "agrave" => 'à',
        "ccedil" => 'ç',
        _ => return None,
    })
}

/// The ASCII letters of a Latin letter with a diacritic (`ü` is `u`,
/// `ß` is `ss`), so that `Aufführung` makes `auffuhrung`, not `auff-hrung`.
fn ascii_of(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'Ç' | 'č' | 'Č' | 'ć' | 'Ć' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' | 'ě' | 'Ě' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' | 'ň' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "o",
        'œ' | 'Œ' => "oe",
        'ř' | 'Ř' => "r",
        'š' | 'Š' | 'ś' | 'Ś' => "s",
        'ß' => "ss",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'ů' | 'Ů' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ž' | 'Ž' | 'ź' | 'Ź' | 'ż' | 'Ż' => "z",
        'ł' | 'Ł' => "l",
        _ => return None,
    })
}

/// `[a-z0-9-]` only: lowercase ASCII letters and digits kept (and Latin
/// letters with diacritics as their ASCII letters), every other run of
/// characters one `-`, none at either end; at most `max` bytes.
///
/// Imported sessions' ids are made with it, and subscribers' UIDs with
/// them: a change here changes the ids of every later import of a source
/// whose identifiers it touches, so it must not change lightly.
pub fn slugify(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if let Some(a) = ascii_of(c) {
            out.push_str(a);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= max {
            break;
        }
    }
    out.truncate(max);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// `s` cut to at most `max` characters (an ellipsis marks the cut), and
/// whether it was cut.
pub fn cut(s: String, max: usize) -> (String, bool) {
    if s.chars().count() <= max {
        return (s, false);
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.truncate(t.trim_end().len());
    t.push('…');
    (t, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_collapses_breaks_and_controls() {
        assert_eq!(one_line("  A\n  long\ttitle\u{7} "), "A long title");
        assert_eq!(one_line(""), "");
    }

    #[test]
    fn multi_line_normalises_breaks() {
        assert_eq!(multi_line("a  \r\nb\r\r\r\nc\u{1}\n\n"), "a\nb\n\nc");
    }

    #[test]
    fn escaped_html_becomes_text() {
        // FOSDEM 2007's abstract, as the XML reader gives it (entities of
        // the XML already decoded).
        let html = "\n<p>In this talk, Kristian will look at <a href=\"http://fedoraproject.org/wiki/RenderingProject/aiglx\">AIGLX</a> and\n the picture.\n</p>\n ";
        assert_eq!(
            html_to_text(html),
            "In this talk, Kristian will look at AIGLX (http://fedoraproject.org/wiki/RenderingProject/aiglx) and the picture."
        );
        let list = "<p>Topics:</p><ul><li>one &amp; two</li><li>three&nbsp;four</li></ul><p>End<br>line</p>";
        assert_eq!(
            html_to_text(list),
            "Topics:\n\n• one & two\n• three four\n\nEnd\nline"
        );
        // A link whose text is its address is written once; a relative
        // one (LCA's) keeps its text only.
        assert_eq!(
            html_to_text("<p><a href=\"https://x.example/\">https://x.example/</a> and <a href=\"/programme/\">the programme</a></p>"),
            "https://x.example/ and the programme"
        );
    }

    #[test]
    fn plain_text_and_markdown_stay_as_written() {
        for s in [
            "a < b and c > d",
            "Send <your name> to us",
            "**bold** [link](https://e.example)",
            "x &amp; y stays: not HTML",
            "notes <i>",
            "an <a href=\"x\"> left open",
        ] {
            assert!(matches!(html_to_text(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("&#39;a&#x2019; &foo; &amp"),
            "'a’ &foo; &amp"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slugify("Talk 30 min + 10min Q&A", 40),
            "talk-30-min-10min-q-a"
        );
        assert_eq!(slugify("--Camp2019--", 40), "camp2019");
        assert_eq!(slugify("Pause café", 40), "pause-cafe");
        assert_eq!(slugify("Aufführung (Kunst)", 40), "auffuhrung-kunst");
        assert_eq!(slugify("Straße", 40), "strasse");
        assert_eq!(slugify("abc-def", 4), "abc");
        assert_eq!(slugify("日本語", 10), "");
    }

    #[test]
    fn cuts_mark_the_cut() {
        assert_eq!(cut("abcdef".into(), 10), ("abcdef".into(), false));
        assert_eq!(cut("abc defgh".into(), 5), ("abc…".into(), true));
    }
}
