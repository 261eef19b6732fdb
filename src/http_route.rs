//! The route template a request matched (`/api/v1/events/{event}/accreditations/{id}`), for the
//! metrics' label and the request's log line. actix finds it by walking the router again at
//! each call, so it is found once per request and kept in the request's extensions.

use std::rc::Rc;

use actix_web::{HttpMessage, HttpRequest};

#[derive(Clone)]
struct MatchedRoute(Option<Rc<str>>);

/// The template `req` was routed by; `None` when no route matched.
pub fn of(req: &HttpRequest) -> Option<Rc<str>> {
    if let Some(MatchedRoute(known)) = req.extensions().get::<MatchedRoute>() {
        return known.clone();
    }
    let found: Option<Rc<str>> = req.match_pattern().map(Rc::from);
    req.extensions_mut().insert(MatchedRoute(found.clone()));
    found
}
