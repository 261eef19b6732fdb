//! Request bodies. `Body<T>` is a JSON body that is read with the request but judged only when
//! the handler asks for it; [`read_limited`] is the one loop that buffers a body up to a limit.
//!
//! actix resolves a handler's extractors together, so with `web::Json` a malformed body could be
//! refused (400/413/415/422) before the role check (an async extractor) had answered, or after
//! it, depending on timing. A caller who may not touch a resource must learn nothing from its
//! body: handlers check the role (extractor) and the owner (their first query), and only then
//! call [`Body::read`].

use actix_web::dev::{Decompress, Payload};
use actix_web::error::{JsonPayloadError, PayloadError};
use actix_web::mime;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storable_text;

/// A JSON object body whose refusal (content type, size, syntax, not an object, types, a NUL)
/// waits for [`Body::read`].
pub struct Body<T> {
    bytes: Result<Bytes, ApiError>,
    parsed: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> Body<T> {
    /// The parsed body, or why it cannot be: call it once authorization is settled.
    pub fn read(self) -> ApiResult<T> {
        parse_json(&self.bytes?)
    }
}

/// A JSON object body judged as [`Body::read`] judges it, for a route that reads its body
/// itself (one that takes more than one content type).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    if storable_text::json_holds_nul(bytes) {
        return Err(storable_text::nul_refused_in_json(bytes));
    }
    let malformed = |e| ApiError::from(JsonPayloadError::Deserialize(e));
    // Every body the API takes is an object. serde would also build a struct from an array
    // of its fields in order (`[null, null]`), which no client means and none is documented.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(malformed)?;
        return Err(ApiError::validation("body", "must be a JSON object"));
    }
    serde_json::from_slice(bytes).map_err(malformed)
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .expect("AppState is registered")
            .settings
            .application
            .json_body_limit;
        let bytes = read_json(req, payload.take(), limit);
        Box::pin(async move {
            Ok(Body {
                bytes: bytes.await,
                parsed: std::marker::PhantomData,
            })
        })
    }
}

/// The bytes of a JSON body of at most `limit` bytes (415 for another content type, 413 beyond),
/// to be judged with [`parse_json`]: for a route whose body has a limit of its own.
pub fn read_json(
    req: &HttpRequest,
    payload: Payload,
    limit: usize,
) -> impl Future<Output = ApiResult<Bytes>> + 'static {
    let is_json = matches!(req.mime_type(), Ok(Some(mime))
        if mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON));
    let mut body = Decompress::from_headers(payload, req.headers());
    async move {
        if is_json {
            read_limited(&mut body, limit).await
        } else {
            Err(ApiError::UnsupportedMediaType {
                expected: "application/json",
            })
        }
    }
}

/// The whole body, refused with 413 as soon as it grows past `limit` bytes (memory stays bounded
/// whatever the client sends).
pub async fn read_limited(
    payload: &mut (impl Stream<Item = Result<Bytes, PayloadError>> + Unpin),
    limit: usize,
) -> ApiResult<Bytes> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            code: "invalid_body",
            detail: format!("The body could not be read: {e}."),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
