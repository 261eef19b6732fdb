//! The password policy: 12 to 128 characters, not the account's email, not a common password.

use secrecy::SecretString;

use crate::users::EmailAddress;

/// A password that passed the policy. Never printed: Debug shows nothing of it.
pub struct NewPassword(SecretString);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

impl NewPassword {
    pub fn parse(raw: &str, email: Option<&EmailAddress>) -> Result<Self, &'static str> {
        let length = raw.chars().count();
        if length < 12 {
            return Err("must have at least 12 characters");
        }
        if length > 128 {
            return Err("must have at most 128 characters");
        }
        let lowered = raw.trim().to_lowercase();
        if let Some(email) = email {
            let address = email.as_str().to_lowercase();
            let local = address.split('@').next().unwrap_or_default();
            if lowered == address || lowered == local {
                return Err("must not be your email address");
            }
        }
        if passwords::analyzer::is_common_password(raw)
            || passwords::analyzer::is_common_password(&lowered)
        {
            return Err("is too common; choose a less predictable password");
        }
        if raw.chars().all(|c| c == raw.chars().next().unwrap_or(' ')) {
            return Err("must not repeat a single character");
        }
        Ok(Self(SecretString::from(raw)))
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        let email = EmailAddress::parse("ayse.yilmaz@peakdefense.com.tr").unwrap();
        assert!(NewPassword::parse("Koulikoro-range-2026", Some(&email)).is_ok());
        assert!(NewPassword::parse("short", None).is_err());
        assert!(NewPassword::parse(&"x".repeat(129), None).is_err());
        assert!(NewPassword::parse("aaaaaaaaaaaaaaaa", None).is_err());
        assert!(NewPassword::parse("ayse.yilmaz@peakdefense.com.tr", Some(&email)).is_err());
        assert!(NewPassword::parse("123456789012", None).is_err());
        assert!(NewPassword::parse("passwordpassword", None).is_err());
    }
}
