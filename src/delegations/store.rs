//! Queries on delegations and their invitations.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::Delegation;
use crate::accreditations::AccreditationStatus;
use crate::accreditations::badges::live_badge_on;
use crate::auth::tokens::{hash_opaque, opaque_token};
use crate::db::schema::{
    accreditations, badges, delegation_invitations, delegations, participants,
};
use crate::db::search_key;
use crate::pagination::{PageRequest, like_pattern};
use crate::users::EmailAddress;

#[derive(Debug, Insertable)]
#[diesel(table_name = delegations)]
pub struct NewDelegation {
    pub id: Uuid,
    pub event_id: Uuid,
    pub country: String,
    pub name: String,
    pub kind: &'static str,
    pub protocol_level: &'static str,
    pub arrival_on: Option<NaiveDate>,
    pub departure_on: Option<NaiveDate>,
    pub member_limit: i32,
    pub lead_email: EmailAddress,
    pub lead_name: String,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = delegations)]
pub struct DelegationChanges {
    pub country: Option<String>,
    pub name: Option<String>,
    pub kind: Option<&'static str>,
    pub protocol_level: Option<&'static str>,
    pub arrival_on: Option<Option<NaiveDate>>,
    pub departure_on: Option<Option<NaiveDate>>,
    pub member_limit: Option<i32>,
    pub lead_id: Option<Option<Uuid>>,
    pub status: Option<&'static str>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewDelegation) -> QueryResult<Delegation> {
    diesel::insert_into(delegations::table)
        .values(new)
        .returning(Delegation::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    id: Uuid,
) -> QueryResult<Delegation> {
    delegations::table
        .filter(delegations::event_id.eq(event_id))
        .filter(delegations::id.eq(id))
        .select(Delegation::as_select())
        .first(conn)
        .await
}

pub async fn find_by_id(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Delegation> {
    delegations::table
        .find(id)
        .select(Delegation::as_select())
        .first(conn)
        .await
}

pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Delegation> {
    delegations::table
        .find(id)
        .select(Delegation::as_select())
        .for_update()
        .first(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    mut changes: DelegationChanges,
) -> QueryResult<Delegation> {
    changes.updated_at = Some(Utc::now());
    diesel::update(delegations::table.find(id))
        .set(changes)
        .returning(Delegation::as_returning())
        .get_result(conn)
        .await
}

/// Takes one member slot of an active delegation, atomically (see the staff quota of exhibitors).
pub async fn take_member_slot(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::update(
        delegations::table
            .filter(delegations::id.eq(id))
            .filter(delegations::status.eq("active"))
            .filter(delegations::member_count.lt(delegations::member_limit)),
    )
    .set(delegations::member_count.eq(delegations::member_count + 1))
    .execute(conn)
    .await
    .map(|updated| updated == 1)
}

pub async fn release_member_slot(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(delegations::table.find(id))
        .filter(delegations::member_count.gt(0))
        .set(delegations::member_count.eq(delegations::member_count - 1))
        .execute(conn)
        .await
        .map(drop)
}

#[derive(Debug, Default)]
pub struct DelegationFilter {
    pub country: Option<String>,
    pub kind: Option<&'static str>,
    pub status: Option<&'static str>,
    pub lead_id: Option<Uuid>,
    pub q: Option<String>,
}

fn filtered(
    event_id: Uuid,
    filter: &DelegationFilter,
) -> delegations::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = delegations::table
        .filter(delegations::event_id.eq(event_id))
        .into_boxed();
    if let Some(country) = &filter.country {
        query = query.filter(delegations::country.eq(country.clone()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(delegations::kind.eq(kind));
    }
    if let Some(status) = filter.status {
        query = query.filter(delegations::status.eq(status));
    }
    if let Some(lead) = filter.lead_id {
        query = query.filter(delegations::lead_id.eq(lead));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        query = query.filter(delegations::search_text.like(search_key(like_pattern(q))));
    }
    query
}

/// A page of delegations in creation order, and how many match in all.
pub async fn list(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    filter: &DelegationFilter,
    page: &PageRequest<Uuid>,
) -> QueryResult<(Vec<Delegation>, i64)> {
    let total = filtered(event_id, filter).count().get_result(conn).await?;
    let mut query = filtered(event_id, filter)
        .select(Delegation::as_select())
        .order(delegations::id)
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(delegations::id.gt(after));
    }
    Ok((query.load(conn).await?, total))
}

/// A delegation member as the CSV export shows them: never the identity document.
#[derive(Debug, Queryable)]
pub struct ExportedMember {
    pub participant_id: Uuid,
    pub last_name: String,
    pub first_name: String,
    pub organization: String,
    pub function: Option<String>,
    pub nationality: String,
    pub status: AccreditationStatus,
}

/// A delegation with one of its members (`None` for a delegation without any) and the
/// member's badge number.
pub type DelegationMemberRow = (Delegation, Option<ExportedMember>, Option<String>);

/// Up to `limit` rows of delegations matching `filter` joined with their members, in the order
/// of the delegation, then of the member (a delegation without members is one row, first);
/// after the position `after`, a delegation id and the member id of that row.
pub async fn members_export_page(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    filter: &DelegationFilter,
    after: Option<&(Uuid, Option<Uuid>)>,
    limit: i64,
) -> QueryResult<Vec<DelegationMemberRow>> {
    let mut query = delegations::table
        .left_join(participants::table)
        .left_join(accreditations::table.on(accreditations::participant_id.eq(participants::id)))
        .left_join(badges::table.on(live_badge_on()))
        .filter(delegations::event_id.eq(event_id))
        .filter(delegations::id.eq_any(filtered(event_id, filter).select(delegations::id)))
        .select((
            Delegation::as_select(),
            (
                participants::id,
                participants::last_name,
                participants::first_name,
                participants::organization,
                participants::function,
                participants::nationality,
                accreditations::status,
            )
                .nullable(),
            badges::number.nullable(),
        ))
        .order((delegations::id, participants::id.asc().nulls_first()))
        .limit(limit)
        .into_boxed();
    match after {
        None => {}
        // The delegation's only row (no members): on to the next delegation.
        Some((delegation, None)) => query = query.filter(delegations::id.gt(*delegation)),
        Some((delegation, Some(member))) => {
            query = query.filter(delegations::id.ge(*delegation)).filter(
                delegations::id
                    .gt(*delegation)
                    .or(participants::id.gt(*member)),
            )
        }
    }
    query.load(conn).await
}

/// Issues an invitation link for the delegation's lead, voiding any earlier one.
pub async fn issue_invitation(
    conn: &mut AsyncPgConnection,
    delegation_id: Uuid,
    ttl: Duration,
) -> QueryResult<String> {
    diesel::update(
        delegation_invitations::table
            .filter(delegation_invitations::delegation_id.eq(delegation_id))
            .filter(delegation_invitations::used_at.is_null())
            .filter(delegation_invitations::voided_at.is_null()),
    )
    .set(delegation_invitations::voided_at.eq(Some(Utc::now())))
    .execute(conn)
    .await?;
    let (token, hash) = opaque_token();
    diesel::insert_into(delegation_invitations::table)
        .values((
            delegation_invitations::id.eq(Uuid::now_v7()),
            delegation_invitations::delegation_id.eq(delegation_id),
            delegation_invitations::token_hash.eq(hash),
            delegation_invitations::expires_at.eq(Utc::now() + ttl),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = delegation_invitations, check_for_backend(diesel::pg::Pg))]
pub struct Invitation {
    pub id: Uuid,
    pub delegation_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
}

/// The invitation a token names; `lock` holds it until the transaction ends.
pub async fn find_invitation(
    conn: &mut AsyncPgConnection,
    token: &str,
    lock: bool,
) -> QueryResult<Option<Invitation>> {
    let query = delegation_invitations::table
        .filter(delegation_invitations::token_hash.eq(hash_opaque(token)))
        .select(Invitation::as_select());
    if lock {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

pub async fn mark_invitation_used(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(delegation_invitations::table.find(id))
        .set(delegation_invitations::used_at.eq(Some(Utc::now())))
        .execute(conn)
        .await
        .map(drop)
}
