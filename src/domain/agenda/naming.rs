//! What an agenda may be called.

use crate::domain::ValidationError;

/// What an agenda without a name of its own is called.
pub const DEFAULT_NAME: &str = "My agenda";

/// Longest name, in characters: it heads the agenda page and names the
/// calendar in calendar apps.
pub const MAX_NAME: usize = 100;

/// The name to keep for `raw`: none for no name or a blank one (the
/// agenda is then [`DEFAULT_NAME`]), the trimmed text otherwise, if it is
/// one line of at most [`MAX_NAME`] characters.
pub fn agenda_name(raw: Option<&str>) -> Result<Option<String>, ValidationError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(n) if n.chars().count() > MAX_NAME => Err(ValidationError::new(
            "name",
            format!("longer than {MAX_NAME} characters"),
        )),
        Some(n) if n.chars().any(char::is_control) => Err(ValidationError::new(
            "name",
            "must be one line without control characters",
        )),
        Some(n) => Ok(Some(n.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_one_line_and_bounded() {
        assert_eq!(agenda_name(None), Ok(None));
        assert_eq!(agenda_name(Some("  ")), Ok(None));
        assert_eq!(
            agenda_name(Some("  PyCon picks ")),
            Ok(Some("PyCon picks".into()))
        );
        // Characters, not bytes: 100 of them in any script is fine.
        let long = "日".repeat(MAX_NAME);
        assert_eq!(agenda_name(Some(&long)), Ok(Some(long.clone())));
        let e = agenda_name(Some(&format!("{long}x"))).unwrap_err();
        assert_eq!(e.field, "name");
        assert!(e.message.contains("longer than 100"), "{}", e.message);
        let e = agenda_name(Some("two\nlines")).unwrap_err();
        assert_eq!(e.field, "name");
        assert!(e.message.contains("one line"), "{}", e.message);
    }
}
