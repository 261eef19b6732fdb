//! `GET /api/v1/audit` and `GET /api/v1/audit.csv`: the audit trail for people. Admins read all
//! of it; organizers the records about events (those with an `event_id`).

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::actions::AuditAction;
use super::store::{self, AuditFilter, AuditKey, AuditRow};
use crate::auth::extract::{Organizer, Require};
use crate::csv_export::{self, Sheet};
use crate::error::{ApiError, ApiResult, Problem};
use crate::pagination::{Page, PageQuery};
use crate::state::AppState;
use crate::users::Role;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_audit).service(export_audit);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Records of this account's actions.
    actor_id: Option<Uuid>,
    action: Option<AuditAction>,
    /// What the record is about: `user`, `event`, `exhibitor`, `participant`, `accreditation`,
    /// `delegation`, `pavilion`, `webhook`.
    #[param(example = "accreditation", max_length = 50)]
    target_type: Option<String>,
    target_id: Option<Uuid>,
    /// Records about this event (its slug).
    #[param(example = "bamex-2026", max_length = 100)]
    event: Option<String>,
    /// Records at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Records before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
}

impl AuditQuery {
    fn filter(&self, reader: &Require<Organizer>) -> ApiResult<AuditFilter> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(ApiError::validation("to", "must not be before `from`"));
        }
        let target_type = match self.target_type.as_deref().map(str::trim) {
            Some(kind) if kind.len() > 50 || kind.contains('\0') => {
                return Err(ApiError::validation("target_type", "is not a target type"));
            }
            other => other.filter(|k| !k.is_empty()).map(str::to_owned),
        };
        Ok(AuditFilter {
            events_only: !reader.has(Role::Admin),
            actor_id: self.actor_id,
            action: self.action,
            target_type,
            target_id: self.target_id,
            event: self.event.clone(),
            from: self.from,
            to: self.to,
        })
    }
}

/// One audit record.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecordView {
    id: Uuid,
    created_at: DateTime<Utc>,
    /// Who acted; null for the system, the command line, or an actor purged with an event's
    /// personal data.
    actor_id: Option<Uuid>,
    #[schema(value_type = AuditAction)]
    action: String,
    #[schema(example = "accreditation")]
    target_type: String,
    target_id: Option<Uuid>,
    /// The event the record is about, derived by the database from the target; null for
    /// accounts and the platform.
    event_id: Option<Uuid>,
    /// That event's slug.
    #[schema(example = "bamex-2026")]
    event: Option<String>,
    /// What the action recorded (reasons, before / after values); its shape depends on the
    /// action.
    #[schema(value_type = Object)]
    details: serde_json::Value,
    client_ip: Option<String>,
}

impl From<AuditRow> for AuditRecordView {
    fn from((r, event): AuditRow) -> Self {
        Self {
            event,
            id: r.id,
            created_at: r.created_at,
            actor_id: r.actor_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            event_id: r.event_id,
            details: r.details,
            client_ip: r.client_ip,
        }
    }
}

/// The audit trail, newest first, filtered (admins: every record; organizers: the records
/// about events).
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery, PageQuery),
    responses(
        (status = 200, description = "A page of audit records", body = Page<AuditRecordView>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither admin nor organizer (`forbidden`), or no second factor yet (`mfa_enrollment_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter or cursor that does not parse, or `from` after `to` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit")]
async fn list_audit(
    state: web::Data<AppState>,
    reader: Require<Organizer>,
    query: web::Query<AuditQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<AuditRecordView>>> {
    let filter = query.filter(&reader)?;
    let page = page.parse::<AuditKey>()?;
    let mut conn = state.pool.get().await?;
    let total = store::count(&mut conn, &filter).await?;
    let rows = store::page(&mut conn, &filter, page.after.as_ref(), page.limit + 1).await?;
    Ok(web::Json(Page::from_rows(
        rows,
        total,
        &page,
        |(r, _)| (r.created_at, r.id),
        AuditRecordView::from,
    )))
}

/// The same records as CSV (`bamex-audit.csv`), with the same filters, newest first; `details`
/// is its JSON text. UTF-8 with a byte-order mark, cells neutralised against formula injection.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "The records, one a row", content_type = "text/csv"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither admin nor organizer (`forbidden`), or no second factor yet (`mfa_enrollment_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter that does not parse, or `from` after `to` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit.csv")]
async fn export_audit(
    state: web::Data<AppState>,
    reader: Require<Organizer>,
    query: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let filter = query.filter(&reader)?;
    csv_export::respond(&state.pool, "bamex", "audit", AuditSheet { filter }).await
}

struct AuditSheet {
    filter: AuditFilter,
}

impl Sheet for AuditSheet {
    type Row = AuditRow;
    type Key = AuditKey;

    const COLUMNS: &'static [&'static str] = &[
        "id",
        "created_at",
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "event",
        "client_ip",
        "details",
    ];

    async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&AuditKey>,
        limit: i64,
    ) -> ApiResult<Vec<AuditRow>> {
        Ok(store::page(conn, &self.filter, after, limit).await?)
    }

    fn key(&self, (record, _): &AuditRow) -> AuditKey {
        (record.created_at, record.id)
    }

    fn cells(&self, (r, event): AuditRow) -> Vec<String> {
        let id = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
        vec![
            r.id.to_string(),
            r.created_at.to_rfc3339(),
            id(r.actor_id),
            r.action,
            r.target_type,
            id(r.target_id),
            event.unwrap_or_default(),
            r.client_ip.unwrap_or_default(),
            r.details.to_string(),
        ]
    }
}
