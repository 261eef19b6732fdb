//! The rules of an upload, scan by scan: what the device could not have scanned (refused, not
//! recorded), when a `scan_id` seen before is the same scan, and the verdict at `scanned_at`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::store::{NewOfflineScan, RecordedScan, UploadBadge};
use crate::accreditations::badges::BadgeClaims;
use crate::events::Event;
use crate::events::zones::Zone;
use crate::gates::admission::{self, Standing};
use crate::gates::devices::caller::GateDevice;
use crate::gates::{DenialReason, Direction, Verdict};

/// The most scans one upload holds.
pub const MAX_SCANS: usize = 10_000;

/// How far ahead of the server's clock a device's clock may be.
pub const CLOCK_TOLERANCE: Duration = Duration::minutes(2);

/// What names the badge: its QR, or the number a guard typed.
pub enum BadgeSource {
    /// `claims` when the signature verified; the digest tells a retry from another scan.
    Qr {
        claims: Option<BadgeClaims>,
        digest: Vec<u8>,
    },
    Number(String),
}

/// One scan of an upload, its fields checked.
pub struct UploadedScan {
    pub id: Uuid,
    pub source: BadgeSource,
    pub gate: String,
    pub zone: Zone,
    pub direction: Direction,
    /// To the microsecond, as the database keeps it.
    pub scanned_at: DateTime<Utc>,
    pub offline_verdict: Verdict,
}

/// Why a scan of an upload is refused: not recorded, the others are.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub code: &'static str,
    pub detail: String,
}

/// The event's badges an upload names, by id and by number.
pub struct Badges {
    by_id: HashMap<Uuid, UploadBadge>,
    ids_by_number: HashMap<String, Uuid>,
}

impl Badges {
    pub fn new(found: Vec<UploadBadge>) -> Self {
        let ids_by_number = found
            .iter()
            .map(|badge| (badge.number.clone(), badge.id))
            .collect();
        let by_id = found.into_iter().map(|badge| (badge.id, badge)).collect();
        Self {
            by_id,
            ids_by_number,
        }
    }
}

impl UploadedScan {
    /// A scan the device could not have made: before it was enrolled, ahead of the clock, or at
    /// a gate or zone it was not registered for.
    pub fn refusal(&self, device: &GateDevice, now: DateTime<Utc>) -> Option<Refusal> {
        if self.scanned_at < device.enrolled_at {
            return Some(Refusal {
                code: "scanned_before_enrollment",
                detail: format!(
                    "This device was enrolled at {}, after this scan's time.",
                    device.enrolled_at.to_rfc3339()
                ),
            });
        }
        if self.scanned_at > now + CLOCK_TOLERANCE {
            return Some(Refusal {
                code: "scanned_in_future",
                detail: "This scan's time is more than two minutes ahead of the server's clock."
                    .into(),
            });
        }
        let outside = device
            .check_gate(&self.gate)
            .and_then(|()| device.check_zone(self.zone))
            .err()?;
        Some(Refusal {
            code: outside.code(),
            detail: outside.to_string(),
        })
    }

    pub fn qr_digest(&self) -> Option<&[u8]> {
        match &self.source {
            BadgeSource::Qr { digest, .. } => Some(digest),
            BadgeSource::Number(_) => None,
        }
    }

    pub fn entered_number(&self) -> Option<&str> {
        match &self.source {
            BadgeSource::Qr { .. } => None,
            BadgeSource::Number(number) => Some(number),
        }
    }

    /// Whether `recorded` is this very scan (a re-upload), not another one under the same id.
    pub fn is_recorded_as(&self, recorded: &RecordedScan, device: &GateDevice) -> bool {
        recorded.event_id == device.event_id
            && recorded.device_id == Some(device.id)
            && recorded.qr_digest.as_deref() == self.qr_digest()
            && recorded.entered_number.as_deref() == self.entered_number()
            && recorded.gate == self.gate
            && recorded.zone == self.zone
            && recorded.direction == self.direction
            && recorded.scanned_at == self.scanned_at
            && recorded.offline_verdict == Some(self.offline_verdict)
    }

    /// Whether `other`, of the same upload and id, is the same scan sent twice.
    pub fn is_same_as(&self, other: &UploadedScan) -> bool {
        self.qr_digest() == other.qr_digest()
            && self.entered_number() == other.entered_number()
            && self.gate == other.gate
            && self.zone == other.zone
            && self.direction == other.direction
            && self.scanned_at == other.scanned_at
            && self.offline_verdict == other.offline_verdict
    }

    /// The scan judged (see [`Self::judge`]), as the upload records it.
    pub fn to_record(&self, event: &Event, badges: &Badges) -> NewOfflineScan<'_> {
        let (badge_id, reason) = self.judge(event, badges);
        NewOfflineScan {
            id: self.id,
            badge_id,
            reason,
            qr_digest: self.qr_digest(),
            entered_number: self.entered_number(),
            gate: &self.gate,
            zone: self.zone,
            direction: self.direction,
            scanned_at: self.scanned_at,
            offline_verdict: self.offline_verdict,
        }
    }

    /// The badge the scan names, and the verdict at `scanned_at` as far as it can be told
    /// without presence (`None`: a passage, which presence decides). A QR is judged by the
    /// days and zones it signs, a typed number by its badge's.
    fn judge(&self, event: &Event, badges: &Badges) -> (Option<Uuid>, Option<DenialReason>) {
        let (badge, zones, days) = match &self.source {
            BadgeSource::Qr { claims: None, .. } => {
                return (None, Some(DenialReason::InvalidSignature));
            }
            BadgeSource::Qr {
                claims: Some(claims),
                ..
            } => {
                let badge = badges
                    .by_id
                    .get(&claims.jti)
                    .filter(|_| claims.evt == event.slug);
                (badge, &claims.zones, &claims.days)
            }
            BadgeSource::Number(number) => {
                let badge = badges
                    .ids_by_number
                    .get(number)
                    .and_then(|id| badges.by_id.get(id));
                match badge {
                    Some(badge) => (Some(badge), &badge.zones, &badge.valid_days),
                    None => return (None, Some(DenialReason::UnknownBadge)),
                }
            }
        };
        let Some(badge) = badge.filter(|badge| badge.event_id == event.id) else {
            return (None, Some(DenialReason::UnknownBadge));
        };
        let standing = Standing {
            end_reason: badge.end_reason,
            ended_at: badge.ended_at,
            status: badge.status,
        };
        let verdict = admission::judge(&standing, zones, days, event, self.zone, self.scanned_at);
        (Some(badge.id), verdict.err())
    }
}
