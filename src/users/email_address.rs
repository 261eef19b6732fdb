//! An email address that has been checked: the only form in which one enters the service.

use std::fmt;
use std::str::FromStr;

use diesel::deserialize::{FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};

use crate::db::schema::sql_types::Citext;

/// Kept as typed (PostgreSQL's `citext` compares it case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, AsExpression, FromSqlRow)]
#[serde(try_from = "String", into = "String")]
#[diesel(sql_type = Citext)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("is not a valid email address")]
pub struct InvalidEmail;

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let trimmed = raw.trim();
        if trimmed.len() > 254 {
            return Err(InvalidEmail);
        }
        let parsed = email_address::EmailAddress::from_str(trimmed).map_err(|_| InvalidEmail)?;
        // A public address needs a dotted domain; quoted local parts and IP literals are legal
        // but only ever typos or attacks in a registration form.
        let domain = parsed.domain();
        if !domain.contains('.')
            || domain.starts_with('[')
            || parsed.local_part().starts_with('"')
            || parsed.display_part() != ""
        {
            return Err(InvalidEmail);
        }
        Ok(Self(parsed.email()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmail;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl ToSql<Citext, Pg> for EmailAddress {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.0.as_str(), out)
    }
}

impl FromSql<Citext, Pg> for EmailAddress {
    fn from_sql(bytes: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        <String as FromSql<Text, Pg>>::from_sql(bytes).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "a@b.ml",
            "Ayşe.Yılmaz@peakdefense.com.tr",
            " x+tag@example.org ",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_no_person_types() {
        for bad in [
            "",
            "plain",
            "a@localhost",
            "a@[127.0.0.1]",
            "\"q\"@example.org",
            "Name <a@b.org>",
            "a@b.org'; DROP TABLE users; --",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(InvalidEmail), "{bad}");
        }
    }
}
