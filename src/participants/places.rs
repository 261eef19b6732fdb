//! The places of a list: an exhibitor's staff and contractor quotas, a delegation's member limit. They are
//! counted in the exhibitor's and the delegation's rows, taken with a conditional `UPDATE` and
//! given back when a person is withdrawn, rejected or revoked.

use diesel_async::AsyncPgConnection;

use super::store::Group;
use crate::delegations::store as delegations;
use crate::error::ApiResult;
use crate::exhibitors::BadgeList;
use crate::exhibitors::store as exhibitors;

/// Takes a place, atomically in the database; `false` when the list is full.
pub async fn take_place(conn: &mut AsyncPgConnection, group: Group) -> ApiResult<bool> {
    Ok(match group {
        Group::Exhibitor(id) => exhibitors::take_slot(conn, id, BadgeList::Staff).await?,
        Group::Contractors(id) => exhibitors::take_slot(conn, id, BadgeList::Contractors).await?,
        Group::Delegation(id) => delegations::take_member_slot(conn, id).await?,
        Group::Visitor(_) | Group::Office(_) => true,
    })
}

/// Gives a place of `group`'s list back: a person withdrawn, rejected or revoked no longer
/// counts against the exhibitor's quota or the delegation's limit.
pub async fn free_place(conn: &mut AsyncPgConnection, group: Group) -> ApiResult<()> {
    match group {
        Group::Exhibitor(id) => exhibitors::release_slot(conn, id, BadgeList::Staff).await?,
        Group::Contractors(id) => {
            exhibitors::release_slot(conn, id, BadgeList::Contractors).await?
        }
        Group::Delegation(id) => delegations::release_member_slot(conn, id).await?,
        Group::Visitor(_) | Group::Office(_) => {}
    }
    Ok(())
}

/// Gives back a place for each of `groups` (a batch of rejections), in the order of the rows
/// they update: two batches freeing places of the same exhibitors and delegations then lock
/// those rows in the same order and never wait for each other.
pub async fn free_places(conn: &mut AsyncPgConnection, mut groups: Vec<Group>) -> ApiResult<()> {
    groups.sort_by_key(|group| match *group {
        Group::Exhibitor(id) | Group::Contractors(id) => (0, id),
        Group::Delegation(id) => (1, id),
        Group::Visitor(id) | Group::Office(id) => (2, id),
    });
    for group in groups {
        free_place(conn, group).await?;
    }
    Ok(())
}
