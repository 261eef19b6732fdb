//! The metrics listener: a small actix server of its own (one worker) answering `GET /metrics`
//! and nothing else, so that metrics never show on the public port.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use prometheus_client::encoding::{prometheus_text, text};

use super::{Metrics, scrape};
use crate::db::DbPool;
use crate::db::replica::ReadPools;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

struct Scraped {
    metrics: std::sync::Arc<Metrics>,
    pool: DbPool,
    reads: ReadPools,
}

/// OpenMetrics when the scraper asks for it (Prometheus does), else the Prometheus text format.
async fn scrape(req: HttpRequest, scraped: web::Data<Scraped>) -> HttpResponse {
    let openmetrics = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("application/openmetrics-text"));
    let sampled = scrape::sample(&scraped.pool, &scraped.reads).await;
    let mut body = String::new();
    let encoded = if openmetrics {
        text::encode_registry(&mut body, &scraped.metrics.registry)
            .and_then(|()| text::encode_registry(&mut body, &sampled))
            .and_then(|()| text::encode_eof(&mut body))
    } else {
        prometheus_text::encode(&mut body, &scraped.metrics.registry)
            .and_then(|()| prometheus_text::encode(&mut body, &sampled))
    };
    if encoded.is_err() {
        tracing::error!("metrics: encoding failed");
        return HttpResponse::InternalServerError().finish();
    }
    let content_type = if openmetrics {
        OPENMETRICS
    } else {
        prometheus_text::CONTENT_TYPE
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(body)
}

/// The server on `listener`; it serves once awaited, and it is stopped with its handle (it does
/// not listen for signals: the application stops it after the public server).
pub fn build(
    listener: TcpListener,
    metrics: std::sync::Arc<Metrics>,
    pool: DbPool,
    reads: ReadPools,
) -> std::io::Result<Server> {
    let scraped = web::Data::new(Scraped {
        metrics,
        pool,
        reads,
    });
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(scraped.clone())
            .route("/metrics", web::get().to(scrape))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run())
}
