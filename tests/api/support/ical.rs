//! A small, strict iCalendar reader written for these tests: it shares no
//! code with `src/ical`, so the feeds are read the way a calendar app
//! would, not the way they were written.
//!
//! - [`check_lines`]: the physical-line rules (CRLF, 75 octets, folds)
//! - [`parse`]: one VCALENDAR as a tree of components ([`Comp`]) of
//!   content lines ([`Prop`]: quoted parameters, RFC 6868 carets)
//! - [`unescape`], [`text_list`]: strict TEXT values
//! - [`Cal`]: a calendar as its events and their alarms

/// RFC 5545 §3.1 unfolding: every CRLF followed by one space or tab is
/// removed together with that one character.
pub fn unfold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("\r\n") {
        let folded = matches!(rest.as_bytes().get(pos + 2), Some(b' ' | b'\t'));
        out.push_str(&rest[..pos]);
        if !folded {
            out.push_str("\r\n");
        }
        rest = &rest[pos + if folded { 3 } else { 2 }..];
    }
    out.push_str(rest);
    out
}

/// One unfolded content line: `NAME;KEY=VALUE;…:value`.
#[derive(Debug, Clone)]
pub struct Prop {
    pub name: String,
    pub params: Vec<(String, String)>,
    pub value: String,
}

impl Prop {
    /// Splits at `;` and at the first `:` that are outside a quoted
    /// parameter value. A quoted parameter value loses its quotes; an
    /// unquoted one may hold none of `:;,`; neither may hold a DQUOTE; and
    /// RFC 6868 carets are decoded.
    pub fn parse(line: &str) -> Prop {
        let mut parts = vec![String::new()];
        let mut quoted = false;
        let mut value = None;
        for (i, c) in line.char_indices() {
            match c {
                '"' => {
                    quoted = !quoted;
                    parts.last_mut().unwrap().push(c);
                }
                ';' if !quoted => parts.push(String::new()),
                ':' if !quoted => {
                    value = Some(line[i + 1..].to_owned());
                    break;
                }
                _ => parts.last_mut().unwrap().push(c),
            }
        }
        let value = value.unwrap_or_else(|| panic!("no ':' in content line {line:?}"));
        let name = parts.remove(0);
        let params = parts
            .iter()
            .map(|p| {
                let (k, v) = p.split_once('=').expect("KEY=VALUE parameter");
                let v = match v.strip_prefix('"') {
                    Some(q) => q.strip_suffix('"').expect("closing quote").to_owned(),
                    None => {
                        assert!(!v.contains([':', ';', ',']), "unquoted {v:?} in {line}");
                        v.to_owned()
                    }
                };
                assert!(!v.contains('"'), "DQUOTE inside a parameter value: {line}");
                (k.to_owned(), carets(&v))
            })
            .collect();
        Prop {
            name,
            params,
            value,
        }
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value read as one TEXT value.
    pub fn text(&self) -> String {
        unescape(&self.value)
    }
}

/// A component: its properties and sub-components, in order.
#[derive(Debug, Default)]
pub struct Comp {
    pub name: String,
    pub props: Vec<Prop>,
    pub subs: Vec<Comp>,
}

impl Comp {
    /// The property `name`, which must occur at most once.
    pub fn opt(&self, name: &str) -> Option<&Prop> {
        let found: Vec<&Prop> = self.props.iter().filter(|p| p.name == name).collect();
        assert!(
            found.len() <= 1,
            "{name} {} times in {}",
            found.len(),
            self.name
        );
        found.first().copied()
    }

    /// The property `name`, which must occur exactly once.
    pub fn prop(&self, name: &str) -> &Prop {
        self.opt(name)
            .unwrap_or_else(|| panic!("{} has no {name}: {:?}", self.name, self.props))
    }

    pub fn subs<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Comp> + 'a {
        self.subs.iter().filter(move |c| c.name == name)
    }
}

/// Parses a stream that must be exactly one VCALENDAR.
pub fn parse(text: &str) -> Comp {
    let mut stack: Vec<Comp> = Vec::new();
    let mut root = None;
    for line in unfold(text).split_terminator("\r\n") {
        let p = Prop::parse(line);
        match p.name.as_str() {
            "BEGIN" => stack.push(Comp {
                name: p.value,
                ..Comp::default()
            }),
            "END" => {
                let c = stack.pop().expect("END without BEGIN");
                assert_eq!(c.name, p.value, "END does not match BEGIN");
                match stack.last_mut() {
                    Some(parent) => parent.subs.push(c),
                    None => assert!(root.replace(c).is_none(), "two root components"),
                }
            }
            _ => stack
                .last_mut()
                .unwrap_or_else(|| panic!("property outside a component: {line}"))
                .props
                .push(p),
        }
    }
    assert!(stack.is_empty(), "unclosed components");
    let root = root.expect("a VCALENDAR");
    assert_eq!(root.name, "VCALENDAR");
    root
}

/// Strict TEXT unescaping (RFC 5545 §3.3.11): `\\`, `\;`, `\,`, `\n`/`\N`.
/// A raw `;` or `,`, or any other backslash sequence, fails the test.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ';' | ',')) => out.push(e),
                Some('n' | 'N') => out.push('\n'),
                other => panic!("bad escape \\{other:?} in TEXT {s:?}"),
            },
            ';' | ',' => panic!("unescaped {c:?} in TEXT {s:?}"),
            _ => out.push(c),
        }
    }
    out
}

/// A multi-valued TEXT property (CATEGORIES): split at unescaped commas,
/// then each value unescaped.
pub fn text_list(s: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut escaped = false;
    for c in s.chars() {
        let item = items.last_mut().unwrap();
        if escaped {
            item.push('\\');
            item.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            items.push(String::new());
        } else {
            item.push(c);
        }
    }
    items.iter().map(|i| unescape(i)).collect()
}

/// Physical-line rules of RFC 5545 §3.1, on the raw bytes: CRLF line ends
/// only, ≤ 75 octets per line, continuation lines start with a space, each
/// line valid UTF-8 on its own, no fold (or line end) right after an
/// escaping backslash, and no control characters besides the CRLF. (HTAB
/// is the one control RFC 5545 allows inside values; none of the data has
/// one, so it is allowed here only for that reason.)
pub fn check_lines(body: &[u8]) {
    let mut lines: Vec<&[u8]> = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i + 1 < body.len() {
        if body[i..].starts_with(b"\r\n") {
            lines.push(&body[start..i]);
            i += 2;
            start = i;
        } else {
            i += 1;
        }
    }
    assert!(!lines.is_empty(), "empty stream");
    assert_eq!(start, body.len(), "the stream does not end with CRLF");
    // Backslashes ending the logical line so far, counted across folds.
    let mut run = 0usize;
    for (n, line) in lines.iter().enumerate() {
        let shown = String::from_utf8_lossy(line);
        assert!(
            line.len() <= 75,
            "line {n} has {} octets: {shown}",
            line.len()
        );
        let text = std::str::from_utf8(line)
            .unwrap_or_else(|e| panic!("line {n} is not UTF-8 on its own ({e}): {shown}"));
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\t'),
            "control character (bare CR/LF?) in line {n}: {text:?}"
        );
        assert!(!text.starts_with('\t'), "fold with a tab at line {n}");
        let content = match text.strip_prefix(' ') {
            Some(c) => {
                assert!(n > 0, "the stream starts with a continuation line");
                c
            }
            None => {
                run = 0;
                text
            }
        };
        let trailing = content.len() - content.trim_end_matches('\\').len();
        run = if trailing == content.len() {
            run + trailing
        } else {
            trailing
        };
        assert!(
            run % 2 == 0,
            "line {n} ends inside an escape (odd run of backslashes): {text:?}"
        );
    }
}

/// RFC 6868 decoding of a parameter value.
fn carets(v: &str) -> String {
    v.replace("^n", "\n").replace("^'", "\"").replace("^^", "^")
}

/// One VEVENT: its own properties and its VALARMs' properties.
#[derive(Debug)]
pub struct Ev {
    pub props: Vec<Prop>,
    pub alarms: Vec<Vec<Prop>>,
}

impl Ev {
    pub fn opt(&self, name: &str) -> Option<&Prop> {
        let found: Vec<&Prop> = self.props.iter().filter(|p| p.name == name).collect();
        assert!(found.len() <= 1, "{name} twice");
        found.first().copied()
    }

    pub fn get(&self, name: &str) -> &Prop {
        self.opt(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.props))
    }

    pub fn uid_id(&self) -> String {
        self.get("UID").value.split('.').next().unwrap().to_owned()
    }
}

/// A VCALENDAR as its own properties and its events.
pub struct Cal {
    pub props: Vec<Prop>,
    pub events: Vec<Ev>,
}

impl Cal {
    /// Reads a feed's bytes: checked line by line (see [`check_lines`]),
    /// then parsed (see [`parse`]).
    pub fn read(body: &[u8]) -> Cal {
        check_lines(body);
        Cal::of(parse(std::str::from_utf8(body).expect("UTF-8")))
    }

    /// The calendar's properties, and each VEVENT's with its VALARMs'
    /// (other components, the VTIMEZONEs, are left out).
    pub fn of(root: Comp) -> Cal {
        let events = root
            .subs
            .into_iter()
            .filter(|c| c.name == "VEVENT")
            .map(|e| Ev {
                alarms: e
                    .subs
                    .into_iter()
                    .filter(|a| a.name == "VALARM")
                    .map(|a| a.props)
                    .collect(),
                props: e.props,
            })
            .collect();
        Cal {
            props: root.props,
            events,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }

    pub fn event(&self, id: &str) -> &Ev {
        self.events
            .iter()
            .find(|e| e.uid_id() == id)
            .unwrap_or_else(|| panic!("no event {id}"))
    }

    pub fn ids(&self) -> Vec<String> {
        self.events.iter().map(Ev::uid_id).collect()
    }
}
