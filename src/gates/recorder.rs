//! Scans are decided and recorded in batches. At the gates' busiest minutes hundreds of scans a
//! second arrive; one durable write per scan would make the database, not the gates, set the
//! pace (see BENCHMARKS.md). So each request hands its scan to a lane, and the lane takes every
//! scan waiting when it is free: one pipelined round trip reads their events, the scans recorded
//! before under their `scan_id`s and their badges, the checks run in Rust, then one statement
//! moves all their badges in or out and records them all, and one commit makes them durable.
//!
//! Each batch holds at most one scan per badge and zone (and per `scan_id`): later ones wait
//! for the next batch, so scans of one badge are still judged one after the other, in order of
//! arrival. A badge's scans always go to the same lane. Presence stays atomic in the database
//! (the same conditional upsert as before), so several instances of the service can share it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::admission::{self, Standing};
use super::{DenialReason, Direction, Holder, ScanResult, Verdict};
use crate::accreditations::badges::{BadgeClaims, BadgeEnd};
use crate::accreditations::{AccreditationStatus, Category};
use crate::db::DbPool;
use crate::db::kept_prepared::KeptPrepared;
use crate::db::schema::{accreditations, badges, events, participant_photos, participants, scans};
use crate::error::{ApiError, ApiResult};
use crate::events::zones::Zone;
use crate::events::{Event, EventStatus};
use crate::metrics::scans::ScanBatchMetrics;

/// The most scans one statement records.
const MAX_BATCH: usize = 256;
/// Scans waiting per lane before requests wait to hand theirs over.
const LANE_CAPACITY: usize = 4096;

/// A scan as the handler hands it over: body checked, QR signature verified (or not).
pub struct SubmittedScan {
    pub slug: String,
    /// Organizers and admins also scan at draft events (rehearsals).
    pub sees_drafts: bool,
    /// The gate agent who scanned, or who was signed in on the device.
    pub agent_id: Option<Uuid>,
    /// The gate device that scanned, if one did.
    pub device_id: Option<Uuid>,
    pub id: Uuid,
    /// Whether `id` is the scanner's own (a retry may repeat it) rather than ours.
    pub id_chosen_by_scanner: bool,
    pub claims: Option<BadgeClaims>,
    pub gate: String,
    pub zone: Zone,
    pub direction: Direction,
    pub qr_digest: Vec<u8>,
}

struct Pending {
    scan: SubmittedScan,
    reply: oneshot::Sender<ApiResult<ScanResult>>,
}

/// Where handlers hand their scans over; see the module documentation.
pub struct ScanRecorder {
    lanes: Vec<mpsc::Sender<Pending>>,
}

impl ScanRecorder {
    /// Starts `lanes` lanes on the current runtime; they stop when the recorder is dropped.
    /// Each batch is observed in `batches` (size and time).
    pub fn start(pool: DbPool, lanes: usize, batches: ScanBatchMetrics) -> Self {
        let lanes = (0..lanes.max(1))
            .map(|_| {
                let (intake, waiting) = mpsc::channel(LANE_CAPACITY);
                tokio::spawn(run_lane(pool.clone(), waiting, batches.clone()));
                intake
            })
            .collect();
        Self { lanes }
    }

    /// Decides and records one scan, with the others waiting at the same time.
    pub async fn record(&self, scan: SubmittedScan) -> ApiResult<ScanResult> {
        let key = scan.claims.as_ref().map_or(scan.id, |claims| claims.jti);
        let lane = &self.lanes[(key.as_u128() % self.lanes.len() as u128) as usize];
        let (reply, answer) = oneshot::channel();
        let stopped = || ApiError::Unavailable(anyhow::anyhow!("the scan recorder has stopped"));
        lane.send(Pending { scan, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run_lane(pool: DbPool, mut intake: mpsc::Receiver<Pending>, batches: ScanBatchMetrics) {
    let mut waiting = VecDeque::new();
    let mut connection = None;
    loop {
        if waiting.is_empty() {
            match intake.recv().await {
                Some(pending) => waiting.push_back(pending),
                None => return,
            }
        }
        while waiting.len() < LANE_CAPACITY
            && let Ok(pending) = intake.try_recv()
        {
            waiting.push_back(pending);
        }
        let batch = take_batch(&mut waiting);
        let scans: Vec<&SubmittedScan> = batch.iter().map(|pending| &pending.scan).collect();
        let started = Instant::now();
        let answers = record_batch(&pool, &mut connection, &scans).await;
        batches.observe(scans.len(), started.elapsed());
        for (pending, answer) in batch.into_iter().zip(answers) {
            // A client that went away does not stop the others' answers.
            let _ = pending.reply.send(answer);
        }
    }
}

/// The lane's own connection, taken out of the pool for good (the pool opens another in its
/// place): it runs the same few statements thousands of times a minute, so they are planned once
/// (generic plans) rather than at each batch, and no pool check runs before each batch.
async fn lane_connection(pool: &DbPool) -> ApiResult<AsyncPgConnection> {
    let mut connection = deadpool::managed::Object::take(pool.get().await?);
    connection
        .batch_execute("SET plan_cache_mode = force_generic_plan")
        .await?;
    Ok(connection)
}

/// Takes the next batch off the front of `waiting`: no two scans of one badge in one zone, nor
/// two with one id. A scan held back holds back the later scans sharing its key, so each
/// badge's scans keep their order.
fn take_batch(waiting: &mut VecDeque<Pending>) -> Vec<Pending> {
    let mut batch = Vec::new();
    let mut held = VecDeque::new();
    let mut badges_zones = HashSet::new();
    let mut ids = HashSet::new();
    while batch.len() < MAX_BATCH
        && let Some(pending) = waiting.pop_front()
    {
        let scan = &pending.scan;
        let badge_free = scan
            .claims
            .as_ref()
            .is_none_or(|claims| badges_zones.insert((claims.jti, scan.zone)));
        let id_free = ids.insert(scan.id);
        if badge_free && id_free {
            batch.push(pending);
        } else {
            held.push_back(pending);
        }
    }
    held.append(waiting);
    *waiting = held;
    batch
}

/// One answer per scan. When the batch fails (a connection lost to a database restart, a badge
/// purged meanwhile, a deadlock with another instance), each of its scans is tried again alone,
/// on a new connection, so that one scan cannot fail the others and a restart fails none.
async fn record_batch(
    pool: &DbPool,
    connection: &mut Option<AsyncPgConnection>,
    batch: &[&SubmittedScan],
) -> Vec<ApiResult<ScanResult>> {
    let failure = match attempt(pool, connection, batch).await {
        Ok(answers) => return answers,
        Err(failure) => failure,
    };
    let mut answers = Vec::with_capacity(batch.len());
    let mut unavailable = false;
    for scan in batch {
        // A database that does not answer one scan will not answer the next: the others are
        // told at once rather than each after its own timeout.
        let answer = if unavailable {
            Err(ApiError::Unavailable(anyhow::anyhow!(
                "recording the scan failed"
            )))
        } else {
            match attempt(pool, connection, &[*scan]).await {
                Ok(mut one) => one.pop().unwrap_or_else(|| Err(failed_like(&failure))),
                Err(alone) => {
                    unavailable = matches!(alone, ApiError::Unavailable(_));
                    Err(alone)
                }
            }
        };
        answers.push(answer);
    }
    answers
}

/// How long a batch may take before the lane gives up its connection (a statement times out
/// sooner; this covers a connection that hangs).
const BATCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Decides and records `batch` on the lane's connection, opening one if needed; a failure is
/// logged here, and the connection is dropped for a new one.
async fn attempt(
    pool: &DbPool,
    connection: &mut Option<AsyncPgConnection>,
    batch: &[&SubmittedScan],
) -> ApiResult<Vec<ApiResult<ScanResult>>> {
    let recorded = async {
        let conn = match connection {
            Some(conn) => conn,
            None => connection.insert(lane_connection(pool).await?),
        };
        decide_and_record(conn, batch).await
    };
    let recorded = tokio::time::timeout(BATCH_TIMEOUT, recorded)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::Unavailable(anyhow::anyhow!(
                "a batch of scans took longer than {BATCH_TIMEOUT:?}"
            )))
        });
    recorded.map_err(|failure| {
        *connection = None;
        tracing::error!(error = %failure.log_message(), scans = batch.len(), "recording a batch of scans failed");
        failed_like(&failure)
    })
}

/// A problem of the same kind as `failure` for a scan's request (the cause is logged once).
fn failed_like(failure: &ApiError) -> ApiError {
    let cause = anyhow::anyhow!("recording the scan failed");
    match failure {
        ApiError::Unavailable(_) => ApiError::Unavailable(cause),
        _ => ApiError::Internal(cause),
    }
}

async fn decide_and_record(
    conn: &mut AsyncPgConnection,
    batch: &[&SubmittedScan],
) -> ApiResult<Vec<ApiResult<ScanResult>>> {
    // A scanner's id recorded meanwhile by another instance makes us read again (rare).
    for _ in 0..3 {
        // One round trip: the three queries are pipelined on the connection. A replay's badge
        // is among them, since a retry carries the same QR.
        let badge_ids = batch
            .iter()
            .filter_map(|scan| scan.claims.as_ref().map(|claims| claims.jti))
            .collect();
        let (events, earlier, found) = futures_util::try_join!(
            events_by_slug(conn, batch),
            earlier_scans(conn, batch),
            badges_by_id(conn, badge_ids),
        )?;
        let mut answers: Vec<Option<ApiResult<ScanResult>>> = Vec::with_capacity(batch.len());
        let mut rows = Vec::new();
        for scan in batch {
            let event = events
                .get(&scan.slug)
                .filter(|event| scan.sees_drafts || event.status() != EventStatus::Draft);
            let Some(event) = event else {
                answers.push(Some(Err(ApiError::not_found())));
                continue;
            };
            if let Some(earlier) = earlier.get(&scan.id) {
                let replay = earlier.answer_for(event, scan).map(|recorded| {
                    let holder = recorded.badge_id.and_then(|id| found.get(&id));
                    recorded.into_result(scan.id, event, holder)
                });
                answers.push(Some(replay));
                continue;
            }
            rows.push(ScanRow::decide(event, scan, &found));
            answers.push(None);
        }
        let Some(mut written) = write(conn, &rows).await? else {
            continue;
        };
        let mut rows = rows.iter();
        let unrecorded =
            || ApiError::Internal(anyhow::anyhow!("a scan of the batch was not recorded"));
        return answers
            .into_iter()
            .map(|answer| match answer {
                Some(answer) => Ok(answer),
                None => {
                    let row = rows.next().ok_or_else(unrecorded)?;
                    let recorded = written.remove(&row.scan.id).ok_or_else(unrecorded)?;
                    let holder = row.badge_id.and_then(|id| found.get(&id));
                    Ok(Ok(recorded.into_result(row.scan.id, row.event, holder)))
                }
            })
            .collect();
    }
    Err(ApiError::Unavailable(anyhow::anyhow!(
        "scan ids kept being recorded concurrently"
    )))
}

async fn events_by_slug(
    mut conn: &AsyncPgConnection,
    batch: &[&SubmittedScan],
) -> ApiResult<HashMap<String, Event>> {
    let slugs: HashSet<&str> = batch.iter().map(|scan| scan.slug.as_str()).collect();
    let found: Vec<Event> = events::table
        .filter(events::slug.eq_any(slugs))
        .select(Event::as_select())
        .load(&mut conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|event| (event.slug.clone(), event))
        .collect())
}

/// A badge with what a guard needs to recognise its holder.
#[derive(Queryable)]
struct FoundBadge {
    id: Uuid,
    event_id: Uuid,
    zones: Vec<Zone>,
    valid_days: Vec<NaiveDate>,
    number: String,
    /// Set when the badge ended (revoked, superseded by a reissue, reported lost); the
    /// accreditation may hold a newer badge.
    end_reason: Option<BadgeEnd>,
    ended_at: Option<DateTime<Utc>>,
    status: AccreditationStatus,
    category: Category,
    first_name: String,
    last_name: String,
    organization: String,
    nationality: String,
    participant_id: Uuid,
    photo: Option<Uuid>,
}

impl FoundBadge {
    fn holder(&self, event: &Event) -> Holder {
        Holder {
            name: format!("{} {}", self.first_name, self.last_name),
            organization: self.organization.clone(),
            country: self.nationality.clone(),
            category: self.category,
            badge_number: self.number.clone(),
            photo_url: self.photo.map(|_| {
                format!(
                    "/api/v1/events/{}/participants/{}/photo",
                    event.slug, self.participant_id
                )
            }),
        }
    }

    /// The verdict for this badge now, as far as it can be told without presence: `Err` is a
    /// denial, `Ok` a badge that may pass here if it is not inside already.
    fn judge(&self, event: &Event, zone: Zone) -> Result<(), DenialReason> {
        let standing = Standing {
            end_reason: self.end_reason,
            ended_at: self.ended_at,
            status: self.status,
        };
        admission::judge(
            &standing,
            &self.zones,
            &self.valid_days,
            event,
            zone,
            Utc::now(),
        )
    }
}

async fn badges_by_id(
    mut conn: &AsyncPgConnection,
    ids: Vec<Uuid>,
) -> ApiResult<HashMap<Uuid, FoundBadge>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found: Vec<FoundBadge> = badges::table
        .inner_join(
            accreditations::table
                .inner_join(participants::table.left_join(participant_photos::table)),
        )
        .filter(badges::id.eq_any(ids))
        .select((
            badges::id,
            badges::event_id,
            badges::zones,
            badges::valid_days,
            badges::number,
            badges::end_reason,
            badges::revoked_at,
            accreditations::status,
            accreditations::category,
            participants::first_name,
            participants::last_name,
            participants::organization,
            participants::nationality,
            participants::id,
            participant_photos::participant_id.nullable(),
        ))
        .load(&mut conn)
        .await?;
    Ok(found.into_iter().map(|badge| (badge.id, badge)).collect())
}

/// What was recorded for a scan.
struct Recorded {
    badge_id: Option<Uuid>,
    verdict: Verdict,
    reason: Option<DenialReason>,
}

impl Recorded {
    /// The answer; a replay's holder is as they are now.
    fn into_result(self, scan_id: Uuid, event: &Event, badge: Option<&FoundBadge>) -> ScanResult {
        ScanResult {
            scan_id,
            verdict: self.verdict,
            reason: self.reason,
            holder: badge
                .filter(|badge| badge.event_id == event.id)
                .map(|badge| badge.holder(event)),
        }
    }
}

/// A scan already recorded under a scanner's `scan_id`.
#[derive(Queryable)]
struct EarlierScan {
    id: Uuid,
    event_id: Uuid,
    badge_id: Option<Uuid>,
    qr_digest: Option<Vec<u8>>,
    gate: String,
    zone: Zone,
    direction: Direction,
    device_id: Option<Uuid>,
    verdict: Verdict,
    reason: Option<DenialReason>,
}

impl EarlierScan {
    /// The first answer, when `scan` really is a retry of this scan: a `scan_id` reused for
    /// another badge, gate, zone, direction, event or device must not borrow its verdict.
    fn answer_for(&self, event: &Event, scan: &SubmittedScan) -> ApiResult<Recorded> {
        let same = self.event_id == event.id
            && self.qr_digest.as_ref() == Some(&scan.qr_digest)
            && self.gate == scan.gate
            && self.zone == scan.zone
            && self.direction == scan.direction
            && self.device_id == scan.device_id;
        if !same {
            return Err(ApiError::Conflict {
                code: "scan_id_reused",
                detail: "This scan_id belongs to another scan; use a new one for each scan.".into(),
            });
        }
        Ok(Recorded {
            badge_id: self.badge_id,
            verdict: self.verdict,
            reason: self.reason,
        })
    }
}

/// The scans of the batch recorded before under their scanner's id.
async fn earlier_scans(
    mut conn: &AsyncPgConnection,
    batch: &[&SubmittedScan],
) -> ApiResult<HashMap<Uuid, EarlierScan>> {
    let ids: Vec<Uuid> = batch
        .iter()
        .filter(|scan| scan.id_chosen_by_scanner)
        .map(|scan| scan.id)
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found: Vec<EarlierScan> = scans::table
        .filter(scans::id.eq_any(ids))
        .select((
            scans::id,
            scans::event_id,
            scans::badge_id,
            scans::qr_digest,
            scans::gate,
            scans::zone,
            scans::direction,
            scans::device_id,
            scans::verdict,
            scans::reason,
        ))
        .load(&mut conn)
        .await?;
    Ok(found.into_iter().map(|scan| (scan.id, scan)).collect())
}

/// A scan to record: a denial decided without presence (`reason`), or a passage that presence
/// decides.
struct ScanRow<'a> {
    event: &'a Event,
    badge_id: Option<Uuid>,
    reason: Option<DenialReason>,
    scan: &'a SubmittedScan,
}

impl<'a> ScanRow<'a> {
    fn decide(
        event: &'a Event,
        scan: &'a SubmittedScan,
        found: &HashMap<Uuid, FoundBadge>,
    ) -> Self {
        let badge = scan
            .claims
            .as_ref()
            .filter(|claims| claims.evt == event.slug)
            .and_then(|claims| found.get(&claims.jti))
            .filter(|badge| badge.event_id == event.id);
        let reason = match (&scan.claims, badge) {
            (None, _) => Some(DenialReason::InvalidSignature),
            (Some(_), None) => Some(DenialReason::UnknownBadge),
            (Some(_), Some(badge)) => badge.judge(event, scan.zone).err(),
        };
        Self {
            event,
            badge_id: badge.map(|badge| badge.id),
            reason,
            scan,
        }
    }
}

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    badge_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    verdict: Verdict,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    reason: Option<DenialReason>,
}

/// Moves the badges in or out of their zones and records every scan, in one statement: an
/// entry only takes effect when the badge is not inside the zone already, so two gates scanning
/// the same badge at once cannot both let it in (anti-passback); an exit always does.
///
/// `None` when a scanner's id was recorded meanwhile (by a concurrent request on another
/// instance): the whole batch is then undone, presence changes included, to be decided again.
async fn write(
    conn: &mut AsyncPgConnection,
    rows: &[ScanRow<'_>],
) -> ApiResult<Option<HashMap<Uuid, Recorded>>> {
    if rows.is_empty() {
        return Ok(Some(HashMap::new()));
    }
    if !rows.iter().any(|row| row.scan.id_chosen_by_scanner) {
        // Our own ids are fresh UUIDv7s: nothing can take them meanwhile.
        return Ok(Some(insert(conn, rows).await?));
    }
    let lost = || ApiError::Conflict {
        code: "duplicate_scan",
        detail: "A scan_id was recorded by a concurrent request.".into(),
    };
    let written = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let written = insert(conn, rows).await?;
            if written.len() == rows.len() {
                Ok(written)
            } else {
                Err(lost())
            }
        })
        .await;
    match written {
        Ok(written) => Ok(Some(written)),
        Err(ApiError::Conflict {
            code: "duplicate_scan",
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn insert(
    conn: &mut AsyncPgConnection,
    rows: &[ScanRow<'_>],
) -> ApiResult<HashMap<Uuid, Recorded>> {
    use diesel::sql_types::{Array, Bytea, Nullable, Text, Uuid as SqlUuid};
    let column = |f: fn(&ScanRow<'_>) -> Uuid| rows.iter().map(f).collect::<Vec<_>>();
    let texts = |f: for<'r> fn(&'r ScanRow<'_>) -> &'r str| rows.iter().map(f).collect::<Vec<_>>();
    // The statement is the function `record_scans` (migration 2026-12-03-000400), kept
    // prepared: else each batch would cost a round trip more to prepare it again.
    let written: Vec<Written> = KeptPrepared(
        diesel::sql_query(
            "SELECT id, badge_id, verdict, reason \
         FROM record_scans($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind::<Array<SqlUuid>, _>(column(|row| row.scan.id))
        .bind::<Array<SqlUuid>, _>(column(|row| row.event.id))
        .bind::<Array<Nullable<SqlUuid>>, _>(
            rows.iter().map(|row| row.badge_id).collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<SqlUuid>>, _>(
            rows.iter().map(|row| row.scan.agent_id).collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<SqlUuid>>, _>(
            rows.iter()
                .map(|row| row.scan.device_id)
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(texts(|row| &row.scan.gate))
        .bind::<Array<Text>, _>(texts(|row| row.scan.zone.as_str()))
        .bind::<Array<Text>, _>(texts(|row| row.scan.direction.as_str()))
        .bind::<Array<Nullable<Text>>, _>(
            rows.iter()
                .map(|row| row.reason.map(DenialReason::as_str))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Bytea>, _>(
            rows.iter()
                .map(|row| row.scan.qr_digest.as_slice())
                .collect::<Vec<_>>(),
        ),
    )
    .load(conn)
    .await?;
    Ok(written
        .into_iter()
        .map(|w| {
            let recorded = Recorded {
                badge_id: w.badge_id,
                verdict: w.verdict,
                reason: w.reason,
            };
            (w.id, recorded)
        })
        .collect())
}
