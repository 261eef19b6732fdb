//! Queries on badge overrides.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{BadgeOverride, OverrideChange};
use crate::db::schema::badge_overrides;

pub async fn find(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
) -> QueryResult<Option<BadgeOverride>> {
    badge_overrides::table
        .find(accreditation_id)
        .select(BadgeOverride::as_select())
        .first(conn)
        .await
        .optional()
}

/// The overrides of these accreditations, in one query.
pub async fn of_accreditations(
    mut conn: &AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, BadgeOverride>> {
    let found: Vec<BadgeOverride> = badge_overrides::table
        .filter(badge_overrides::accreditation_id.eq_any(ids))
        .select(BadgeOverride::as_select())
        .load(&mut conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|found| (found.accreditation_id, found))
        .collect())
}

/// Sets the accreditation's override, replacing the one it had.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
    change: &OverrideChange,
    set_by: Uuid,
) -> QueryResult<BadgeOverride> {
    diesel::insert_into(badge_overrides::table)
        .values((
            badge_overrides::accreditation_id.eq(accreditation_id),
            badge_overrides::add_zones.eq(&change.add_zones),
            badge_overrides::remove_zones.eq(&change.remove_zones),
            badge_overrides::add_days.eq(&change.add_days),
            badge_overrides::remove_days.eq(&change.remove_days),
            badge_overrides::reason.eq(&change.reason),
            badge_overrides::set_by.eq(set_by),
        ))
        .on_conflict(badge_overrides::accreditation_id)
        .do_update()
        .set((
            badge_overrides::add_zones.eq(excluded(badge_overrides::add_zones)),
            badge_overrides::remove_zones.eq(excluded(badge_overrides::remove_zones)),
            badge_overrides::add_days.eq(excluded(badge_overrides::add_days)),
            badge_overrides::remove_days.eq(excluded(badge_overrides::remove_days)),
            badge_overrides::reason.eq(excluded(badge_overrides::reason)),
            badge_overrides::set_by.eq(excluded(badge_overrides::set_by)),
            badge_overrides::set_at.eq(diesel::dsl::now),
        ))
        .returning(BadgeOverride::as_returning())
        .get_result(conn)
        .await
}

/// Removes the accreditation's override: the badge rules alone apply again.
pub async fn clear(conn: &mut AsyncPgConnection, accreditation_id: Uuid) -> QueryResult<usize> {
    diesel::delete(badge_overrides::table.find(accreditation_id))
        .execute(conn)
        .await
}
