//! Free text from requests: trimmed, bounded, and free of control characters.

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
}
