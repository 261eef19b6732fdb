//! Reading the audit trail: filtered, newest first, a page at a time.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::actions::AuditAction;
use crate::db::schema::{audit_records, events};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = audit_records, check_for_backend(diesel::pg::Pg))]
pub struct AuditRecord {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    /// Text, not [`AuditAction`]: one record of an action this build does not know must not
    /// make the whole trail unreadable.
    pub action: String,
    pub target_type: String,
    pub target_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    pub details: serde_json::Value,
    pub client_ip: Option<String>,
}

/// A record and the slug of the event it is about.
pub type AuditRow = (AuditRecord, Option<String>);

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only records about an event (what organizers may read).
    pub events_only: bool,
    pub actor_id: Option<Uuid>,
    pub action: Option<AuditAction>,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    /// The event's slug.
    pub event: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Where a page starts: after the record at this time with this id (newest first).
pub type AuditKey = (DateTime<Utc>, Uuid);

type Joined = diesel::dsl::LeftJoin<audit_records::table, events::table>;

fn filtered<'a>(filter: &AuditFilter) -> diesel::dsl::IntoBoxed<'a, Joined, diesel::pg::Pg> {
    let mut query = audit_records::table.left_join(events::table).into_boxed();
    if filter.events_only {
        query = query.filter(audit_records::event_id.is_not_null());
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(audit_records::actor_id.eq(actor));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_records::action.eq(action.as_str()));
    }
    if let Some(kind) = filter.target_type.clone() {
        query = query.filter(audit_records::target_type.eq(kind));
    }
    if let Some(target) = filter.target_id {
        query = query.filter(audit_records::target_id.eq(target));
    }
    if let Some(slug) = filter.event.clone() {
        query = query.filter(events::slug.eq(slug));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_records::created_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_records::created_at.lt(to));
    }
    query
}

/// Up to `limit` records after `after`, newest first.
pub async fn page(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    after: Option<&AuditKey>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let mut query = filtered(filter)
        .select((AuditRecord::as_select(), events::slug.nullable()))
        .order((audit_records::created_at.desc(), audit_records::id.desc()))
        .limit(limit);
    if let Some((at, id)) = after {
        query = query.filter(
            audit_records::created_at
                .lt(*at)
                .or(audit_records::created_at
                    .eq(*at)
                    .and(audit_records::id.lt(*id))),
        );
    }
    query.load(conn).await
}

pub async fn count(conn: &mut AsyncPgConnection, filter: &AuditFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn).await
}
