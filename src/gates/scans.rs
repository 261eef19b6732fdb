//! `POST /api/v1/events/{event}/scans`: a gate agent scans a badge and gets allowed or denied
//! with the reason, in milliseconds. The QR's signature is checked first (no database needed),
//! then the badge's current state — a badge revoked after printing is refused although its
//! signature is valid — then the day, the zone and anti-passback. Every scan is recorded once:
//! a retry with the same `scan_id` returns the first answer.

use actix_web::{post, web};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accreditations::badges::{BadgeClaims, Zone};
use crate::accreditations::{AccreditationStatus, Category};
use crate::app::AppState;
use crate::auth::extract::{GateAgent, MaybeUser, Require};
use crate::db::schema::{accreditations, badges, participant_photos, participants, scans};
use crate::error::{ApiError, ApiResult, Problem};
use crate::events::Event;
use crate::events::routes::visible_event;
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    Denied,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DenialReason {
    InvalidSignature,
    UnknownBadge,
    Revoked,
    NotValidToday,
    ZoneNotAllowed,
    AlreadyInside,
}

impl DenialReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::InvalidSignature => "invalid_signature",
            Self::UnknownBadge => "unknown_badge",
            Self::Revoked => "revoked",
            Self::NotValidToday => "not_valid_today",
            Self::ZoneNotAllowed => "zone_not_allowed",
            Self::AlreadyInside => "already_inside",
        }
    }

    fn from_db(raw: &str) -> Option<Self> {
        [
            Self::InvalidSignature,
            Self::UnknownBadge,
            Self::Revoked,
            Self::NotValidToday,
            Self::ZoneNotAllowed,
            Self::AlreadyInside,
        ]
        .into_iter()
        .find(|r| r.as_str() == raw)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The QR code's content: the badge's compact JWS.
    qr: String,
    #[schema(example = "north-1")]
    gate: String,
    zone: Zone,
    direction: Direction,
    /// Chosen by the scanner; a retry with the same id is answered from the first scan.
    scan_id: Option<Uuid>,
}

/// The minimum a guard needs to recognise the holder.
#[derive(Debug, Serialize, ToSchema)]
pub struct Holder {
    pub name: String,
    pub organization: String,
    pub country: String,
    pub category: Category,
    pub badge_number: String,
    pub photo_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanResult {
    pub scan_id: Uuid,
    pub verdict: Verdict,
    pub reason: Option<DenialReason>,
    pub holder: Option<Holder>,
}

type BadgeRow = (
    Uuid,
    Vec<String>,
    Vec<chrono::NaiveDate>,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Uuid,
);

async fn badge_of(
    conn: &mut AsyncPgConnection,
    event: &Event,
    badge_id: Uuid,
) -> ApiResult<Option<(BadgeRow, bool)>> {
    let row: Option<(BadgeRow, Option<Uuid>)> = badges::table
        .inner_join(
            accreditations::table
                .inner_join(participants::table.left_join(participant_photos::table)),
        )
        .filter(badges::id.eq(badge_id))
        .filter(badges::event_id.eq(event.id))
        .select((
            (
                badges::id,
                badges::zones,
                badges::valid_days,
                badges::number,
                accreditations::status,
                accreditations::category,
                participants::first_name,
                participants::last_name,
                participants::organization,
                participants::nationality,
                participants::id,
            ),
            participant_photos::participant_id.nullable(),
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(row, photo)| (row, photo.is_some())))
}

fn holder(event: &Event, (row, has_photo): &(BadgeRow, bool)) -> Holder {
    Holder {
        name: format!("{} {}", row.6, row.7),
        organization: row.8.clone(),
        country: row.9.clone(),
        category: Category::from_db(&row.5),
        badge_number: row.3.clone(),
        photo_url: has_photo.then(|| {
            format!(
                "/api/v1/events/{}/participants/{}/photo",
                event.slug, row.10
            )
        }),
    }
}

/// The verdict for a badge whose signature is valid, as far as it can be told without presence:
/// `Err` is a denial, `Ok` a badge that may pass here today if it is not inside already.
fn judge(
    event: &Event,
    found: &Option<(BadgeRow, bool)>,
    zone: Zone,
) -> Result<Uuid, DenialReason> {
    let Some((row, _)) = found else {
        return Err(DenialReason::UnknownBadge);
    };
    match AccreditationStatus::from_db(&row.4) {
        AccreditationStatus::Approved => {}
        AccreditationStatus::Revoked => return Err(DenialReason::Revoked),
        _ => return Err(DenialReason::UnknownBadge),
    }
    // Africa/Bamako is UTC all year: the UTC date is the local one.
    let today = Utc::now().date_naive();
    if !row.2.contains(&today) {
        return Err(DenialReason::NotValidToday);
    }
    if !row.1.iter().any(|z| z == zone.as_str()) {
        return Err(DenialReason::ZoneNotAllowed);
    }
    if !event.zone_open_on(zone, today) {
        return Err(DenialReason::NotValidToday);
    }
    Ok(row.0)
}

/// A scan as it is recorded.
struct NewScan<'a> {
    id: Uuid,
    event_id: Uuid,
    agent_id: Uuid,
    gate: &'a str,
    zone: Zone,
    direction: Direction,
    qr_digest: &'a [u8],
}

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = diesel::sql_types::Text)]
    verdict: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    reason: Option<String>,
}

/// Records a denial decided without presence; `None` when the scan id was taken meanwhile.
async fn record_denial(
    conn: &mut AsyncPgConnection,
    new_scan: &NewScan<'_>,
    badge_id: Option<Uuid>,
    reason: DenialReason,
) -> ApiResult<Option<(String, Option<String>)>> {
    Ok(diesel::insert_into(scans::table)
        .values((
            scans::id.eq(new_scan.id),
            scans::event_id.eq(new_scan.event_id),
            scans::badge_id.eq(badge_id),
            scans::agent_id.eq(new_scan.agent_id),
            scans::gate.eq(new_scan.gate),
            scans::zone.eq(new_scan.zone.as_str()),
            scans::direction.eq(new_scan.direction.as_str()),
            scans::verdict.eq("denied"),
            scans::reason.eq(reason.as_str()),
            scans::qr_digest.eq(new_scan.qr_digest),
        ))
        .on_conflict(scans::id)
        .do_nothing()
        .returning((scans::verdict, scans::reason))
        .get_result(conn)
        .await
        .optional()?)
}

/// Moves the badge in or out of the zone and records the scan, in one statement: an entry only
/// takes effect when the badge is not inside the zone already, so two gates scanning the same
/// badge at once cannot both let it in (anti-passback); an exit always does. `None` when the
/// scan id was taken meanwhile.
async fn record_passage(
    conn: &mut AsyncPgConnection,
    new_scan: &NewScan<'_>,
    badge_id: Uuid,
) -> ApiResult<Option<(String, Option<String>)>> {
    use diesel::sql_types::{Bool, Bytea, Text, Uuid as SqlUuid};
    let written: Vec<Written> = diesel::sql_query(
        "WITH presence AS ( \
             INSERT INTO badge_presence (badge_id, zone, inside) VALUES ($1, $2, $3) \
             ON CONFLICT (badge_id, zone) DO UPDATE \
                 SET inside = EXCLUDED.inside, updated_at = now() \
                 WHERE NOT badge_presence.inside OR NOT EXCLUDED.inside \
             RETURNING 1), \
         passed AS (SELECT EXISTS (SELECT 1 FROM presence) AS allowed) \
         INSERT INTO scans (id, event_id, badge_id, agent_id, gate, zone, direction, \
                            verdict, reason, qr_digest) \
         SELECT $4, $5, $1, $6, $7, $2, $8, \
                CASE WHEN allowed THEN 'allowed' ELSE 'denied' END, \
                CASE WHEN allowed THEN NULL ELSE 'already_inside' END, $9 \
         FROM passed \
         ON CONFLICT (id) DO NOTHING \
         RETURNING verdict, reason",
    )
    .bind::<SqlUuid, _>(badge_id)
    .bind::<Text, _>(new_scan.zone.as_str())
    .bind::<Bool, _>(new_scan.direction == Direction::In)
    .bind::<SqlUuid, _>(new_scan.id)
    .bind::<SqlUuid, _>(new_scan.event_id)
    .bind::<SqlUuid, _>(new_scan.agent_id)
    .bind::<Text, _>(new_scan.gate)
    .bind::<Text, _>(new_scan.direction.as_str())
    .bind::<Bytea, _>(new_scan.qr_digest)
    .load(conn)
    .await?;
    Ok(written.into_iter().next().map(|w| (w.verdict, w.reason)))
}

/// [`record_passage`] for a scanner's own `scan_id`, which may arrive twice at once (or be
/// reused for another scan): the request whose scan record loses also has its presence change
/// undone, in one transaction.
async fn record_passage_once(
    conn: &mut AsyncPgConnection,
    new_scan: &NewScan<'_>,
    badge_id: Uuid,
) -> ApiResult<Option<(String, Option<String>)>> {
    let lost = || ApiError::Conflict {
        code: "duplicate_scan",
        detail: "This scan was recorded by a concurrent request.".into(),
    };
    let written = conn
        .transaction::<_, ApiError, _>(async |conn| {
            record_passage(conn, new_scan, badge_id)
                .await?
                .ok_or_else(lost)
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

/// What a retry must repeat to be answered from the scan it repeats.
struct ScanKey<'a> {
    qr_digest: Vec<u8>,
    gate: &'a str,
    zone: Zone,
    direction: Direction,
}

/// A scan already recorded under a `scan_id`.
#[derive(Queryable)]
struct EarlierScan {
    event_id: Uuid,
    badge_id: Option<Uuid>,
    qr_digest: Option<Vec<u8>>,
    gate: String,
    zone: String,
    direction: String,
    verdict: String,
    reason: Option<String>,
}

type Recorded = (Option<Uuid>, String, Option<String>);

async fn earlier_scan(
    conn: &mut AsyncPgConnection,
    scan_id: Uuid,
) -> ApiResult<Option<EarlierScan>> {
    Ok(scans::table
        .find(scan_id)
        .select((
            scans::event_id,
            scans::badge_id,
            scans::qr_digest,
            scans::gate,
            scans::zone,
            scans::direction,
            scans::verdict,
            scans::reason,
        ))
        .first(conn)
        .await
        .optional()?)
}

impl EarlierScan {
    /// The first answer, when `request` really is a retry of this scan: a `scan_id` reused for
    /// another badge, gate, zone, direction or event must not borrow its verdict.
    fn answer_for(self, event: &Event, request: &ScanKey<'_>) -> ApiResult<Recorded> {
        let same = self.event_id == event.id
            && self.qr_digest.as_ref() == Some(&request.qr_digest)
            && self.gate == request.gate
            && self.zone == request.zone.as_str()
            && self.direction == request.direction.as_str();
        if !same {
            return Err(ApiError::Conflict {
                code: "scan_id_reused",
                detail: "This scan_id belongs to another scan; use a new one for each scan.".into(),
            });
        }
        Ok((self.badge_id, self.verdict, self.reason))
    }
}

/// Scan a badge at a gate (gate agents and admins).
#[utoipa::path(
    tag = "gates",
    security(("bearer" = [])),
    params(("event" = String, Path, description = "Event slug", example = "bamex-2026")),
    request_body = ScanRequest,
    responses(
        (status = 200, description = "The verdict; a denial is an answer, not an error", body = ScanResult),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither a gate agent nor an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The `scan_id` was used for another scan (`scan_id_reused`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/scans")]
pub async fn scan(
    state: web::Data<AppState>,
    agent: Require<GateAgent>,
    slug: web::Path<String>,
    body: web::Json<ScanRequest>,
) -> ApiResult<web::Json<ScanResult>> {
    let gate = text::required(&body.gate, 50).map_err(|e| ApiError::validation("gate", e))?;
    let scan_id = body.scan_id.unwrap_or_else(Uuid::now_v7);
    let claims: Option<BadgeClaims> = state.badge_keys.verify(&body.qr);
    let request = ScanKey {
        qr_digest: Sha256::digest(body.qr.as_bytes()).to_vec(),
        gate: &gate,
        zone: body.zone,
        direction: body.direction,
    };
    let mut conn = state.pool.get().await?;
    let event = visible_event(&mut conn, &slug, &MaybeUser(Some(agent.user.clone()))).await?;
    // Only a scanner's own id can have been used before (ours are fresh UUIDv7s).
    if body.scan_id.is_some()
        && let Some(earlier) = earlier_scan(&mut conn, scan_id).await?
    {
        let (badge_id, verdict, reason) = earlier.answer_for(&event, &request)?;
        return answer(&mut conn, &event, scan_id, badge_id, &verdict, reason, None).await;
    }
    let found = match &claims {
        Some(claims) if claims.evt == event.slug => badge_of(&mut conn, &event, claims.jti).await?,
        _ => None,
    };
    let badge_id = found.as_ref().map(|(row, _)| row.0);
    let new_scan = NewScan {
        id: scan_id,
        event_id: event.id,
        agent_id: agent.id,
        gate: &gate,
        zone: body.zone,
        direction: body.direction,
        qr_digest: &request.qr_digest,
    };
    let written = match claims {
        None => record_denial(&mut conn, &new_scan, None, DenialReason::InvalidSignature).await?,
        Some(_) => match judge(&event, &found, body.zone) {
            Err(reason) => record_denial(&mut conn, &new_scan, badge_id, reason).await?,
            Ok(badge) if body.scan_id.is_none() => {
                record_passage(&mut conn, &new_scan, badge).await?
            }
            Ok(badge) => record_passage_once(&mut conn, &new_scan, badge).await?,
        },
    };
    let Some((verdict, reason)) = written else {
        // The same scan_id arrived twice at once: answer from the one that was recorded.
        let earlier = earlier_scan(&mut conn, scan_id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let (badge_id, verdict, reason) = earlier.answer_for(&event, &request)?;
        return answer(&mut conn, &event, scan_id, badge_id, &verdict, reason, None).await;
    };
    let holder = found.map(|found| holder(&event, &found));
    answer(
        &mut conn, &event, scan_id, badge_id, &verdict, reason, holder,
    )
    .await
}

/// The answer to a scan; a replay's holder is read as they are now.
async fn answer(
    conn: &mut AsyncPgConnection,
    event: &Event,
    scan_id: Uuid,
    badge_id: Option<Uuid>,
    verdict: &str,
    reason: Option<String>,
    holder: Option<Holder>,
) -> ApiResult<web::Json<ScanResult>> {
    let holder = match (holder, badge_id) {
        (Some(holder), _) => Some(holder),
        (None, Some(id)) => badge_of(conn, event, id)
            .await?
            .map(|found| self::holder(event, &found)),
        (None, None) => None,
    };
    Ok(web::Json(ScanResult {
        scan_id,
        verdict: if verdict == "allowed" {
            Verdict::Allowed
        } else {
            Verdict::Denied
        },
        reason: reason.as_deref().and_then(DenialReason::from_db),
        holder,
    }))
}
