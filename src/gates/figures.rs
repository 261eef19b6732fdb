//! The figures of an event for the accreditation office (`GET …/stats`). Counting them reads
//! the whole event (1.6 s at 130,000 accreditations), so each instance keeps them a short while
//! (`gates.stats_fresh_ms`): the first request counts and those arriving meanwhile await that
//! count instead of counting again.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::store;
use crate::accreditations::VettingState;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Count {
    /// What is counted (a status, a category, a country, a gate …).
    pub key: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusByCategory {
    pub status: String,
    pub category: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VettingByCategory {
    pub vetting_state: VettingState,
    pub category: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayCount {
    pub day: NaiveDate,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventStats {
    pub accreditations: Vec<StatusByCategory>,
    /// Accreditations by vetting state and category, for the categories the event vets.
    pub vetting: Vec<VettingByCategory>,
    /// Accreditations by the participant's nationality.
    pub accreditations_by_country: Vec<Count>,
    pub exhibitors_by_status: Vec<Count>,
    pub delegations_by_status: Vec<Count>,
    /// Allowed entries per day (UTC, which is Bamako time), offline ones on the day they were
    /// made.
    pub entries_per_day: Vec<DayCount>,
    pub entries_per_gate: Vec<Count>,
    /// Badges whose last allowed scan was an entry.
    pub inside_now: i64,
    /// Scans gate devices made offline and uploaded.
    pub offline_scans: i64,
    /// Offline scans let in by the device that the server refuses at their time
    /// (`GET …/gate-alerts`).
    pub gate_alerts: i64,
}

fn counts(rows: Vec<(String, i64)>) -> Vec<Count> {
    rows.into_iter()
        .map(|(key, count)| Count { key, count })
        .collect()
}

/// Each event's figures, counted at most once per freshness period by this instance.
pub struct StatsCache {
    recent: moka::future::Cache<Uuid, Arc<EventStats>>,
}

impl StatsCache {
    pub fn new(fresh: Duration) -> Self {
        Self {
            recent: moka::future::Cache::builder()
                .time_to_live(fresh)
                // Events are few; this bounds the memory if an organizer walks many.
                .max_capacity(256)
                .build(),
        }
    }

    /// The figures of the event `event_id`, at most `gates.stats_fresh_ms` old.
    pub async fn get(
        &self,
        conn: &AsyncPgConnection,
        event_id: Uuid,
    ) -> ApiResult<Arc<EventStats>> {
        self.recent
            .try_get_with(event_id, async {
                count(conn, event_id).await.map(Arc::new)
            })
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("counting the event's figures: {e}")))
    }
}

async fn count(conn: &AsyncPgConnection, event_id: Uuid) -> QueryResult<EventStats> {
    // Sent together on the connection: one round trip rather than ten.
    let (
        accreditations_by,
        vetting_by,
        by_country,
        exhibitors_by_status,
        delegations_by_status,
        per_day,
        per_gate,
        inside_now,
        (offline_scans, gate_alerts),
    ) = futures_util::try_join!(
        store::accreditations_by_status_and_category(conn, event_id),
        store::accreditations_by_vetting_state_and_category(conn, event_id),
        store::accreditations_by_nationality(conn, event_id),
        store::exhibitors_by_status(conn, event_id),
        store::delegations_by_status(conn, event_id),
        store::entries_per_day(conn, event_id),
        store::entries_per_gate(conn, event_id),
        store::inside_now(conn, event_id),
        store::offline_scans_and_alerts(conn, event_id),
    )?;
    Ok(EventStats {
        accreditations: accreditations_by
            .into_iter()
            .map(|(status, category, count)| StatusByCategory {
                status,
                category,
                count,
            })
            .collect(),
        vetting: vetting_by
            .into_iter()
            .map(|(vetting_state, category, count)| VettingByCategory {
                vetting_state,
                category,
                count,
            })
            .collect(),
        accreditations_by_country: counts(by_country),
        exhibitors_by_status: counts(exhibitors_by_status),
        delegations_by_status: counts(delegations_by_status),
        entries_per_day: per_day
            .into_iter()
            .map(|(day, count)| DayCount { day, count })
            .collect(),
        entries_per_gate: counts(per_gate),
        inside_now,
        offline_scans,
        gate_alerts,
    })
}
