//! The exhibitor directory: public (approved exhibitors) and, for organizers, the whole list.
//! Anonymous pages are cached for a few seconds: the directory is read far more often than it
//! changes, and every change in this instance clears the cache at once. The cache is keyed on
//! the parsed query (parameters the route does not know are ignored, so varying one cannot
//! fill it) and bounded by the bytes it holds, `application.directory_cache_bytes`.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::access::coordinates;
use super::search::{self, Search};
use super::store::{self, DirectoryFilter};
use super::{Access, ExhibitorStatus, ExhibitorView, Sector};
use crate::auth::extract::MaybeUser;
use crate::country::CountryCode;
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::path::EventPath;
use crate::pagination::{Page, PageQuery, PageRequest};
use crate::state::AppState;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_exhibitors);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    /// Words in the names or description; case- and accent-insensitive ("defense" finds "Défense").
    q: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    country: Option<String>,
    sector: Option<Sector>,
    /// Exhibitors of one pavilion (its coordinator also sees their pending and rejected ones).
    pavilion: Option<Uuid>,
    /// Organizers (and pavilion coordinators): filter by status; others see approved ones.
    status: Option<ExhibitorStatus>,
    /// `true`: the caller's own applications, whatever their status.
    mine: Option<bool>,
}

/// List an event's exhibitors in name order, with filters and cursor paging. Without a token:
/// approved exhibitors only.
#[utoipa::path(
    tag = "exhibitors",
    security((), ("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        DirectoryQuery,
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of exhibitors", body = Page<ExhibitorView>),
        (status = 401, description = "A token was sent but is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A status filter the caller may not use", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/exhibitors")]
pub async fn list_exhibitors(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    event: EventPath,
    query: web::Query<DirectoryQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.parse::<(String, Uuid)>()?;
    let Search { q, country } = search::parse(query.q.as_deref(), query.country.as_deref())?;

    if query.mine == Some(true) && viewer.0.is_none() {
        return Err(ApiError::Unauthorized {
            code: "unauthenticated",
            detail: "`mine` needs a bearer access token.".into(),
        });
    }

    let cache_key = viewer
        .0
        .is_none()
        .then(|| cache_key(event.slug(), &query, q.as_deref(), country, &page));
    if let Some(body) = match &cache_key {
        Some(key) => state.directory_cache.get(key).await,
        None => None,
    } {
        return Ok(json_page(body, true));
    }

    // The caller's own applications are read where they were written.
    let mut conn = match query.mine {
        Some(true) => state.pool.get().await?,
        _ => state.reads.conn().await?,
    };
    let event = event.load_event(&mut conn, viewer.0.as_ref()).await?;
    let me = viewer.0.as_ref();
    let mine = query.mine == Some(true);
    let sees_all = viewer.is_organizer()
        || mine
        || (query.pavilion.is_some() && coordinates(&mut conn, me, query.pavilion).await?);
    let statuses = match query.status {
        Some(status) if sees_all || status == ExhibitorStatus::Approved => vec![status.as_str()],
        Some(_) => {
            return Err(ApiError::Forbidden {
                code: "forbidden",
                detail: "Only organizers see applications that are not approved.".into(),
            });
        }
        None if sees_all => vec![],
        None => vec![ExhibitorStatus::Approved.as_str()],
    };
    let filter = DirectoryFilter {
        statuses,
        country: country.map(|c| c.as_str().to_owned()),
        sector: query.sector.map(Sector::as_str),
        pavilion_id: query.pavilion,
        owner_id: mine.then(|| me.map(|u| u.id)).flatten(),
        q,
    };
    let (rows, total) = store::directory(&mut conn, event.id, &filter, &page).await?;
    drop(conn);
    let office = viewer.is_organizer();
    let listed = Page::from_rows(
        rows,
        total,
        &page,
        |e| (e.sort_key.clone(), e.id),
        |e| {
            let access = if office {
                Access::Office
            } else if me.is_some_and(|u| u.id == e.owner_id) {
                Access::Owner
            } else {
                Access::Public
            };
            ExhibitorView::new(e, access)
        },
    );
    let body = web::Bytes::from(serde_json::to_vec(&listed).map_err(anyhow::Error::from)?);
    if let Some(key) = cache_key {
        state.directory_cache.insert(key, body.clone()).await;
    }
    Ok(json_page(body, viewer.0.is_none()))
}

/// The anonymous page's key: the parsed values the page depends on, each in one spelling.
fn cache_key(
    slug: &str,
    query: &DirectoryQuery,
    q: Option<&str>,
    country: Option<CountryCode>,
    page: &PageRequest<(String, Uuid)>,
) -> String {
    let after = serde_json::to_string(&page.after).unwrap_or_default();
    format!(
        "{slug:?} q={q:?} country={:?} sector={:?} pavilion={:?} status={:?} mine={} limit={} after={after}",
        country.map(|c| c.as_str().to_owned()),
        query.sector.map(Sector::as_str),
        query.pavilion,
        query.status.map(ExhibitorStatus::as_str),
        query.mine == Some(true),
        page.limit,
    )
}

fn json_page(body: web::Bytes, public: bool) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CACHE_CONTROL,
            if public {
                "public, max-age=5"
            } else {
                "private, no-store"
            },
        ))
        .body(body)
}
