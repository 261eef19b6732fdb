//! Requests by route pattern (`/api/v1/events/{event}`, never the path itself: its values
//! would make a series per event, badge or token), method and status, and their latency: the
//! time until the response's head is ready (a streamed body is not waited for).

use std::future::{Ready, ready};
use std::rc::Rc;
use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use futures_util::future::LocalBoxFuture;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::http_route;

/// The route label of a request no route matched (404s, 405s).
const UNMATCHED: &str = "unmatched";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

/// The request counters and latency histograms; the middleware is [`RequestMetrics::middleware`].
#[derive(Debug, Clone)]
pub struct RequestMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram>,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

/// A method label from a fixed set: any other method is `other`, so that a client cannot add
/// series by inventing methods.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl RequestMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let requests = Family::default();
        let duration = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            requests.clone(),
        );
        // The unit is in the name only: no `# UNIT` line for a histogram, which some
        // OpenMetrics parsers refuse (openmetrics-parser does).
        registry.register(
            "http_request_duration_seconds",
            "Time until the response head is ready, by route pattern and method",
            duration.clone(),
        );
        Self { requests, duration }
    }

    /// The middleware that counts every request of an `App` it wraps.
    pub fn middleware(&self) -> CountRequests {
        CountRequests(self.clone())
    }

    fn observe(&self, route: Option<&str>, method: &'static str, status: u16, started: Instant) {
        let route = route.unwrap_or(UNMATCHED).to_owned();
        self.duration
            .get_or_create(&RouteLabels {
                route: route.clone(),
                method,
            })
            .observe(started.elapsed().as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
    }
}

/// See [`RequestMetrics::middleware`].
pub struct CountRequests(RequestMetrics);

impl<S, B> Transform<S, ServiceRequest> for CountRequests
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = CountRequestsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CountRequestsService {
            service: Rc::new(service),
            metrics: self.0.clone(),
        }))
    }
}

pub struct CountRequestsService<S> {
    service: Rc<S>,
    metrics: RequestMetrics,
}

impl<S, B> Service<ServiceRequest> for CountRequestsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let method = method_label(req.method());
        let service = self.service.clone();
        let metrics = self.metrics.clone();
        Box::pin(async move {
            // The pattern is known once the inner services have routed the request; the
            // request must not be held meanwhile (routing needs it unshared).
            let outcome = service.call(req).await;
            let (route, status) = match &outcome {
                Ok(response) => (http_route::of(response.request()), response.status()),
                // Not met here: the problem+json middleware inside turns errors into answers.
                Err(error) => (None, error.as_response_error().status_code()),
            };
            metrics.observe(route.as_deref(), method, status.as_u16(), started);
            outcome
        })
    }
}
