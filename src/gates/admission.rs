//! The rules that let a badge through a gate, as far as they can be told without presence
//! (anti-passback is the database's, see `recorder.rs` and `offline.rs`): the badge's end, its
//! accreditation, its days and zones and the event's zone days, all judged at one moment. The
//! online recorder judges at the time of arrival; an offline upload at each scan's `scanned_at`,
//! so that a badge that ended after the scan was still good then.

use chrono::{DateTime, NaiveDate, Utc};

use super::DenialReason;
use crate::accreditations::AccreditationStatus;
use crate::accreditations::badges::BadgeEnd;
use crate::events::Event;
use crate::events::zones::Zone;

/// A badge's standing: what the rules read of it besides its days and zones.
#[derive(Debug, Clone)]
pub struct Standing {
    /// Set when the badge ended (revoked, superseded by a reissue, reported lost), with
    /// `ended_at`; the accreditation may hold a newer badge.
    pub end_reason: Option<BadgeEnd>,
    pub ended_at: Option<DateTime<Utc>>,
    pub status: AccreditationStatus,
}

impl Standing {
    /// Whether the badge had ended by `at`. An end without a time predates this rule's times
    /// and counts as always.
    fn ended_by(&self, at: DateTime<Utc>) -> Option<BadgeEnd> {
        self.end_reason
            .filter(|_| self.ended_at.is_none_or(|ended| ended <= at))
    }
}

/// The verdict at `at` for a badge opening `zones` on `days` (signed in its QR, or its row's
/// for a number typed by a guard): `Err` is a denial, `Ok` a badge that may pass into `zone` if
/// it is not inside already.
pub fn judge(
    standing: &Standing,
    zones: &[Zone],
    days: &[NaiveDate],
    event: &Event,
    zone: Zone,
    at: DateTime<Utc>,
) -> Result<(), DenialReason> {
    if let Some(end) = standing.ended_by(at) {
        return Err(match end {
            BadgeEnd::Revoked => DenialReason::Revoked,
            BadgeEnd::Superseded => DenialReason::Superseded,
            BadgeEnd::ReportedLost => DenialReason::ReportedLost,
        });
    }
    match standing.status {
        AccreditationStatus::Approved => {}
        // Revoked after `at`: its badge's end, later than `at`, says so.
        AccreditationStatus::Revoked if standing.end_reason.is_some() => {}
        AccreditationStatus::Revoked => return Err(DenialReason::Revoked),
        _ => return Err(DenialReason::UnknownBadge),
    }
    // Africa/Bamako is UTC all year: the UTC date is the local one.
    let day = at.date_naive();
    if !days.contains(&day) {
        return Err(DenialReason::NotValidToday);
    }
    if !zones.contains(&zone) {
        return Err(DenialReason::ZoneNotAllowed);
    }
    if !event.zone_open_on(zone, day) {
        return Err(DenialReason::NotValidToday);
    }
    Ok(())
}
