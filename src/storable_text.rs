//! Text PostgreSQL can store. Its `text` type holds any Unicode character but U+0000: a NUL
//! reaching a query is an error from the database (a 500 that says nothing useful), not a
//! refusal. So every request line is checked once, here, before any handler: the path and each
//! query parameter (percent-decoded). JSON bodies (a raw NUL or a `\u0000` escape, in a key or a
//! value) are checked when the handler reads them ([`crate::body::Body::read`], after
//! authorization), and cursors, decoded later from base64, where they are decoded
//! ([`crate::pagination`]). The answer is 422 `validation_failed` naming the field.
//!
//! Unpaired surrogates, the only other thing `text` cannot hold, never get this far: serde_json
//! refuses them (400 `invalid_json`) and percent-decoding does not produce them.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};
use serde_json::Value;

use crate::error::{ApiError, FieldError};

const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// Whether JSON text holds a NUL: raw, or escaped as `\u0000` inside a string.
pub fn json_holds_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            0 => return true,
            b'\\' => {
                if json.get(i + 1) == Some(&b'u') && json.get(i + 2..i + 6) == Some(b"0000") {
                    return true;
                }
                // Whatever is escaped (a quote, a backslash) is not the start of an escape.
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// The refusal of a text holding a NUL, for `field`.
pub fn nul_refused(field: impl Into<String>) -> ApiError {
    ApiError::Validation(vec![FieldError::new(field, NUL_MESSAGE)])
}

/// The refusal of a JSON body that [`json_holds_nul`], naming where; malformed JSON gets the
/// parser's 400 instead.
pub fn nul_refused_in_json(json: &[u8]) -> ApiError {
    match serde_json::from_slice::<Value>(json) {
        Ok(value) => nul_refused(nul_path(&value, "").unwrap_or_else(|| "body".into())),
        Err(e) => ApiError::from(actix_web::error::JsonPayloadError::Deserialize(e)),
    }
}

/// The JSON path (`sectors[2]`, `contact.name`) of the first key or string holding a NUL.
fn nul_path(value: &Value, path: &str) -> Option<String> {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(text) => text.contains('\0').then(|| path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, &format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                Some(if path.is_empty() {
                    "body".into()
                } else {
                    path.to_owned()
                })
            } else {
                nul_path(item, &join(key))
            }
        }),
        _ => None,
    }
}

/// The field of the request line holding a NUL, if any.
fn nul_in_uri(req: &ServiceRequest) -> Option<String> {
    // Only `%00` percent-decodes to NUL (the HTTP parser refuses a raw one).
    if req.path().contains("%00") {
        return Some("path".into());
    }
    url::form_urlencoded::parse(req.query_string().as_bytes()).find_map(|(key, value)| {
        if key.contains('\0') {
            Some("query".into())
        } else {
            value.contains('\0').then(|| key.into_owned())
        }
    })
}

/// The middleware: refuses a request whose path or query holds a NUL.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if let Some(field) = nul_in_uri(&req) {
        return Ok(refuse(req, nul_refused(field)));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn refuse<B>(req: ServiceRequest, error: ApiError) -> ServiceResponse<EitherBody<B>> {
    req.into_response(error.error_response())
        .map_into_right_body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_escaped_and_raw_nuls_but_not_lookalikes() {
        assert!(json_holds_nul(br#"{"q": "a\u0000b"}"#));
        assert!(json_holds_nul(b"{\"q\": \"a\0b\"}"));
        assert!(
            !json_holds_nul(br#"{"q": "a\\u0000b"}"#),
            "an escaped backslash"
        );
        assert!(!json_holds_nul(br#"{"q": "a\u00e9b \" \\"}"#));
        let value: Value = serde_json::from_slice(br#"{"a": [1, {"b": "x\u0000"}]}"#).unwrap();
        assert_eq!(nul_path(&value, "").as_deref(), Some("a[1].b"));
    }
}
