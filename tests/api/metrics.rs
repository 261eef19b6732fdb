//! Prometheus metrics on a listener of their own: read back with an independent parser of the
//! Prometheus text format and of OpenMetrics (openmetrics-parser, a grammar of both formats),
//! counters that move with the requests, scans and emails that cause them, and nothing on the
//! public port.

use std::collections::HashMap;

use bamex::users::Role;
use openmetrics_parser::{MetricsExposition, PrometheusType, PrometheusValue};
use serde_json::json;

use crate::fixtures::{EVENT, approve, event_from_today, visitor};
use crate::helpers::{SmtpSink, TestApp, TestDb, assert_problem, spawn_app, spawn_app_on};

pub type Exposition = MetricsExposition<PrometheusType, PrometheusValue>;

/// `GET /metrics` on the metrics port, as Prometheus's text format (no `Accept`), parsed.
async fn scrape(app: &TestApp) -> Exposition {
    scrape_at(&app.client, &metrics_url(app)).await
}

/// `GET url` (a `/metrics` URL) as Prometheus's text format, parsed.
pub async fn scrape_at(client: &reqwest::Client, url: &str) -> Exposition {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    openmetrics_parser::prometheus::parse_prometheus(&text)
        .unwrap_or_else(|e| panic!("not the Prometheus text format ({e:?}):\n{text}"))
}

pub fn metrics_url(app: &TestApp) -> String {
    let port = app
        .metrics_port
        .expect("the tests' config turns metrics on");
    format!("http://127.0.0.1:{port}/metrics")
}

/// The value of the sample of `family` with exactly `labels` (a histogram's is its count).
pub fn value(metrics: &Exposition, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let family = metrics.families.get(family)?;
    let wanted: HashMap<&str, &str> = labels.iter().copied().collect();
    family.iter_samples().find_map(|sample| {
        let set = sample.get_labelset().unwrap();
        let found: HashMap<&str, &str> = set
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        (found == wanted).then(|| match &sample.value {
            PrometheusValue::Counter(counter) => counter.value.as_f64(),
            PrometheusValue::Gauge(gauge) => gauge.as_f64(),
            PrometheusValue::Histogram(histogram) => histogram.count.unwrap_or(0) as f64,
            other => panic!("unexpected sample {other:?}"),
        })
    })
}

fn requests(metrics: &Exposition, route: &str, method: &str, status: &str) -> f64 {
    value(
        metrics,
        "bamex_http_requests_total",
        &[("route", route), ("method", method), ("status", status)],
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn requests_scans_and_the_outbox_move_their_metrics_on_the_metrics_port_only() {
    // Mail stays pending: the SMTP server is down and the first retry is a minute away.
    let app = spawn_app_on(
        TestDb::from_template().await,
        SmtpSink::down(),
        |settings| {
            settings.email.retry_base_ms = 60_000;
        },
    )
    .await;

    // Never on the public port.
    assert_problem(app.get("/metrics").await, 404, "route_not_found").await;

    let before = scrape(&app).await;
    assert_eq!(
        value(&before, "bamex_db_pool_max_connections", &[]),
        Some(app.settings.database.max_connections as f64)
    );
    for state in ["in_use", "idle"] {
        assert!(value(&before, "bamex_db_pool_connections", &[("state", state)]).is_some());
    }
    // Background loops may still be waiting for their first connections.
    assert!(value(&before, "bamex_db_pool_waiting", &[]).is_some());
    let (depth, capacity) = (
        value(&before, "bamex_password_hashing_queue_depth", &[]).unwrap(),
        value(&before, "bamex_password_hashing_queue_capacity", &[]).unwrap(),
    );
    assert!(capacity >= 32.0 && (0.0..=capacity).contains(&depth));
    let resident = value(&before, "process_resident_memory_bytes", &[]).unwrap();
    assert!(resident > 1_000_000.0, "{resident} bytes resident");
    assert_eq!(value(&before, "bamex_outbox_query_success", &[]), Some(1.0));
    assert_eq!(
        value(&before, "bamex_outbox_messages", &[("status", "pending")]),
        Some(0.0)
    );
    assert_eq!(
        value(&before, "bamex_outbox_oldest_pending_age_seconds", &[]),
        Some(0.0)
    );

    // Requests are counted by route pattern, never by their path's values.
    let event_route = "/api/v1/events/{event}";
    event_from_today(&app).await;
    for _ in 0..3 {
        assert_eq!(app.get(EVENT).await.status(), 200);
    }
    assert_eq!(app.get("/api/v1/events/no-such-event").await.status(), 404);
    assert_eq!(app.get("/api/v1/no-such-route/42").await.status(), 404);
    let after = scrape(&app).await;
    assert_eq!(
        requests(&after, event_route, "GET", "200") - requests(&before, event_route, "GET", "200"),
        3.0
    );
    assert_eq!(requests(&after, event_route, "GET", "404"), 1.0);
    assert_eq!(
        requests(&after, "unmatched", "GET", "404"),
        2.0,
        "GET /metrics and the unknown route"
    );
    let latencies = value(
        &after,
        "bamex_http_request_duration_seconds",
        &[("route", event_route), ("method", "GET")],
    );
    assert_eq!(latencies, Some(4.0));
    let routes: Vec<String> = after.families["bamex_http_requests_total"]
        .iter_samples()
        .map(|sample| {
            let labels = sample.get_labelset().unwrap();
            labels.get_label_value("route").unwrap().to_owned()
        })
        .collect();
    assert!(
        routes
            .iter()
            .all(|route| !route.contains("bamex-2026") && !route.contains("no-such")),
        "{routes:?}"
    );

    // A scan is one batch of one.
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let (_, id) = visitor(&app, "trade_visitor", "Keita", "M9100001").await;
    let qr = approve(&app, &organizer, &id).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();
    let batches = value(&after, "bamex_scan_batch_size", &[]).unwrap_or(0.0);
    let scanned = app
        .post_as(
            &format!("{EVENT}/scans"),
            &agent.access_token,
            &json!({"qr": qr, "gate": "north-1", "zone": "exhibition_halls", "direction": "in"}),
        )
        .await;
    assert_eq!(scanned.status(), 200);
    let scans = scrape(&app).await;
    assert_eq!(
        value(&scans, "bamex_scan_batch_size", &[]).unwrap() - batches,
        1.0
    );
    assert!(value(&scans, "bamex_scan_batch_duration_seconds", &[]).unwrap() >= 1.0);
    assert_eq!(
        requests(&scans, "/api/v1/events/{event}/scans", "POST", "200"),
        1.0
    );

    // The approval queued an email that cannot leave: pending, and getting older.
    let pending = value(&scans, "bamex_outbox_messages", &[("status", "pending")]).unwrap();
    assert!(pending >= 1.0, "{pending} pending");
    assert!(value(&scans, "bamex_outbox_oldest_pending_age_seconds", &[]).unwrap() > 0.0);
    use diesel_async::RunQueryDsl;
    // Taking the lease too: an attempt under way then cannot record itself over the change.
    diesel::sql_query("UPDATE outbox SET status = 'failed', leased_until = NULL")
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    let given_up = scrape(&app).await;
    assert_eq!(
        value(&given_up, "bamex_outbox_messages", &[("status", "failed")]),
        Some(pending)
    );
    assert_eq!(
        value(&given_up, "bamex_outbox_messages", &[("status", "pending")]),
        Some(0.0)
    );
}

#[tokio::test]
async fn prometheus_asking_for_openmetrics_gets_a_valid_exposition() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let response = app
        .client
        .get(metrics_url(&app))
        // What Prometheus sends.
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"));
    let metrics = openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("not OpenMetrics ({e:?}):\n{text}"));
    let requests = &metrics.families["bamex_http_requests"];
    assert_eq!(
        requests.family_type,
        openmetrics_parser::OpenMetricsType::Counter
    );
    let duration = &metrics.families["bamex_http_request_duration_seconds"];
    assert_eq!(
        duration.family_type,
        openmetrics_parser::OpenMetricsType::Histogram
    );
    assert_eq!(
        metrics.families["process_resident_memory_bytes"].unit,
        "bytes"
    );
}

#[tokio::test]
async fn metrics_answer_what_they_can_while_the_database_is_gone() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.db.drop_now().await;
    let started = std::time::Instant::now();
    let metrics = scrape(&app).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(
        value(&metrics, "bamex_outbox_query_success", &[]),
        Some(0.0)
    );
    assert!(!metrics.families.contains_key("bamex_outbox_messages"));
    assert_eq!(requests(&metrics, "/healthz", "GET", "200"), 1.0);
    assert!(value(&metrics, "bamex_db_pool_max_connections", &[]).is_some());
}

#[tokio::test]
async fn an_empty_listen_address_turns_metrics_off() {
    let app =
        crate::helpers::spawn_app_with(|settings| settings.metrics.listen = String::new()).await;
    assert_eq!(app.metrics_port, None);
    assert_problem(app.get("/metrics").await, 404, "route_not_found").await;
}

#[test]
fn a_listen_setting_that_is_not_an_address_stops_the_start() {
    use bamex::config::{Environment, Settings};
    let mut settings = Settings::load_for(Environment::Test).unwrap();
    settings.metrics.listen = "localhost".into();
    let error = settings.validate().unwrap_err().to_string();
    assert!(error.starts_with("setting `metrics.listen`"), "{error}");
}
