//! ISO 3166-1 alpha-2 country codes, checked against the real list.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "TR", pattern = "^[A-Z]{2}$")]
pub struct CountryCode([u8; 2]);

#[derive(Debug, thiserror::Error)]
#[error("is not an ISO 3166-1 alpha-2 country code (such as ML, TR, FR)")]
pub struct InvalidCountry;

impl CountryCode {
    /// Accepts `tr` or `TR`; refuses codes that name no country (`XX`, `EU`, `UK`).
    pub fn parse(raw: &str) -> Result<Self, InvalidCountry> {
        let code = raw.trim().to_ascii_uppercase();
        let country = rust_iso3166::from_alpha2(&code).ok_or(InvalidCountry)?;
        let bytes = country.alpha2.as_bytes();
        Ok(Self([bytes[0], bytes[1]]))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The English short name ("Türkiye", "Mali").
    pub fn name(&self) -> &'static str {
        rust_iso3166::from_alpha2(self.as_str()).map_or("", |c| c.name)
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for CountryCode {
    type Error = InvalidCountry;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(value: CountryCode) -> Self {
        value.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_codes_only() {
        assert_eq!(CountryCode::parse("tr").unwrap().as_str(), "TR");
        assert_eq!(CountryCode::parse("ML").unwrap().as_str(), "ML");
        for bad in ["XX", "EU", "UK", "TUR", "", "1'"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad}");
        }
    }
}
