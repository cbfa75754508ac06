//! A small XML writer: elements, attributes and text, every value escaped.
//!
//! The export needs only writing, of a document whose shape is fixed in
//! code, so a hundred lines here replace a crate (quick-xml's writer would
//! bring its reader and its features along). What it must get right is
//! escaping, and that is all in [`push_text`] and [`push_attr`]: markup
//! characters become references, line breaks and tabs in attributes are
//! written as character references (a parser would otherwise normalise them
//! to spaces), and characters XML 1.0 cannot carry at all become U+FFFD
//! instead of making the document unreadable.

/// Appends `s` as character data.
pub fn push_text(out: &mut String, s: &str) {
    escape(out, s, false);
}

/// Appends `s` as the content of a double-quoted attribute value.
pub fn push_attr(out: &mut String, s: &str) {
    escape(out, s, true);
}

/// Copies `s` into `out` span by span, replacing only what needs it: the
/// markup characters by references (`>` too: only `]]>` needs it, but
/// escaping every one is simpler and as valid); CR by `&#13;` (a parser
/// turns a raw CR, and CR LF, into LF); in attributes also `"`, and LF and
/// tab by references (attribute-value normalisation would make them
/// spaces); and what XML 1.0's `Char` production excludes (controls other
/// than tab, LF and CR; U+FFFE and U+FFFF) by U+FFFD. Every byte that
/// needs any of this is ASCII or starts U+FFFE/U+FFFF (`EF BF BE`/`BF`),
/// so the scan is over bytes and the spans between are copied whole.
fn escape(out: &mut String, s: &str, attr: bool) {
    let b = s.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let (with, width) = match b[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'\r' => ("&#13;", 1),
            b'"' if attr => ("&quot;", 1),
            b'\n' if attr => ("&#10;", 1),
            b'\t' if attr => ("&#9;", 1),
            b'\n' | b'\t' => {
                i += 1;
                continue;
            }
            0..=0x1f => ("\u{FFFD}", 1),
            0xEF if b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)) => {
                ("\u{FFFD}", 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[copied..i]);
        out.push_str(with);
        i += width;
        copied = i;
    }
    out.push_str(&s[copied..]);
}

/// Writes an indented document element by element. Names are `&'static
/// str` written by this crate's code, never data, so they need no checks.
pub struct Writer {
    out: String,
    open: Vec<&'static str>,
}

impl Writer {
    pub fn new(capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Writer {
            out,
            open: Vec::new(),
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    fn start_tag(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            push_attr(&mut self.out, v);
            self.out.push('"');
        }
    }

    /// `<name a="…">` on a line of its own; children follow until [`Writer::close`].
    pub fn open(&mut self, name: &'static str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push_str(">\n");
        self.open.push(name);
    }

    /// Closes the innermost open element.
    pub fn close(&mut self) {
        let name = self.open.pop().expect("an open element");
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name a="…">text</name>`, or `<name a="…"/>` when `text` is empty.
    pub fn leaf(&mut self, name: &'static str, attrs: &[(&str, &str)], text: &str) {
        self.start_tag(name, attrs);
        if text.is_empty() {
            self.out.push_str("/>\n");
        } else {
            self.out.push('>');
            push_text(&mut self.out, text);
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push_str(">\n");
        }
    }

    /// `<name>text</name>` without attributes.
    pub fn text(&mut self, name: &'static str, text: &str) {
        self.leaf(name, &[], text);
    }

    /// The document; every element opened must have been closed.
    pub fn finish(self) -> String {
        assert!(self.open.is_empty(), "unclosed elements: {:?}", self.open);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> String {
        let mut out = String::new();
        push_text(&mut out, s);
        out
    }

    fn attr(s: &str) -> String {
        let mut out = String::new();
        push_attr(&mut out, s);
        out
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            text("<a href=\"x\">&amp;</a> ]]> 'q'"),
            "&lt;a href=\"x\"&gt;&amp;amp;&lt;/a&gt; ]]&gt; 'q'"
        );
        assert_eq!(attr("\"><b x='1'>&"), "&quot;&gt;&lt;b x='1'&gt;&amp;");
    }

    #[test]
    fn whitespace_survives_parsing() {
        assert_eq!(text("a\nb\tc\rd"), "a\nb\tc&#13;d");
        assert_eq!(attr("a\nb\tc\rd"), "a&#10;b&#9;c&#13;d");
    }

    #[test]
    fn characters_xml_cannot_carry_are_replaced() {
        assert_eq!(
            text("nul\u{0}bell\u{7}esc\u{1b}\u{FFFE}\u{FFFF}ok"),
            "nul\u{FFFD}bell\u{FFFD}esc\u{FFFD}\u{FFFD}\u{FFFD}ok"
        );
        assert_eq!(attr("\u{1}"), "\u{FFFD}");
        // Everything else passes as it is, astral planes included.
        let fine = "é ü 中文 🎉 \u{D7FF}\u{E000}\u{FFFD}\u{10FFFF} \u{85}";
        assert_eq!(text(fine), fine);
    }

    /// Whatever the text, a strict XML parser reads back exactly the text
    /// (characters XML cannot carry as U+FFFD), in content and attributes.
    #[test]
    fn any_text_reads_back_through_a_parser() {
        let alphabet = [
            'a', '&', '<', '>', '"', '\'', '\n', '\r', '\t', ' ', ']', '\u{0}', '\u{1f}', '\u{7f}',
            'é', '\u{FFFE}', '\u{FFFF}', '\u{FFFD}', '🎉', '\u{85}', ';', '=',
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..2_000 {
            let len = round % 40;
            let input: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let expected: String = input
                .chars()
                .map(|c| {
                    let ok = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
                    if ok { c } else { '\u{FFFD}' }
                })
                .collect();
            let mut w = Writer::new(0);
            w.leaf("e", &[("v", &input)], &input);
            let doc = w.finish();
            let parsed = roxmltree::Document::parse(&doc)
                .unwrap_or_else(|e| panic!("{input:?} gave unreadable XML ({e}): {doc:?}"));
            let e = parsed.root_element();
            assert_eq!(
                e.attribute("v"),
                Some(expected.as_str()),
                "attribute of {input:?}"
            );
            assert_eq!(e.text().unwrap_or(""), expected, "text of {input:?}");
        }
    }

    #[test]
    fn writer_nests_and_closes() {
        let mut w = Writer::new(0);
        w.open("a", &[("k", "v&")]);
        w.text("b", "x<y");
        w.leaf("c", &[("n", "1")], "");
        w.close();
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a k=\"v&amp;\">\n  <b>x&lt;y</b>\n  <c n=\"1\"/>\n</a>\n"
        );
    }
}
