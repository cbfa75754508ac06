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

/// Whether XML 1.0 allows `c` in a document (the `Char` production).
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `s` as character data.
pub fn push_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            // Only `]]>` needs it, but escaping every `>` is simpler and
            // just as valid.
            '>' => out.push_str("&gt;"),
            // A parser turns a raw CR (and CR LF) into LF.
            '\r' => out.push_str("&#13;"),
            c if allowed(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// Appends `s` as the content of a double-quoted attribute value.
pub fn push_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Attribute-value normalisation would make these spaces.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if allowed(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
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
