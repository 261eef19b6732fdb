//! The HTTP client deliveries go through: hyper's, over rustls with the *ring* provider and the
//! Mozilla roots compiled in (pure Rust, like the SMTP client's TLS), resolving names through
//! [`GuardedResolver`] so that only public addresses are connected to. Each exchange is bounded
//! as a whole; the answer's status is all that is kept (its body is not read).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::targets::{self, GuardedResolver};

/// What one attempt came to.
#[derive(Debug)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// The receiver answered something else (`status`), or never did.
    Failed { status: Option<u16>, error: String },
}

/// One request to send: the headers besides the content type, and the exact body signed.
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub headers: [(&'static str, String); 3],
    pub body: String,
}

pub struct WebhookClient {
    http: Client<HttpsConnector<HttpConnector<GuardedResolver>>, Full<Bytes>>,
    allow_private: bool,
    timeout: Duration,
}

impl WebhookClient {
    pub fn new(allow_private: bool, timeout: Duration) -> anyhow::Result<Self> {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver { allow_private });
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
            .context("no TLS configuration for webhooks")?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4)
            .build(https);
        Ok(Self {
            http,
            allow_private,
            timeout,
        })
    }

    /// Posts one delivery, bounded as a whole (resolution, connection, TLS, request, answer
    /// head) by `webhooks.timeout_ms`. Redirects are not followed: a 3xx is a failure.
    pub async fn post(&self, outgoing: Outgoing<'_>) -> Attempt {
        let failed = |error: String| Attempt::Failed {
            status: None,
            error,
        };
        let url = match targets::parse_url(outgoing.url) {
            Ok(url) => url,
            Err(e) => return failed(format!("the endpoint URL {e}")),
        };
        if let Err(e) = targets::check_literal(&url, self.allow_private) {
            return failed(format!("refused: the endpoint {e}"));
        }
        let mut request = Request::post(url.as_str())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static("bamex-webhooks/1"));
        for (name, value) in &outgoing.headers {
            request = request.header(*name, value);
        }
        let request = match request.body(Full::new(Bytes::from(outgoing.body))) {
            Ok(request) => request,
            Err(e) => return failed(format!("could not build the request: {e}")),
        };
        match tokio::time::timeout(self.timeout, self.http.request(request)).await {
            Err(_) => failed(format!("no answer within {} ms", self.timeout.as_millis())),
            Ok(Err(e)) => failed(describe(&e)),
            Ok(Ok(response)) => {
                let status = response.status().as_u16();
                if response.status().is_success() {
                    Attempt::Delivered { status }
                } else {
                    Attempt::Failed {
                        status: Some(status),
                        error: format!("the receiver answered {status}"),
                    }
                }
            }
        }
    }
}

/// The error and its causes, on one line (they name neither the body nor a secret).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
