//! `/api/v1/events/{event}/webhooks`: admins register the endpoints an event's changes are
//! posted to, read their delivery log and redeliver.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::kinds::WebhookKind;
use super::signing::SigningSecret;
use super::store::{self, Delivery, DeliveryStatus, Endpoint, NewEndpoint};
use super::targets;
use crate::audit::AuditEntry;
use crate::auth::extract::{Admin, ClientIp, Require};
use crate::body::Body;
use crate::error::{ApiError, ApiResult, Problem, Validator};
use crate::events::path::EventPath;
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;
use crate::text;

/// Endpoints an event may have: each change is written once per subscribed endpoint, inside
/// its transaction (a batch of scans included).
pub const MAX_ENDPOINTS_PER_EVENT: i64 = 10;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(delete_webhook)
        .service(list_deliveries)
        .service(redeliver);
}

/// A registered endpoint. Its signing secret is shown only once, when it is created.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    id: Uuid,
    #[schema(example = "https://crm.example.org/hooks/bamex")]
    url: String,
    kinds: Vec<WebhookKind>,
    description: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<Endpoint> for WebhookView {
    fn from(endpoint: Endpoint) -> Self {
        Self {
            id: endpoint.id,
            url: endpoint.url,
            kinds: endpoint.kinds,
            description: endpoint.description,
            created_at: endpoint.created_at,
        }
    }
}

/// A new endpoint, with its signing secret: shown this once, never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    endpoint: WebhookView,
    /// `whsec_` and the base64 of 32 random bytes: the key of the `webhook-signature` HMAC
    /// (Standard Webhooks). Store it in the receiver now; it is not shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwQ0jZGBxBqE0=")]
    secret: String,
}

/// One delivery of a message to an endpoint, as the log shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    id: Uuid,
    /// The `webhook-id` header: the same on every retry and redelivery of the message.
    message_id: Uuid,
    kind: WebhookKind,
    status: DeliveryStatus,
    attempts: i32,
    /// When the next attempt is due (pending deliveries only).
    next_attempt_at: Option<DateTime<Utc>>,
    last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the receiver's last answer, if it answered.
    last_response_status: Option<i32>,
    /// Why the last attempt failed (no answer, or a status other than 2xx).
    last_error: Option<String>,
    delivered_at: Option<DateTime<Utc>>,
    /// The delivery this one repeats, when it is a redelivery.
    redelivery_of: Option<Uuid>,
    created_at: DateTime<Utc>,
    /// The body posted (`{type, id, timestamp, data}`): ids and states only.
    #[schema(value_type = Object)]
    payload: serde_json::Value,
}

impl From<Delivery> for DeliveryView {
    fn from(delivery: Delivery) -> Self {
        Self {
            id: delivery.id,
            message_id: delivery.message_id,
            kind: delivery.kind,
            status: delivery.status,
            attempts: delivery.attempts,
            next_attempt_at: (delivery.status == DeliveryStatus::Pending)
                .then_some(delivery.next_attempt_at),
            last_attempt_at: delivery.last_attempt_at,
            last_response_status: delivery.last_response_status,
            last_error: delivery.last_error,
            delivered_at: delivery.delivered_at,
            redelivery_of: delivery.redelivery_of,
            created_at: delivery.created_at,
            payload: serde_json::from_str(&delivery.body).unwrap_or_default(),
        }
    }
}

/// The endpoints of an event (admins), oldest first.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), PageQuery),
    responses(
        (status = 200, description = "The endpoints, without their secrets", body = Page<WebhookView>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/webhooks")]
async fn list_webhooks(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    event: EventPath,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<WebhookView>>> {
    let page = page.parse::<Uuid>()?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&admin)).await?;
    let (rows, total) = store::list_endpoints(&mut conn, event.id, &page).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        total,
        &page,
        |e| e.id,
        WebhookView::from,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// An http(s) URL without credentials whose every address is public.
    #[schema(example = "https://crm.example.org/hooks/bamex", max_length = 2000)]
    url: String,
    /// What to be told about; at least one, each once.
    #[schema(min_items = 1)]
    kinds: Vec<WebhookKind>,
    #[schema(example = "CRM of the organizing committee", max_length = 500)]
    description: Option<String>,
}

/// Register an endpoint (admins). The answer holds its signing secret, shown this once.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Registered; `secret` is shown only now", body = CreatedWebhook),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The event has the most endpoints it may have (`webhook_limit`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`), among them a URL that does not resolve or points at a private, loopback or link-local address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/webhooks")]
async fn create_webhook(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    ip: ClientIp,
    event: EventPath,
    body: Body<CreateWebhookRequest>,
) -> ApiResult<HttpResponse> {
    let event = {
        let mut conn = state.pool.get().await?;
        event.load_event(&mut conn, Some(&admin)).await?
    };
    let body = body.read()?;
    let mut v = Validator::default();
    let url = v.check("url", targets::parse_url(&body.url));
    let mut kinds = body.kinds.clone();
    kinds.sort();
    kinds.dedup();
    v.check(
        "kinds",
        match (kinds.len(), body.kinds.len()) {
            (0, _) => Err("must name at least one kind"),
            (unique, sent) if unique != sent => Err("must name each kind once"),
            _ => Ok(()),
        },
    );
    let description = v.check(
        "description",
        text::optional(body.description.as_deref(), 500),
    );
    let (url, description) = v.finish(|| Some((url?, description?)))?;
    // Resolved with no connection held: a slow name server must not hold a pooled one.
    targets::check_target(&url, state.settings.webhooks.allow_private_targets)
        .await
        .map_err(|e| ApiError::validation("url", e))?;

    let id = Uuid::now_v7();
    let secret = SigningSecret::generate();
    let sealed = state
        .documents
        .seal_secret(&store::secret_context(id), secret.as_bytes())?;
    let mut conn = state.pool.get().await?;
    let endpoint = conn
        .transaction::<_, ApiError, _>(async |conn| {
            if store::count_endpoints(conn, event.id).await? >= MAX_ENDPOINTS_PER_EVENT {
                return Err(ApiError::Conflict {
                    code: "webhook_limit",
                    detail: format!(
                        "An event has at most {MAX_ENDPOINTS_PER_EVENT} webhook endpoints; delete one first."
                    ),
                });
            }
            let endpoint = store::insert_endpoint(
                conn,
                &NewEndpoint {
                    id,
                    event_id: event.id,
                    url: url.as_str(),
                    kinds,
                    description: description.as_deref(),
                    secret_ciphertext: sealed.ciphertext,
                    secret_nonce: sealed.nonce,
                    secret_key_id: sealed.key_id,
                    created_by: Some(admin.id),
                },
            )
            .await?;
            AuditEntry::new("webhook.created", "webhook", Some(endpoint.id))
                .by(admin.id, ip.as_string().as_deref())
                .details(serde_json::json!({ "event": event.slug, "kinds": endpoint.kinds }))
                .record(conn)
                .await?;
            Ok(endpoint)
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedWebhook {
        endpoint: endpoint.into(),
        secret: secret.to_whsec(),
    }))
}

/// Delete an endpoint (admins); its deliveries not yet made are dropped.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Endpoint id"),
    ),
    responses(
        (status = 204, description = "Deleted, with its delivery log"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event or endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/events/{event}/webhooks/{id}")]
async fn delete_webhook(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&admin)).await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        if !store::delete_endpoint(conn, event.id, id).await? {
            return Err(ApiError::not_found());
        }
        AuditEntry::new("webhook.deleted", "webhook", Some(id))
            .by(admin.id, ip.as_string().as_deref())
            .details(serde_json::json!({ "event": event.slug }))
            .record(conn)
            .await
            .map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The deliveries to an endpoint (admins), newest first: status, attempts and the last answer.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Endpoint id"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "The delivery log", body = Page<DeliveryView>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event or endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/webhooks/{id}/deliveries")]
async fn list_deliveries(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<DeliveryView>>> {
    let (_, id) = path.into_inner();
    let page = page.parse::<(DateTime<Utc>, Uuid)>()?;
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&admin)).await?;
    let endpoint = store::find_endpoint(&mut conn, event.id, id).await?;
    let (rows, total) = store::list_deliveries(&mut conn, endpoint.id, &page).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        total,
        &page,
        |d| (d.created_at, d.id),
        DeliveryView::from,
    )))
}

/// Deliver a message again (admins): a new delivery of the same body with the same
/// `webhook-id`, so that the receiver can tell it has it already.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Endpoint id"),
        ("delivery_id" = Uuid, Path, description = "Delivery id"),
    ),
    responses(
        (status = 202, description = "Queued: the new delivery", body = DeliveryView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event, endpoint or delivery", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The delivery is still pending: it is attempted already (`delivery_pending`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
async fn redeliver(
    state: web::Data<AppState>,
    admin: Require<Admin>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id, delivery_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&admin)).await?;
    let endpoint = store::find_endpoint(&mut conn, event.id, id).await?;
    let queued = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let original = store::find_delivery(conn, endpoint.id, delivery_id).await?;
            if original.status == DeliveryStatus::Pending {
                return Err(ApiError::Conflict {
                    code: "delivery_pending",
                    detail: "This delivery is still being attempted; redeliver it once it is delivered or failed.".into(),
                });
            }
            let queued = store::redeliver(conn, &original).await?;
            AuditEntry::new("webhook.redelivered", "webhook", Some(endpoint.id))
                .by(admin.id, ip.as_string().as_deref())
                .details(serde_json::json!({ "delivery": original.id, "new_delivery": queued.id }))
                .record(conn)
                .await?;
            Ok(queued)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(DeliveryView::from(queued)))
}
