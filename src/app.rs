//! `Application::build`: database, state, middleware and background loops (outbox, retention
//! purge), shared by `main` and the integration tests. It knows infrastructure only: the routes
//! come from `router.rs`.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::accreditations::badges::BadgeKeys;
use crate::accreditations::totals::QueueTotals;
use crate::auth::limits::AbuseLimits;
use crate::auth::sessions::Sessions;
use crate::auth::tokens::AccessTokens;
use crate::config::Settings;
use crate::db::replica::{self, ReadPools};
use crate::db::{self, DbPool};
use crate::email::worker::OutboxWorker;
use crate::error::{self, ApiError};
use crate::exhibitors::cache::{self, DirectoryCache};
use crate::gates::figures::StatsCache;
use crate::gates::recorder::ScanRecorder;
use crate::idempotency::{self, Idempotency};
use crate::invalidation::{self, Invalidations};
use crate::metrics::{self, Metrics};
use crate::openapi::{self, RouteTable};
use crate::participants::documents::DocumentVault;
use crate::router;
use crate::state::{ApiDocument, AppState};
use crate::telemetry::{self, RequestSpan};
use crate::webhooks::worker::DeliveryWorker;
use crate::{accreditations, http_method, retention, storable_text};

/// A request no route took: 405 when the path exists with other methods, else 404.
async fn fallback(
    req: HttpRequest,
    routes: web::Data<RouteTable>,
) -> Result<HttpResponse, ApiError> {
    Err(match routes.allowed_methods(req.path()) {
        Some(allowed) => ApiError::MethodNotAllowed { allowed },
        None => ApiError::NotFound {
            code: "route_not_found",
            detail: "No route answers this path.".into(),
        },
    })
}

fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            idempotency::KEY_HEADER,
            telemetry::REQUEST_ID_HEADER,
        ])
        .expose_headers([
            telemetry::REQUEST_ID_HEADER,
            header::RETRY_AFTER,
            header::LOCATION,
            idempotency::REPLAYED_HEADER,
        ])
        .max_age(3600)
}

pub struct Application {
    port: u16,
    server: Server,
    pool: DbPool,
    worker: JoinHandle<()>,
    webhooks: JoinHandle<()>,
    purge: JoinHandle<()>,
    shutdown: CancellationToken,
    directory_cache: DirectoryCache,
    metrics_port: Option<u16>,
    metrics_server: Option<Server>,
}

impl Application {
    /// Creates the database if needed, migrates it, binds the port (0 picks a free one) and
    /// starts the outbox worker, the sweep of expired idempotency keys and the hourly retention
    /// purge. The HTTP server starts serving once [`Self::run_until_stopped`] is awaited.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        db::ensure_database(&settings.database).await?;
        db::run_migrations(settings.database.url.expose_secret()).await?;
        let pool = db::build_pool(&settings.database)?;
        let replica = db::build_replica_pool(&settings.database)?;
        let reads = ReadPools::new(
            pool.clone(),
            replica.zip(settings.database.replica_url().cloned()),
        );

        let address = (
            settings.application.host.as_str(),
            settings.application.port,
        );
        let listener = TcpListener::bind(address)
            .with_context(|| format!("could not listen on {}:{}", address.0, address.1))?;
        let port = listener.local_addr()?.port();

        let metrics = Arc::new(Metrics::new());
        let (metrics_port, metrics_server) = match settings.metrics.address()? {
            Some(address) => {
                let listener = TcpListener::bind(address)
                    .with_context(|| format!("could not listen on {address} for metrics"))?;
                let port = listener.local_addr()?.port();
                let server =
                    metrics::server::build(listener, metrics.clone(), pool.clone(), reads.clone())?;
                (Some(port), Some(server))
            }
            None => (None, None),
        };

        let shutdown = CancellationToken::new();
        tokio::spawn(replica::run_lag_probe(
            reads.clone(),
            settings.database.url.clone(),
            settings.database.replica_max_lag(),
            shutdown.clone(),
        ));
        let worker = OutboxWorker::new(pool.clone(), &settings.email)?;
        let worker = tokio::spawn(worker.run(shutdown.clone()));
        let webhooks = DeliveryWorker::new(
            pool.clone(),
            &settings.webhooks,
            DocumentVault::new(&settings.documents),
        )?;
        let webhooks = tokio::spawn(webhooks.run(shutdown.clone()));
        let purge = tokio::spawn(retention::run(
            pool.clone(),
            settings.retention.purge_after_days,
            shutdown.clone(),
        ));

        let invalidations = Arc::new(Invalidations::default());
        tokio::spawn(
            invalidations
                .clone()
                .run_sender(pool.clone(), shutdown.clone()),
        );
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            tokens: AccessTokens::new(&settings.auth),
            limits: AbuseLimits::new(&settings.rate_limits, pool.clone()),
            sessions: Sessions::default(),
            documents: DocumentVault::new(&settings.documents),
            badge_keys: BadgeKeys::new(&settings.badges)?,
            directory_cache: cache::new_cache(settings.application.directory_cache_bytes),
            scan_recorder: ScanRecorder::start(
                pool.clone(),
                settings.gates.recorder_lanes,
                metrics.scan_batches.clone(),
            ),
            queue_totals: QueueTotals::new(reads.clone()),
            stats: StatsCache::new(Duration::from_millis(settings.gates.stats_fresh_ms)),
            reads,
            metrics,
            invalidations,
            settings: Arc::new(settings),
        });
        let told = state.clone();
        tokio::spawn(invalidation::run_listener(
            move |stale| told.forget_here(stale),
            pool.clone(),
            state.settings.database.url.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(sweep_rate_limits(state.clone(), shutdown.clone()));
        tokio::spawn(accreditations::totals::run_count_folding(
            pool.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(idempotency::run_sweeper(
            pool.clone(),
            state.settings.idempotency.ttl(),
            shutdown.clone(),
        ));
        let idempotency = web::Data::new(Idempotency::new(pool.clone(), &state.settings));
        let directory_cache = state.directory_cache.clone();
        let server = build_server(listener, state, idempotency)?;
        tracing::info!(port, metrics_port, "listening");
        Ok(Self {
            port,
            server,
            pool,
            worker,
            webhooks,
            purge,
            shutdown,
            directory_cache,
            metrics_port,
            metrics_server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` is served on (`metrics.listen`), `None` when metrics are off.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    pub fn pool(&self) -> DbPool {
        self.pool.clone()
    }

    /// The anonymous directory cache (a handle on the same cache), for checks of its size.
    pub fn directory_cache(&self) -> DirectoryCache {
        self.directory_cache.clone()
    }

    /// Serves until SIGTERM/SIGINT (or the server handle stops it): in-flight requests finish,
    /// then the metrics listener, the outbox worker and the purge loop stop (a purge under way
    /// finishes first).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let metrics = self.metrics_server.map(|server| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let served = self.server.await;
        if let Some((handle, serving)) = metrics {
            handle.stop(true).await;
            let _ = serving.await;
        }
        self.shutdown.cancel();
        let _ = self.worker.await;
        let _ = self.webhooks.await;
        let _ = self.purge.await;
        served.context("HTTP server failed")
    }
}

async fn sweep_rate_limits(state: web::Data<AppState>, shutdown: CancellationToken) {
    state.limits.run_sweeper(shutdown).await;
}

fn build_server(
    listener: TcpListener,
    state: web::Data<AppState>,
    idempotency: web::Data<Idempotency>,
) -> anyhow::Result<Server> {
    let settings = state.settings.clone();
    let document = openapi::document();
    let routes = web::Data::new(RouteTable::from_document(&document));
    let document = web::Data::new(ApiDocument(serde_json::to_vec(&document)?));
    let origins = settings.application.cors_allowed_origins.clone();
    let requests = state.metrics.requests.clone();

    let mut server = HttpServer::new(move || {
        App::new()
            .into_utoipa_app()
            .map(|app| {
                // Innermost: a HEAD is routed as a GET, everything outside sees the HEAD.
                app.wrap(from_fn(http_method::head_as_get))
                    .wrap(ErrorHandlers::new().default_handler(error::ensure_problem_json))
                    // Outside the error handlers, so that what it stores is the final answer;
                    // inside CORS and logging, so that a replay gets their headers and a span.
                    .wrap(from_fn(idempotency::middleware))
                    // Before a key is reserved: a refused request stores nothing.
                    .wrap(from_fn(storable_text::middleware))
                    // A literal route wins over its parameter sibling, as the 405 table says.
                    .wrap(from_fn(openapi::literal_routes_first))
                    .wrap(cors(&origins))
                    // actix-cors refuses with an error of its own (a bare 400).
                    .wrap(from_fn(error::problem_for_errors))
                    // Outside the problem+json handlers, so that it counts the final status.
                    .wrap(requests.middleware())
                    .wrap(TracingLogger::<RequestSpan>::new())
                    .wrap(from_fn(telemetry::request_id))
            })
            .app_data(web::QueryConfig::default().error_handler(error::query_error_handler))
            .app_data(web::PathConfig::default().error_handler(error::path_error_handler))
            .app_data(state.clone())
            .app_data(idempotency.clone())
            .app_data(routes.clone())
            .app_data(document.clone())
            .configure(router::mount)
            .into_app()
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .config(utoipa_swagger_ui::Config::from("/api/v1/openapi.json")),
            )
            .default_service(web::to(fallback))
    })
    .shutdown_timeout(settings.application.shutdown_timeout_seconds)
    .listen(listener)?;
    if settings.application.workers > 0 {
        server = server.workers(settings.application.workers);
    }
    Ok(server.run())
}
