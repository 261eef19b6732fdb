//! `GET /api/v1/events/{event}/exhibitors.csv`: the organizers' exhibitor list as CSV, with the
//! directory's filters, in the directory's name order.

use actix_web::{HttpResponse, get, web};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::search::{self, Search};
use super::store::{self, DirectoryFilter};
use super::{Exhibitor, ExhibitorStatus, Sector};
use crate::auth::extract::{Organizer, Require};
use crate::csv_export::{self, Sheet};
use crate::error::{ApiResult, Problem};
use crate::events::path::EventPath;
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(export_exhibitors);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExhibitorsExportQuery {
    /// Words in the names or description; case- and accent-insensitive, at most 100 characters.
    q: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    country: Option<String>,
    sector: Option<Sector>,
    /// Exhibitors of one pavilion.
    pavilion: Option<Uuid>,
    /// Any status when absent.
    status: Option<ExhibitorStatus>,
}

/// The event's exhibitors as CSV (organizers), with the directory's filters, in name order:
/// UTF-8 with a byte-order mark so that Excel reads it, and cells neutralised against formula
/// injection. `pavilion` is the pavilion's name, `sectors` the sectors separated by `;`.
#[utoipa::path(
    tag = "exhibitors",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026"), ExhibitorsExportQuery),
    responses(
        (status = 200, description = "The exhibitors, one a row", content_type = "text/csv"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter that does not parse (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/exhibitors.csv")]
async fn export_exhibitors(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    event: EventPath,
    query: web::Query<ExhibitorsExportQuery>,
) -> ApiResult<HttpResponse> {
    let Search { q, country } = search::parse(query.q.as_deref(), query.country.as_deref())?;
    let filter = DirectoryFilter {
        statuses: query
            .status
            .map(ExhibitorStatus::as_str)
            .into_iter()
            .collect(),
        country: country.map(|c| c.as_str().to_owned()),
        sector: query.sector.map(Sector::as_str),
        pavilion_id: query.pavilion,
        owner_id: None,
        q,
    };
    csv_export::of_event(&state.pool, &event, &organizer, "exhibitors", |event| {
        ExhibitorSheet {
            event_id: event.id,
            filter,
        }
    })
    .await
}

struct ExhibitorSheet {
    event_id: Uuid,
    filter: DirectoryFilter,
}

impl Sheet for ExhibitorSheet {
    /// The exhibitor and its pavilion's name.
    type Row = (Exhibitor, Option<String>);
    type Key = (String, Uuid);

    const COLUMNS: &'static [&'static str] = &[
        "id",
        "status",
        "legal_name",
        "display_name",
        "country",
        "city",
        "website",
        "sectors",
        "pavilion",
        "booth_hall",
        "booth_stand",
        "booth_area_m2",
        "staff_quota",
        "staff_count",
        "contact_name",
        "contact_email",
        "contact_phone",
        "created_at",
        // Last, so that sheets built on the earlier columns keep working.
        "contractor_quota",
        "contractor_count",
    ];

    async fn page(
        &self,
        conn: &mut AsyncPgConnection,
        after: Option<&(String, Uuid)>,
        limit: i64,
    ) -> ApiResult<Vec<Self::Row>> {
        Ok(store::directory_export_page(conn, self.event_id, &self.filter, after, limit).await?)
    }

    fn key(&self, (exhibitor, _): &Self::Row) -> (String, Uuid) {
        (exhibitor.sort_key.clone(), exhibitor.id)
    }

    fn cells(&self, (e, pavilion): Self::Row) -> Vec<String> {
        vec![
            e.id.to_string(),
            e.status.as_str().to_owned(),
            e.legal_name,
            e.display_name,
            e.country,
            e.city,
            e.website.unwrap_or_default(),
            e.sectors
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            pavilion.unwrap_or_default(),
            e.booth_hall.unwrap_or_default(),
            e.booth_stand.unwrap_or_default(),
            e.booth_area_m2.map(|a| a.to_string()).unwrap_or_default(),
            e.staff_quota.to_string(),
            e.staff_count.to_string(),
            e.contact_name.unwrap_or_default(),
            e.contact_email
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            e.contact_phone.unwrap_or_default(),
            e.created_at.to_rfc3339(),
            e.contractor_quota.to_string(),
            e.contractor_count.to_string(),
        ]
    }
}
