//! frab's `schedule.xml`, as frab, Pentabarf, pretalx ("XML (frab
//! compatible)"), the CCC hub, wafer, FOSDEM's site and c3voc's merges
//! write it.
//!
//! Read leniently, because no real file passes the c3voc schema: only the
//! direct children of an `<event>` are its fields (the 39C3 hub nests a
//! `<title>` inside each `<link>`), unknown elements are ignored, `<room>`
//! wrappers are optional (FOSDEM 2007 puts events straight into `<day>`),
//! and `code` may be an element or an attribute. roxmltree gives a small
//! read-only tree, in which "the direct children of this element" is one
//! call; a streaming reader would need a depth counter per field.

use roxmltree::{Document, Node, ParsingOptions};

use super::source::{
    label_of, parse_clock, parse_duration, parse_time, DayRule, End, Event, Source, Time, Warning,
};
use crate::domain::ValidationError;

/// Far more nodes than any schedule has (36C3's 2.3 MB is about 60,000),
/// and a bound on what an entity-expanding document can make us build.
const NODES_LIMIT: u32 = 5_000_000;

pub fn read(bytes: &[u8]) -> Result<Source, ValidationError> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| ValidationError::new("body", format!("the XML is not UTF-8: {e}")))?;
    let doc = Document::parse_with_options(
        text,
        ParsingOptions {
            allow_dtd: true,
            nodes_limit: NODES_LIMIT,
            ..ParsingOptions::default()
        },
    )
    .map_err(|e| ValidationError::new("body", format!("not well-formed XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "schedule" {
        return Err(ValidationError::new(
            "body",
            format!(
                "the XML's root element is <{}>, not a frab <schedule>",
                root.tag_name().name()
            ),
        ));
    }
    let conf = child(root, "conference");
    let field = |name: &str| {
        conf.and_then(|c| child_text(c, name))
            .filter(|t| !t.is_empty())
    };
    let pretalx = child(root, "generator")
        .and_then(|g| g.attribute("name"))
        .is_some_and(|n| n.to_ascii_lowercase().contains("pretalx"));
    let base_url = field("base_url")
        .or_else(|| child_text(root, "base_url").filter(|t| !t.is_empty()))
        .and_then(|u| url::Url::parse(&u).ok());
    let day_change = field("day_change").and_then(|t| parse_clock(&t));
    let mut source = Source {
        acronym: field("acronym"),
        name: field("title"),
        timezone: field("time_zone_name"),
        url: field("url").or_else(|| base_url.as_ref().map(|u| u.to_string())),
        venue: field("venue"),
        base_url,
        ..Source::default()
    };

    for day in root.children().filter(|n| n.has_tag_name("day")) {
        let date = day.attribute("date").unwrap_or("");
        let day_date = date.trim().parse().map_err(|_| {
            ValidationError::new(
                "day",
                format!("a <day> has the date {date:?}, not YYYY-MM-DD"),
            )
        })?;
        let offset = |a: &str| match day.attribute(a).and_then(parse_time) {
            Some(Time::Offset(t)) => Some(t),
            Some(Time::Utc(t)) => Some(t.fixed_offset()),
            _ => None,
        };
        for (what, t) in [("start", offset("start")), ("end", offset("end"))] {
            if let Some(t) = t {
                source
                    .other_times
                    .push((format!("day {day_date}"), what, t));
            }
        }
        let rule = match (offset("start"), offset("end")) {
            (Some(s), Some(e)) => DayRule::Bounds(s, e),
            (Some(s), None) => DayRule::Start(s),
            _ => day_change.map_or(DayRule::None, DayRule::Change),
        };
        for (event, room) in day_events(day) {
            let ev = read_event(event, room, day_date, &rule, pretalx, &mut source.warnings)?;
            source.events.push(ev);
        }
    }
    Ok(source)
}

/// The day's events with the name of the `<room>` they sit in, if any.
fn day_events<'a, 'i>(day: Node<'a, 'i>) -> Vec<(Node<'a, 'i>, Option<&'a str>)> {
    let mut out = Vec::new();
    for n in day.children().filter(Node::is_element) {
        match n.tag_name().name() {
            "event" => out.push((n, None)),
            "room" => out.extend(
                n.children()
                    .filter(|e| e.has_tag_name("event"))
                    .map(|e| (e, n.attribute("name"))),
            ),
            _ => {}
        }
    }
    out
}

fn read_event(
    n: Node<'_, '_>,
    room_attr: Option<&str>,
    day: chrono::NaiveDate,
    rule: &DayRule,
    pretalx: bool,
    warnings: &mut Vec<Warning>,
) -> Result<Event, ValidationError> {
    let text = |name: &str| child_text(n, name).filter(|t| !t.trim().is_empty());
    let key = [n.attribute("guid"), n.attribute("id")]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .chain(text("guid"))
        .chain(n.attribute("code").map(str::to_owned))
        .chain(text("code"))
        .find(|k| !k.trim().is_empty());
    let title = text("title").unwrap_or_default();
    let label = label_of(key.as_deref(), &title);
    let invalid = |m: String| ValidationError::new("sessions", format!("{label}: {m}"));

    let start_text = text("start");
    let clock = start_text.as_deref().and_then(parse_clock);
    let by_day = clock.map(|time| Time::Day {
        day,
        time,
        rule: rule.clone(),
    });
    let date = text("date");
    let (start, start_also) = match (date.as_deref().map(|d| (d, parse_time(d))), by_day) {
        (Some((_, Some(t))), also) => (
            t,
            also.map(|a| {
                (
                    a,
                    format!(
                        "its day {day} and <start> {}",
                        start_text.as_deref().unwrap_or("").trim()
                    ),
                )
            }),
        ),
        (Some((d, None)), _) => {
            return Err(invalid(format!("its <date> {d:?} is not a date and time")))
        }
        (None, Some(t)) => (t, None),
        (None, None) => {
            // A full date-time in <start> is a date.
            match start_text.as_deref().and_then(parse_time) {
                Some(t) => (t, None),
                None => {
                    return Err(invalid(format!(
                        "it has no <date> and its <start> {:?} is not a time HH:MM",
                        start_text.unwrap_or_default()
                    )))
                }
            }
        }
    };
    let end = match text("duration") {
        Some(d) => End::After(
            parse_duration(&d, pretalx).map_err(|m| invalid(format!("its <duration>: {m}")))?,
        ),
        None => match text("end").as_deref().and_then(parse_time) {
            Some(t) => End::At(t),
            None => {
                warnings.push(Warning::new(
                    Some(label.clone()),
                    "it has no <duration>: imported as an event without one",
                ));
                End::After(chrono::Duration::zero())
            }
        },
    };

    let mut ev = Event::new(start, end);
    ev.start_also = start_also;
    ev.key = key;
    ev.title = title;
    ev.subtitle = text("subtitle");
    ev.room = text("room").or_else(|| room_attr.map(str::to_owned));
    ev.tracks = text("track").into_iter().collect();
    ev.kind = text("type");
    ev.language = text("language");
    ev.slug = text("slug");
    ev.abstract_ = text("abstract").unwrap_or_default();
    ev.notes = text("description");
    ev.url = text("url");
    if let Some(persons) = child(n, "persons") {
        ev.speakers = persons
            .children()
            .filter(|p| p.has_tag_name("person"))
            .filter_map(|p| {
                // `<person id="1">Name</person>`, or a <name> child.
                child_text(p, "name")
                    .or_else(|| Some(own_text(p)))
                    .filter(|s| !s.trim().is_empty())
            })
            .collect();
    }
    for (list, item) in [("links", "link"), ("attachments", "attachment")] {
        let Some(l) = child(n, list) else { continue };
        for link in l.children().filter(|c| c.has_tag_name(item)) {
            let Some(href) = link.attribute("href") else {
                continue;
            };
            let title = child_text(link, "title").unwrap_or_else(|| own_text(link));
            ev.links.push((title, href.to_owned()));
        }
    }
    Ok(ev)
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(name))
}

/// All the text inside the first direct child named `name`.
fn child_text(n: Node<'_, '_>, name: &str) -> Option<String> {
    child(n, name).map(|c| {
        c.descendants()
            .filter(Node::is_text)
            .filter_map(|t| t.text())
            .collect()
    })
}

/// The element's own text, not that of its child elements (a 39C3
/// `<link>` holds `<type>` and `<title>` elements beside its text).
fn own_text(n: Node<'_, '_>) -> String {
    n.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAB: &str = r#"<?xml version="1.0"?>
<schedule>
  <generator name="pretalx" version="2"/>
  <conference><acronym>demo</acronym><title>Demo &amp; Co</title>
    <time_zone_name>Europe/Berlin</time_zone_name>
    <base_url>https://demo.example/</base_url></conference>
  <day date="2024-12-27" start="2024-12-27T10:00:00+01:00" end="2024-12-28T04:00:00+01:00" index="1">
    <room name="Saal 1">
      <event guid="g-1" id="7" code="ABC">
        <date>2024-12-27T10:00:00+01:00</date><start>10:00</start><duration>1:02:30</duration>
        <room>Saal 1</room><title>First</title><subtitle>Sub</subtitle><track>CCC</track>
        <type>Talk</type><language>de, en</language>
        <abstract>&lt;p&gt;Hello&lt;/p&gt;</abstract><description>More</description>
        <unknown><title>not the title</title></unknown>
        <persons><person id="1">Ann</person><person guid="x">Bob</person></persons>
        <links><link href="https://z.example"><type>related</type><title>Zügli</title></link>
          <link href="/rel">Relative</link></links>
      </event>
    </room>
    <room name="Saal 2">
      <event id="8"><start>01:30</start><duration>00:30</duration><title>Late</title></event>
    </room>
  </day>
</schedule>"#;

    #[test]
    fn reads_direct_children_only() {
        let s = read(FRAB.as_bytes()).unwrap();
        assert_eq!(s.acronym.as_deref(), Some("demo"));
        assert_eq!(s.name.as_deref(), Some("Demo & Co"));
        assert_eq!(s.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(s.events.len(), 2);
        let e = &s.events[0];
        assert_eq!(e.key.as_deref(), Some("g-1"));
        assert_eq!(e.title, "First");
        assert_eq!(e.abstract_, "<p>Hello</p>");
        assert_eq!(e.speakers, ["Ann", "Bob"]);
        assert_eq!(e.language.as_deref(), Some("de, en"));
        assert_eq!(
            e.links,
            [
                ("Zügli".to_owned(), "https://z.example".to_owned()),
                ("Relative".into(), "/rel".into())
            ]
        );
        // pretalx's D:HH:MM.
        assert_eq!(e.end, End::After(chrono::Duration::minutes(26 * 60 + 30)));
        assert!(matches!(e.start, Time::Offset(_)) && e.start_also.is_some());
        // No <date>: the conference day and <start>, with the day's bounds.
        let late = &s.events[1];
        assert_eq!(
            late.room.as_deref(),
            Some("Saal 2"),
            "from the <room> wrapper"
        );
        assert!(matches!(
            late.start,
            Time::Day {
                rule: DayRule::Bounds(..),
                ..
            }
        ));
    }

    #[test]
    fn events_straight_in_days_and_day_change() {
        let xml = r#"<schedule><conference><title>F</title><day_change>09:00:00</day_change></conference>
          <day index="1" date="2007-02-25"><event id="0"><start>15:00</start><duration>00:45</duration>
          <room>Chavanne</room><title>AIGLX</title><end></end></event></day></schedule>"#;
        let s = read(xml.as_bytes()).unwrap();
        assert_eq!(s.events.len(), 1);
        assert_eq!(s.events[0].key.as_deref(), Some("0"));
        assert!(matches!(
            s.events[0].start,
            Time::Day {
                rule: DayRule::Change(_),
                ..
            }
        ));
    }

    #[test]
    fn code_element_is_a_key_when_nothing_else_is() {
        let xml = r#"<schedule><day date="2025-12-27"><room name="One"><event><code>JZ9A3E</code>
          <date>2025-12-27T16:00:00+01:00</date><duration>01:00</duration><title>T</title></event>
          <event code="ATTR1"><date>2025-12-27T17:00:00+01:00</date><duration>01:00</duration><title>U</title></event>
          </room></day></schedule>"#;
        let s = read(xml.as_bytes()).unwrap();
        assert_eq!(s.events[0].key.as_deref(), Some("JZ9A3E"));
        assert_eq!(s.events[1].key.as_deref(), Some("ATTR1"));
    }

    #[test]
    fn entity_expansion_bombs_are_refused() {
        let mut dtd = String::from("<!ENTITY l0 \"lollollollollol\">");
        for i in 1..10 {
            dtd.push_str(&format!(
                "<!ENTITY l{i} \"{}\">",
                format!("&l{};", i - 1).repeat(10)
            ));
        }
        let xml = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE s [{dtd}]><schedule><conference><title>&l9;</title></conference></schedule>"
        );
        let e = read(xml.as_bytes()).unwrap_err();
        assert_eq!(e.field, "body", "{e}");
    }

    #[test]
    fn errors_name_what_is_wrong() {
        for (xml, needle) in [
            ("<nodes/>", "root element is <nodes>"),
            ("<schedule><day", "not well-formed"),
            (r#"<schedule><day date="x"/></schedule>"#, "not YYYY-MM-DD"),
            (
                r#"<schedule><day date="2020-01-01"><event id="5"><title>T</title><start>soon</start></event></day></schedule>"#,
                "event 5 \"T\"",
            ),
            (
                r#"<schedule><day date="2020-01-01"><event id="5"><title>T</title><start>10:00</start><duration>ten</duration></event></day></schedule>"#,
                "<duration>",
            ),
        ] {
            let e = read(xml.as_bytes()).unwrap_err();
            assert!(e.to_string().contains(needle), "{xml}: {e}");
        }
    }
}
