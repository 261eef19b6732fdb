//! Free text from requests: trimmed, bounded, and free of control characters (which includes
//! U+0000, the one character PostgreSQL text cannot hold). Names also refuse the bidirectional
//! embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069): they are not
//! control characters to Unicode, yet they reorder what follows them, so a printed badge could
//! read differently from the name the reviewer saw.

/// Whether `c` is one of the bidirectional controls names refuse.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A name (of a person, a company, an organization): as [`required`], without bidirectional
/// controls.
pub fn name(raw: &str, max: usize) -> Result<String, String> {
    let value = required(raw, max)?;
    if value.chars().any(is_bidi_control) {
        return Err("must not contain bidirectional control characters".into());
    }
    Ok(value)
}

/// An optional name: absent or blank is `None`, otherwise as [`name`].
pub fn optional_name(raw: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(value) => name(value, max).map(Some),
    }
}

/// A required text of 1 to `max` characters.
pub fn required(raw: &str, max: usize) -> Result<String, String> {
    let value = raw.trim();
    match value.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > max => Err(format!("must have at most {max} characters")),
        _ if value.chars().any(|c| c.is_control() && c != '\n') => {
            Err("must not contain control characters".into())
        }
        _ => Ok(value.to_owned()),
    }
}

/// An optional text: absent or blank is `None`, otherwise as [`required`].
pub fn optional(raw: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(value) => required(value, max).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_control_characters() {
        assert_eq!(required("  Bamako ", 10).unwrap(), "Bamako");
        assert!(required("   ", 10).is_err());
        assert!(required("Ségou", 4).is_err());
        assert!(required("a\u{0}b", 10).is_err());
        assert_eq!(optional(Some("  "), 10).unwrap(), None);
        assert_eq!(optional(None, 10).unwrap(), None);
    }

    #[test]
    fn names_refuse_bidirectional_controls() {
        assert_eq!(name("Ayşe Yılmaz", 50).unwrap(), "Ayşe Yılmaz");
        assert_eq!(name("عبد الله", 50).unwrap(), "عبد الله");
        for control in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            assert!(
                name(&format!("Awa{control}Traoré"), 50).is_err(),
                "{control:?}"
            );
        }
        assert!(
            required("Awa\u{202E}Traoré", 50).is_ok(),
            "free text may hold them"
        );
        assert_eq!(optional_name(Some(" "), 10).unwrap(), None);
    }
}
