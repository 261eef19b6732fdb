//! `HEAD` answers every GET route as GET would: same status, same headers (Content-Type,
//! Content-Length …), no body, and none of GET's side effects.
//!
//! [`head_as_get`] routes a HEAD request as a GET, so no route needs declaring twice and the
//! two cannot drift apart, and marks it. actix-http remembers the method the request line had:
//! for a HEAD it writes the answer's status and headers, Content-Length of the whole body
//! included (a streamed body has none and is not run at all), and drops the body. The few GET handlers with a side effect (a badge print
//! counted, a document read audited) take [`IsHead`] and skip it: a HEAD shows nobody anything.

use std::convert::Infallible;
use std::future::{Ready, ready};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};

/// In the extensions of a HEAD request routed as a GET.
#[derive(Clone, Copy)]
struct HeadRequest;

/// Routes HEAD requests as GETs (marked); innermost, so logging and the rest see the HEAD.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(HeadRequest);
    }
    let res = next.call(req).await?;
    // actix-http drops a HEAD's body but still polls a streamed one to its end: a streamed
    // export would run all its queries for nothing. Such a body has no length to announce, so
    // it is dropped here, unread.
    if head && matches!(res.response().body().size(), BodySize::Stream) {
        return Ok(res.map_body(|_, _| BoxBody::new(())));
    }
    Ok(res.map_into_boxed_body())
}

/// Whether this GET is really a HEAD: its answer is not sent, so its side effects are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsHead(pub bool);

impl IsHead {
    /// Whether the request shows its answer to the caller (a GET), so that reading it counts.
    pub fn shown(self) -> bool {
        !self.0
    }
}

impl FromRequest for IsHead {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(req.extensions().contains::<HeadRequest>())))
    }
}
