//! `Body<T>`: a JSON request body that is read with the request but judged only when the handler
//! asks for it.
//!
//! actix resolves a handler's extractors together, so with `web::Json` a malformed body could be
//! refused (400/422) before the role check (an async extractor) had answered, or after it,
//! depending on timing. A caller who may not touch a resource must learn nothing from its body:
//! handlers check the role (extractor) and the owner (their first query), and only then call
//! [`Body::read`].

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A JSON body whose refusal (syntax, type, size, content type) waits for [`Body::read`].
pub struct Body<T>(Result<T, ApiError>);

impl<T> Body<T> {
    /// The parsed body, or why it could not be: call it once authorization is settled.
    pub fn read(self) -> ApiResult<T> {
        self.0
    }
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
        let reading = web::JsonBody::<T>::new(req, payload, None, true).limit(limit);
        Box::pin(async move { Ok(Body(reading.await.map_err(ApiError::from))) })
    }
}
