//! Gate devices: scanners that organizers register for one event, its gates and zones. A
//! device gets a one-time enrollment code at registration and exchanges it once for a
//! long-lived device token (`bxdev_…`), its bearer token from then on; organizers revoke it at
//! once. The token opens only the event's gate routes (`caller.rs`), and the scans a device
//! records carry it, with the gate agent signed in on it if any.

pub mod caller;
pub mod routes;
pub mod store;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Where a device stands, derived from its times (never stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Registered; its enrollment code can still be used.
    AwaitingEnrollment,
    /// Its enrollment code expired unused: register the device again.
    EnrollmentExpired,
    /// Enrolled: its token scans.
    Active,
    /// Revoked: its token and its code are refused.
    Revoked,
}

impl DeviceState {
    pub fn of(device: &store::Device, now: DateTime<Utc>) -> Self {
        match (device.revoked_at, device.enrolled_at) {
            (Some(_), _) => Self::Revoked,
            (None, Some(_)) => Self::Active,
            (None, None) if device.enrollment_expires_at > now => Self::AwaitingEnrollment,
            (None, None) => Self::EnrollmentExpired,
        }
    }
}
