//! Queries on gate devices. Each takes a connection so that callers compose them in
//! transactions (registering a device and its audit record commit together).

use chrono::{DateTime, Utc};
use diesel::dsl::{count_star, now};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{events, gate_devices};
use crate::events::zones::Zone;
use crate::pagination::PageRequest;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = gate_devices, check_for_backend(diesel::pg::Pg))]
pub struct Device {
    pub id: Uuid,
    pub event_id: Uuid,
    pub name: String,
    pub gates: Vec<String>,
    pub zones: Vec<Zone>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub enrollment_expires_at: DateTime<Utc>,
    pub enrolled_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_upload_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = gate_devices)]
pub struct NewDevice<'a> {
    pub id: Uuid,
    pub event_id: Uuid,
    pub name: &'a str,
    pub gates: &'a [String],
    pub zones: &'a [Zone],
    pub created_by: Option<Uuid>,
    pub enrollment_code_digest: Vec<u8>,
    pub enrollment_expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewDevice<'_>) -> QueryResult<Device> {
    diesel::insert_into(gate_devices::table)
        .values(new)
        .returning(Device::as_returning())
        .get_result(conn)
        .await
}

/// A page of the event's devices, oldest first (ids are UUIDv7), and how many it has.
pub async fn list(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    page: &PageRequest<Uuid>,
) -> QueryResult<(Vec<Device>, i64)> {
    let total = gate_devices::table
        .filter(gate_devices::event_id.eq(event_id))
        .select(count_star())
        .get_result(conn)
        .await?;
    let mut query = gate_devices::table
        .filter(gate_devices::event_id.eq(event_id))
        .select(Device::as_select())
        .order(gate_devices::id)
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(gate_devices::id.gt(after));
    }
    Ok((query.load(conn).await?, total))
}

/// Revokes the event's device `id` now, unless it is already; `None` when the event has no
/// such device, the device unchanged when it was revoked before.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<(Device, bool)>> {
    let revoked = diesel::update(gate_devices::table)
        .filter(gate_devices::event_id.eq(event_id))
        .filter(gate_devices::id.eq(id))
        .filter(gate_devices::revoked_at.is_null())
        .set(gate_devices::revoked_at.eq(now))
        .returning(Device::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(device) = revoked {
        return Ok(Some((device, true)));
    }
    let earlier = gate_devices::table
        .filter(gate_devices::event_id.eq(event_id))
        .filter(gate_devices::id.eq(id))
        .select(Device::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(earlier.map(|device| (device, false)))
}

/// Why an enrollment code could not be exchanged.
#[derive(Debug, PartialEq, Eq)]
pub enum EnrollmentRefused {
    Unknown,
    Used,
    Expired,
    Revoked,
}

/// Exchanges the enrollment code with digest `code_digest` for the device token with digest
/// `token_digest`, once: the update's conditions make a second exchange (or a concurrent one)
/// find nothing. Answers the device and its event's slug.
pub async fn enroll(
    conn: &mut AsyncPgConnection,
    code_digest: &[u8],
    token_digest: &[u8],
) -> QueryResult<Result<(Device, String), EnrollmentRefused>> {
    let enrolled = diesel::update(gate_devices::table)
        .filter(gate_devices::enrollment_code_digest.eq(code_digest))
        .filter(gate_devices::enrolled_at.is_null())
        .filter(gate_devices::revoked_at.is_null())
        .filter(gate_devices::enrollment_expires_at.gt(now))
        .set((
            gate_devices::enrolled_at.eq(now),
            gate_devices::token_digest.eq(token_digest),
        ))
        .returning(Device::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(device) = enrolled {
        let slug = events::table
            .find(device.event_id)
            .select(events::slug)
            .first(conn)
            .await?;
        return Ok(Ok((device, slug)));
    }
    let found = gate_devices::table
        .filter(gate_devices::enrollment_code_digest.eq(code_digest))
        .select(Device::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(Err(match found {
        None => EnrollmentRefused::Unknown,
        Some(device) if device.revoked_at.is_some() => EnrollmentRefused::Revoked,
        Some(device) if device.enrolled_at.is_some() => EnrollmentRefused::Used,
        Some(_) => EnrollmentRefused::Expired,
    }))
}

/// The enrolled device holding the token with digest `token_digest`, revoked or not, with its
/// event's slug.
pub async fn find_by_token(
    conn: &mut AsyncPgConnection,
    token_digest: &[u8],
) -> QueryResult<Option<(Device, String)>> {
    gate_devices::table
        .inner_join(events::table)
        .filter(gate_devices::token_digest.eq(token_digest))
        .select((Device::as_select(), events::slug))
        .first(conn)
        .await
        .optional()
}

/// How stale `last_seen_at` may get: written at most once a minute per device, so that a busy
/// gate's scans do not each write the device's row.
pub const SEEN_EVERY_SECONDS: i64 = 60;

/// Records that the device was seen now, unless it was within [`SEEN_EVERY_SECONDS`].
pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    let stale = Utc::now() - chrono::Duration::seconds(SEEN_EVERY_SECONDS);
    diesel::update(gate_devices::table)
        .filter(gate_devices::id.eq(id))
        .filter(
            gate_devices::last_seen_at
                .is_null()
                .or(gate_devices::last_seen_at.lt(stale)),
        )
        .set(gate_devices::last_seen_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that the device synced now (`GET …/gate-sync`), for organizers watching the gates.
pub async fn synced(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(gate_devices::table.find(id))
        .set(gate_devices::last_sync_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}
