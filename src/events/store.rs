//! Queries on events.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::Event;
use crate::db::schema::events;
use crate::error::ApiResult;
use crate::pagination::PageRequest;

#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent<'a> {
    pub id: Uuid,
    pub slug: &'a str,
    pub name: &'a str,
    pub venue: &'a str,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub public_days: Vec<NaiveDate>,
    pub status: &'a str,
    pub auto_approve_public: bool,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
    /// `None` keeps the database's default.
    pub sensitive_categories: Option<Vec<String>>,
    pub vetting_categories: Option<Vec<String>>,
    pub build_up_days: Vec<NaiveDate>,
    pub tear_down_days: Vec<NaiveDate>,
    /// `BadgeRules` as JSON.
    pub badge_rules: serde_json::Value,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = events)]
pub struct EventChanges {
    pub name: Option<String>,
    pub venue: Option<String>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub public_days: Option<Vec<NaiveDate>>,
    pub status: Option<String>,
    pub auto_approve_public: Option<bool>,
    pub registration_opens_at: Option<Option<DateTime<Utc>>>,
    pub registration_closes_at: Option<Option<DateTime<Utc>>>,
    pub sensitive_categories: Option<Vec<String>>,
    pub vetting_categories: Option<Vec<String>>,
    pub build_up_days: Option<Vec<NaiveDate>>,
    pub tear_down_days: Option<Vec<NaiveDate>>,
    pub badge_rules: Option<serde_json::Value>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, event: &NewEvent<'_>) -> QueryResult<Event> {
    diesel::insert_into(events::table)
        .values(event)
        .returning(Event::as_returning())
        .get_result(conn)
        .await
}

/// Inserts the event unless one with its slug exists; returns whether it was inserted.
pub async fn insert_if_absent(
    conn: &mut AsyncPgConnection,
    event: &NewEvent<'_>,
) -> QueryResult<bool> {
    diesel::insert_into(events::table)
        .values(event)
        .on_conflict(events::slug)
        .do_nothing()
        .execute(conn)
        .await
        .map(|inserted| inserted == 1)
}

/// Re-reads the event under a share lock, inside the transaction that registers someone: the
/// retention purge locks the row for update, so a registration either commits before the purge
/// (and is purged with the rest) or waits, sees the purge and is refused.
pub async fn lock_open_for_registration(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> ApiResult<()> {
    let event: Event = events::table
        .find(event_id)
        .select(Event::as_select())
        .for_share()
        .first(conn)
        .await?;
    event.check_registration_open(Utc::now())
}

pub async fn find_by_slug(mut conn: &AsyncPgConnection, slug: &str) -> QueryResult<Event> {
    events::table
        .filter(events::slug.eq(slug))
        .select(Event::as_select())
        .first(&mut conn)
        .await
}

/// The event, its row locked until the transaction ends: changes that read the event's rules
/// and write them back do not overwrite each other.
pub async fn lock_by_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Event> {
    events::table
        .filter(events::slug.eq(slug))
        .select(Event::as_select())
        .for_update()
        .first(conn)
        .await
}

fn listed(published_only: bool) -> events::BoxedQuery<'static, diesel::pg::Pg> {
    let query = events::table.into_boxed();
    if published_only {
        query.filter(events::status.ne("draft"))
    } else {
        query
    }
}

/// A page of events in creation order; `published_only` hides drafts.
pub async fn list(
    conn: &mut AsyncPgConnection,
    published_only: bool,
    page: &PageRequest<Uuid>,
) -> QueryResult<(Vec<Event>, i64)> {
    let total = listed(published_only).count().get_result(conn).await?;
    let mut query = listed(published_only)
        .select(Event::as_select())
        .order(events::id)
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(events::id.gt(after));
    }
    Ok((query.load(conn).await?, total))
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    mut changes: EventChanges,
) -> QueryResult<Event> {
    changes.updated_at = Some(Utc::now());
    diesel::update(events::table.find(id))
        .set(changes)
        .returning(Event::as_returning())
        .get_result(conn)
        .await
}
