//! The directory's text and country filters, read the same way by the list and the CSV export:
//! `q` blank is no filter and holds at most 100 characters, `country` is a real ISO 3166-1
//! alpha-2 code; anything else answers 422 naming the parameter.

use crate::country::CountryCode;
use crate::error::{ApiError, ApiResult};

/// Longest `q`, in characters.
const MAX_Q: usize = 100;

pub struct Search {
    pub q: Option<String>,
    pub country: Option<CountryCode>,
}

pub fn parse(q: Option<&str>, country: Option<&str>) -> ApiResult<Search> {
    let country = country
        .map(CountryCode::parse)
        .transpose()
        .map_err(|e| ApiError::validation("country", e.to_string()))?;
    let q = q.filter(|q| !q.trim().is_empty()).map(str::to_owned);
    if q.as_ref().is_some_and(|q| q.chars().count() > MAX_Q) {
        return Err(ApiError::validation(
            "q",
            format!("must have at most {MAX_Q} characters"),
        ));
    }
    Ok(Search { q, country })
}
