//! One page of the feed: the rule that turns a cursor into badges to keep, badges to drop and
//! the next cursor.
//!
//! A first sync notes the horizon `h0` before reading its first page, pages through the live
//! badges by id, then follows the log from `h0`: every change its pages may have missed was
//! written by a transaction its first page did not see, whose id is therefore at least `h0`.
//! A change seen twice (in a page of badges and again in the log) is harmless, since each one
//! is answered with the badge as it stands now.

use std::collections::HashSet;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::cursor::{LogPosition, SyncCursor, invalid_cursor};
use super::store::{self, BadgeState};
use super::{EndReason, EndedBadge, SyncedBadge};
use crate::accreditations::badges::BadgeEnd;
use crate::accreditations::{AccreditationStatus, VettingState};
use crate::error::ApiResult;
use crate::events::Event;
use crate::events::zones::Zone;

/// Where a badge stands for a gate.
enum Standing {
    Opens,
    Ended(EndReason, chrono::DateTime<Utc>),
}

impl BadgeState {
    /// As the gates judge it (`recorder.rs`): a badge opens while it has not ended and its
    /// accreditation is approved (and, when vetted, cleared).
    fn standing(&self) -> Standing {
        let refused = self.vetting_state == Some(VettingState::Refused);
        if let (Some(at), Some(end)) = (self.ended_at, self.end_reason) {
            let reason = match end {
                BadgeEnd::Revoked if refused => EndReason::VettingRefused,
                BadgeEnd::Revoked => EndReason::Revoked,
                BadgeEnd::Superseded => EndReason::Superseded,
                BadgeEnd::ReportedLost => EndReason::ReportedLost,
            };
            return Standing::Ended(reason, at);
        }
        let cleared = self
            .vetting_state
            .is_none_or(|state| state == VettingState::Cleared);
        if self.status == AccreditationStatus::Approved && cleared {
            return Standing::Opens;
        }
        // A live badge of an accreditation no longer approved (or cleared) opens nothing
        // either: the decision's time stands for the end's.
        let reason = if refused {
            EndReason::VettingRefused
        } else {
            EndReason::Revoked
        };
        Standing::Ended(reason, self.decided_at.unwrap_or_else(Utc::now))
    }

    /// Whether the device may let this badge in (its photo route answers only for those).
    pub fn opens(&self) -> bool {
        matches!(self.standing(), Standing::Opens)
    }

    pub fn photo_url(&self, event_slug: &str) -> Option<String> {
        self.photo_sha256
            .as_ref()
            .map(|_| format!("/api/v1/events/{event_slug}/gate-sync/photos/{}", self.id))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

pub struct FeedPage {
    pub badges: Vec<SyncedBadge>,
    pub ends: Vec<EndedBadge>,
    pub next: SyncCursor,
    pub more: bool,
    /// Changes committed after the horizon wait for an older transaction to finish: asking
    /// again in a moment gets them.
    pub held_back: bool,
}

/// The page after `cursor` (a first sync without one) of at most `limit` badges and ends, for
/// a device of `event` checking `zones`.
pub async fn page(
    conn: &mut AsyncPgConnection,
    event: &Event,
    zones: &[Zone],
    cursor: Option<SyncCursor>,
    limit: usize,
) -> ApiResult<FeedPage> {
    let horizon = store::horizon(conn).await?;
    let cursor = cursor.unwrap_or(SyncCursor::Snapshot {
        after: None,
        then: LogPosition {
            xact: horizon,
            seq: 0,
        },
    });
    if cursor.log_position().xact > horizon {
        return Err(invalid_cursor());
    }
    let fetch = |n: usize| i64::try_from(n + 1).unwrap_or(i64::MAX);
    let mut states = Vec::new();
    let from = match cursor {
        SyncCursor::Snapshot { after, then } => {
            states = store::live_badges(conn, event.id, zones, after, fetch(limit)).await?;
            if states.len() > limit {
                states.truncate(limit);
                let next = SyncCursor::Snapshot {
                    after: states.last().map(|badge| badge.id),
                    then,
                };
                return Ok(assemble(event, states, next, true, false));
            }
            then
        }
        SyncCursor::Log(at) => at,
    };
    let room = limit - states.len();
    if room == 0 {
        return Ok(assemble(event, states, SyncCursor::Log(from), true, false));
    }
    let mut changes = store::changes(conn, event.id, zones, from, horizon, fetch(room)).await?;
    let more = changes.len() > room;
    changes.truncate(room);
    let next = match changes.last() {
        Some((at, _)) if more => *at,
        // Everything below the horizon is read: continue from it.
        _ => from.max(LogPosition {
            xact: horizon,
            seq: 0,
        }),
    };
    let held_back = !more && store::held_back(conn, event.id, zones, next).await?;
    let mut seen: HashSet<Uuid> = states.iter().map(|badge| badge.id).collect();
    let changed: Vec<Uuid> = changes
        .into_iter()
        .map(|(_, badge)| badge)
        .filter(|badge| seen.insert(*badge))
        .collect();
    states.extend(store::badges_now(conn, &changed).await?);
    Ok(assemble(
        event,
        states,
        SyncCursor::Log(next),
        more,
        held_back,
    ))
}

fn assemble(
    event: &Event,
    states: Vec<BadgeState>,
    next: SyncCursor,
    more: bool,
    held_back: bool,
) -> FeedPage {
    let mut badges = Vec::new();
    let mut ends = Vec::new();
    for state in states {
        match state.standing() {
            Standing::Ended(reason, at) => ends.push(EndedBadge {
                badge_id: state.id,
                number: state.number,
                reason,
                at,
            }),
            Standing::Opens => badges.push(SyncedBadge {
                badge_id: state.id,
                photo_url: state.photo_url(&event.slug),
                photo_digest: state.photo_sha256.as_deref().map(hex),
                changed_at: [Some(state.holder_changed_at), state.photo_changed_at]
                    .into_iter()
                    .flatten()
                    .fold(state.issued_at, |latest, at| latest.max(at)),
                name: format!("{} {}", state.first_name, state.last_name),
                zone_days: event.zone_days_of(&state.zones),
                number: state.number,
                organization: state.organization,
                country: state.nationality,
                category: state.category,
                zones: state.zones,
                days: state.valid_days,
            }),
        }
    }
    FeedPage {
        badges,
        ends,
        next,
        more,
        held_back,
    }
}
