//! Queries on exhibitors. Each takes a connection so that callers compose them in transactions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{BadgeList, Exhibitor, PavilionView};
use crate::db::schema::{exhibitors, pavilions};
use crate::db::search_key;
use crate::pagination::{PageRequest, like_pattern};
use crate::users::EmailAddress;

#[derive(Debug, Insertable)]
#[diesel(table_name = exhibitors)]
pub struct NewExhibitor {
    pub id: Uuid,
    pub event_id: Uuid,
    pub owner_id: Uuid,
    pub legal_name: String,
    pub display_name: String,
    pub country: String,
    pub city: String,
    pub website: Option<String>,
    pub description: String,
    pub sectors: Vec<String>,
    pub pavilion_id: Option<Uuid>,
    pub contact_name: Option<String>,
    pub contact_email: Option<EmailAddress>,
    pub contact_phone: Option<String>,
}

/// A profile change; `None` leaves a column as it is, `Some(None)` clears it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = exhibitors)]
pub struct ExhibitorChanges {
    pub legal_name: Option<String>,
    pub display_name: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub website: Option<Option<String>>,
    pub description: Option<String>,
    pub sectors: Option<Vec<String>>,
    pub pavilion_id: Option<Option<Uuid>>,
    pub contact_name: Option<Option<String>>,
    pub contact_email: Option<Option<EmailAddress>>,
    pub contact_phone: Option<Option<String>>,
    pub status: Option<String>,
    pub decision_reason: Option<Option<String>>,
    pub decided_by: Option<Option<Uuid>>,
    pub decided_at: Option<Option<DateTime<Utc>>>,
    pub booth_hall: Option<Option<String>>,
    pub booth_stand: Option<Option<String>>,
    pub booth_area_m2: Option<Option<f64>>,
    pub staff_quota_override: Option<Option<i32>>,
    pub staff_quota: Option<i32>,
    pub contractor_quota_override: Option<Option<i32>>,
    pub contractor_quota: Option<i32>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewExhibitor) -> QueryResult<Exhibitor> {
    diesel::insert_into(exhibitors::table)
        .values(new)
        .returning(Exhibitor::as_returning())
        .get_result(conn)
        .await
}

/// The exhibitor `id` of event `event_id` (another event's id is not found).
pub async fn find(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    id: Uuid,
) -> QueryResult<Exhibitor> {
    exhibitors::table
        .filter(exhibitors::event_id.eq(event_id))
        .filter(exhibitors::id.eq(id))
        .select(Exhibitor::as_select())
        .first(conn)
        .await
}

/// Like [`find`], locking the row until the transaction ends.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    id: Uuid,
) -> QueryResult<Exhibitor> {
    exhibitors::table
        .filter(exhibitors::event_id.eq(event_id))
        .filter(exhibitors::id.eq(id))
        .select(Exhibitor::as_select())
        .for_update()
        .first(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    mut changes: ExhibitorChanges,
) -> QueryResult<Exhibitor> {
    changes.updated_at = Some(Utc::now());
    diesel::update(exhibitors::table.find(id))
        .set(changes)
        .returning(Exhibitor::as_returning())
        .get_result(conn)
        .await
}

/// The account coordinating a pavilion, if it has one.
pub async fn pavilion_coordinator(
    conn: &mut AsyncPgConnection,
    pavilion_id: Uuid,
) -> QueryResult<Option<Uuid>> {
    Ok(pavilions::table
        .find(pavilion_id)
        .select(pavilions::coordinator_id)
        .first::<Option<Uuid>>(conn)
        .await
        .optional()?
        .flatten())
}

/// Whether `pavilion_id` is a pavilion of the event.
pub async fn pavilion_in_event(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    pavilion_id: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        pavilions::table
            .filter(pavilions::id.eq(pavilion_id))
            .filter(pavilions::event_id.eq(event_id)),
    ))
    .get_result(conn)
    .await
}

#[derive(Debug)]
pub struct NewPavilion<'a> {
    pub id: Uuid,
    pub event_id: Uuid,
    pub name: &'a str,
    pub country: Option<&'a str>,
    pub description: &'a str,
    pub coordinator_id: Option<Uuid>,
}

pub async fn insert_pavilion(
    conn: &mut AsyncPgConnection,
    new: &NewPavilion<'_>,
) -> QueryResult<PavilionView> {
    // Values rather than `Insertable`, which would send DEFAULT for `None` instead of NULL.
    diesel::insert_into(pavilions::table)
        .values((
            pavilions::id.eq(new.id),
            pavilions::event_id.eq(new.event_id),
            pavilions::name.eq(new.name),
            pavilions::country.eq(new.country),
            pavilions::description.eq(new.description),
            pavilions::coordinator_id.eq(new.coordinator_id),
        ))
        .returning(PavilionView::as_returning())
        .get_result(conn)
        .await
}

/// A page of the event's pavilions in creation order, and how many there are.
pub async fn list_pavilions(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    page: &PageRequest<Uuid>,
) -> QueryResult<(Vec<PavilionView>, i64)> {
    let total = pavilions::table
        .filter(pavilions::event_id.eq(event_id))
        .count()
        .get_result(conn)
        .await?;
    let mut query = pavilions::table
        .filter(pavilions::event_id.eq(event_id))
        .select(PavilionView::as_select())
        .order(pavilions::id)
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(pavilions::id.gt(after));
    }
    Ok((query.load(conn).await?, total))
}

/// Takes one slot of an approved exhibitor's `list`, atomically: the row lock of the UPDATE
/// makes concurrent registrations queue, and the condition (with the table's check constraints
/// behind it) makes the quota impossible to exceed. `false` when no slot is left.
pub async fn take_slot(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    list: BadgeList,
) -> QueryResult<bool> {
    // One statement for both lists: the other list's count moves by 0.
    let (staff, contractors) = list.one();
    diesel::update(
        exhibitors::table
            .filter(exhibitors::id.eq(id))
            .filter(exhibitors::status.eq("approved"))
            .filter((exhibitors::staff_count + staff).le(exhibitors::staff_quota))
            .filter((exhibitors::contractor_count + contractors).le(exhibitors::contractor_quota)),
    )
    .set((
        exhibitors::staff_count.eq(exhibitors::staff_count + staff),
        exhibitors::contractor_count.eq(exhibitors::contractor_count + contractors),
    ))
    .execute(conn)
    .await
    .map(|updated| updated == 1)
}

/// Gives a slot of `list` back (never below zero).
pub async fn release_slot(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    list: BadgeList,
) -> QueryResult<()> {
    let (staff, contractors) = list.one();
    diesel::update(exhibitors::table.find(id))
        .filter((exhibitors::staff_count - staff).ge(0))
        .filter((exhibitors::contractor_count - contractors).ge(0))
        .set((
            exhibitors::staff_count.eq(exhibitors::staff_count - staff),
            exhibitors::contractor_count.eq(exhibitors::contractor_count - contractors),
        ))
        .execute(conn)
        .await
        .map(drop)
}

#[derive(Debug, Default, Clone, Hash, PartialEq, Eq)]
pub struct DirectoryFilter {
    pub statuses: Vec<&'static str>,
    pub country: Option<String>,
    pub sector: Option<&'static str>,
    pub pavilion_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub q: Option<String>,
}

fn filtered(
    event_id: Uuid,
    filter: &DirectoryFilter,
) -> exhibitors::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = exhibitors::table
        .filter(exhibitors::event_id.eq(event_id))
        .into_boxed();
    if !filter.statuses.is_empty() {
        query = query.filter(exhibitors::status.eq_any(filter.statuses.clone()));
    }
    if let Some(country) = &filter.country {
        query = query.filter(exhibitors::country.eq(country.clone()));
    }
    if let Some(sector) = filter.sector {
        query = query.filter(exhibitors::sectors.contains(vec![sector.to_owned()]));
    }
    if let Some(pavilion) = filter.pavilion_id {
        query = query.filter(exhibitors::pavilion_id.eq(pavilion));
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(exhibitors::owner_id.eq(owner));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(exhibitors::search_text.like(search_key(like_pattern(q))));
    }
    query
}

/// A page of the directory in name order (ties broken by id), and how many match in all.
pub async fn directory(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    filter: &DirectoryFilter,
    page: &PageRequest<(String, Uuid)>,
) -> QueryResult<(Vec<Exhibitor>, i64)> {
    let total = filtered(event_id, filter).count().get_result(conn).await?;
    let rows = in_name_order(event_id, filter, page.after.as_ref(), page.limit + 1)
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// Up to `limit` exhibitors matching `filter` in name order (ties broken by id), after the
/// position `after`.
fn in_name_order(
    event_id: Uuid,
    filter: &DirectoryFilter,
    after: Option<&(String, Uuid)>,
    limit: i64,
) -> diesel::dsl::Select<
    exhibitors::BoxedQuery<'static, diesel::pg::Pg>,
    diesel::dsl::AsSelect<Exhibitor, diesel::pg::Pg>,
> {
    let mut query = filtered(event_id, filter)
        .select(Exhibitor::as_select())
        .order((exhibitors::sort_key, exhibitors::id))
        .limit(limit);
    if let Some((sort_key, id)) = after {
        // A row comparison, so that PostgreSQL seeks straight to the position in the index.
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("(exhibitors.sort_key, exhibitors.id) > (")
                .bind::<diesel::sql_types::Text, _>(sort_key.clone())
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(*id)
                .sql(")"),
        );
    }
    query
}

/// Up to `limit` exhibitors matching `filter` in name order after `after`, without a count
/// (the CSV export reads them page by page), each with the name of its pavilion.
pub async fn directory_export_page(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    filter: &DirectoryFilter,
    after: Option<&(String, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<(Exhibitor, Option<String>)>> {
    let rows: Vec<Exhibitor> = in_name_order(event_id, filter, after, limit)
        .load(conn)
        .await?;
    let mut ids: Vec<Uuid> = rows.iter().filter_map(|e| e.pavilion_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: HashMap<Uuid, String> = pavilions::table
        .filter(pavilions::id.eq_any(ids))
        .select((pavilions::id, pavilions::name))
        .load::<(Uuid, String)>(conn)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|e| {
            let pavilion = e.pavilion_id.and_then(|id| names.get(&id).cloned());
            (e, pavilion)
        })
        .collect())
}
