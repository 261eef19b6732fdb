//! Badges: the number printed on them, the zones and days they open, and the QR code — a compact
//! JWS signed with Ed25519 (EdDSA) under a key named by `kid`, so that a gate without a network
//! can check it with the public keys published at `/.well-known/jwks.json`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Category;
use super::overrides::{self, BadgeOverride};
use crate::config::BadgeSettings;
use crate::db::schema::{accreditations, badge_sequences, badges};
use crate::db::text_enum;
use crate::delegations::protocol::ProtocolLevel;
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::events::badge_rules::ZoneDays;
use crate::events::zones::Zone;

const ISSUER: &str = "bamex-badges";

impl Category {
    /// Three letters on the badge number.
    pub fn badge_code(self) -> &'static str {
        match self {
            Category::ExhibitorStaff => "EXH",
            Category::DelegationMember => "DEL",
            Category::TradeVisitor => "TRD",
            Category::PublicVisitor => "PUB",
            Category::Media => "MED",
            Category::Vip => "VIP",
            Category::OrganizerStaff => "ORG",
            Category::Contractor => "CON",
        }
    }
}

/// The zones and days a badge of `category` opens at `event`: the category's rule in the
/// event's badge rules, the zones the holder's protocol level adds, then the organizers'
/// override for this person (zones and days added, then those taken away). The one place that
/// computes it: badges are issued with it, and re-issued with it after an override.
pub fn entitlements(
    event: &Event,
    category: Category,
    protocol_level: Option<ProtocolLevel>,
    adjustment: Option<&BadgeOverride>,
) -> ApiResult<(Vec<Zone>, Vec<NaiveDate>)> {
    let rules = &event.badge_rules;
    let rule = rules.rule(category).ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "the badge rules of {} have no rule for {}",
            event.slug,
            category.as_str()
        ))
    })?;
    let mut zones: BTreeSet<Zone> = rule.zones.iter().copied().collect();
    if let Some(level) = protocol_level {
        zones.extend(rules.protocol_zones(level));
    }
    let mut days: BTreeSet<NaiveDate> = rule
        .days
        .iter()
        .flat_map(|set| event.days_of(*set))
        .chain(rule.dates.iter().copied())
        .collect();
    if let Some(adjustment) = adjustment {
        zones.extend(&adjustment.add_zones);
        days.extend(&adjustment.add_days);
        for zone in &adjustment.remove_zones {
            zones.remove(zone);
        }
        for day in &adjustment.remove_days {
            days.remove(day);
        }
    }
    Ok((zones.into_iter().collect(), days.into_iter().collect()))
}

/// What the QR code says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BadgeClaims {
    /// The badge id.
    pub jti: Uuid,
    pub iss: String,
    /// Event slug.
    pub evt: String,
    pub num: String,
    pub cat: Category,
    pub zones: Vec<Zone>,
    pub days: Vec<NaiveDate>,
    /// Those of `zones` open on some of `days` only (the event's schedule when the badge was
    /// issued), so that a gate offline can refuse the range on a day without demonstrations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub zone_days: ZoneDays,
    pub iat: i64,
    pub exp: i64,
}

struct SigningEntry {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The raw public key, base64url: the JWK's `x`.
    public_x: String,
}

fn sign_with(kid: &str, encoding: &EncodingKey, claims: &BadgeClaims) -> ApiResult<String> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, encoding)
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("signing a badge")))
}

/// The badge signing keys; the active one signs, all of them verify.
pub struct BadgeKeys {
    active: String,
    keys: BTreeMap<String, SigningEntry>,
    validity_after_event: Duration,
}

impl BadgeKeys {
    pub fn new(settings: &BadgeSettings) -> anyhow::Result<Self> {
        let mut keys = BTreeMap::new();
        for (kid, secret) in &settings.keys {
            let seed: [u8; 32] = Sha256::digest(secret.expose_secret().as_bytes()).into();
            let signing = SigningKey::from_bytes(&seed);
            let der = signing
                .to_pkcs8_der()
                .map_err(|e| anyhow::anyhow!("badge key {kid}: {e}"))?;
            let public_x = URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes());
            keys.insert(
                kid.clone(),
                SigningEntry {
                    encoding: EncodingKey::from_ed_der(der.as_bytes()),
                    decoding: DecodingKey::from_ed_components(&public_x)?,
                    public_x,
                },
            );
        }
        Ok(Self {
            active: settings.active_key.clone(),
            keys,
            validity_after_event: Duration::days(settings.valid_days_after_event.into()),
        })
    }

    pub fn sign(&self, claims: &BadgeClaims) -> ApiResult<(String, String)> {
        let token = sign_with(&self.active, self.active_encoding()?, claims)?;
        Ok((self.active.clone(), token))
    }

    /// Signs each of `claims` (see [`Self::sign`]) on the blocking pool, as hundreds of
    /// signatures would hold up the executor; the key's id and each claims with its token.
    pub async fn sign_all(
        &self,
        claims: Vec<BadgeClaims>,
    ) -> ApiResult<(String, Vec<(BadgeClaims, String)>)> {
        let kid = self.active.clone();
        let encoding = self.active_encoding()?.clone();
        tokio::task::spawn_blocking(move || {
            let signed = claims
                .into_iter()
                .map(|claims| {
                    let token = sign_with(&kid, &encoding, &claims)?;
                    Ok((claims, token))
                })
                .collect::<ApiResult<Vec<_>>>()?;
            Ok((kid, signed))
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("signing badges")))?
    }

    fn active_encoding(&self) -> ApiResult<&EncodingKey> {
        self.keys
            .get(&self.active)
            .map(|entry| &entry.encoding)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the active badge key is missing")))
    }

    /// Checks signature (with the key its `kid` names), issuer and expiry.
    pub fn verify(&self, token: &str) -> Option<BadgeClaims> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let entry = self.keys.get(&kid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss", "jti"]);
        jsonwebtoken::decode::<BadgeClaims>(token, &entry.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }

    /// The public keys as a JSON Web Key Set.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self
            .keys
            .iter()
            .map(|(kid, entry)| {
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": entry.public_x, "kid": kid,
                    "alg": "EdDSA", "use": "sig"})
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// A while after the event's last day (its last tear-down day, if any).
    fn expiry(&self, event: &Event) -> DateTime<Utc> {
        let last_day = event
            .last_day()
            .and_hms_opt(23, 59, 59)
            .unwrap_or_default()
            .and_utc();
        last_day + self.validity_after_event
    }
}

text_enum! {
    /// Why a badge no longer opens any gate; kept with the time it ended.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum BadgeEnd {
        /// The accreditation was revoked, or refused by the security services.
        Revoked = "revoked",
        /// A newer badge of the same accreditation replaced it (a reissue, a re-signed QR).
        Superseded = "superseded",
        /// Its holder (or whoever registered them) reported it lost or stolen.
        ReportedLost = "reported_lost",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = badges, check_for_backend(diesel::pg::Pg))]
pub struct Badge {
    pub id: Uuid,
    pub accreditation_id: Uuid,
    pub number: String,
    pub zones: Vec<Zone>,
    pub valid_days: Vec<NaiveDate>,
    /// `None` once the event's personal data was purged.
    pub token: Option<String>,
    pub prints: i32,
}

/// A badge as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BadgeView {
    #[schema(example = "B26-EXH-000123")]
    pub number: String,
    pub zones: Vec<Zone>,
    pub valid_days: Vec<NaiveDate>,
    /// Compact JWS (EdDSA); its `kid` is in `/.well-known/jwks.json`. Null once the event's
    /// personal data was purged.
    pub qr: Option<String>,
    pub prints: i32,
}

impl From<Badge> for BadgeView {
    fn from(badge: Badge) -> Self {
        Self {
            number: badge.number,
            zones: badge.zones,
            valid_days: badge.valid_days,
            qr: badge.token,
            prints: badge.prints,
        }
    }
}

/// How an accreditation joins its live badge (an accreditation has at most one; the revoked
/// ones stay behind it).
pub type LiveBadgeOn = diesel::dsl::And<
    diesel::dsl::Eq<badges::accreditation_id, accreditations::id>,
    diesel::dsl::IsNull<badges::revoked_at>,
>;

pub fn live_badge_on() -> LiveBadgeOn {
    badges::accreditation_id
        .eq(accreditations::id)
        .and(badges::revoked_at.is_null())
}

/// The id of an accreditation's live badge (its QR's `jti`), if it has one.
pub async fn id_of(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
) -> QueryResult<Option<Uuid>> {
    badges::table
        .filter(badges::accreditation_id.eq(accreditation_id))
        .filter(badges::revoked_at.is_null())
        .select(badges::id)
        .first(conn)
        .await
        .optional()
}

/// Ends the live badge of an accreditation, if it has one, for `reason`: the gates deny it from
/// the next scan with that reason, and the row stays (its number is never reused; the gates'
/// sync feed lists it). Only a live badge is ended, so an end's time and reason are never
/// rewritten (a trigger, `badges_end_is_final`, refuses it too). Returns the badge's id.
pub async fn end_live(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
    reason: BadgeEnd,
) -> QueryResult<Option<Uuid>> {
    diesel::update(
        badges::table
            .filter(badges::accreditation_id.eq(accreditation_id))
            .filter(badges::revoked_at.is_null()),
    )
    .set((
        badges::revoked_at.eq(Utc::now()),
        badges::end_reason.eq(reason),
    ))
    .returning(badges::id)
    .get_result(conn)
    .await
    .optional()
}

/// Revokes the live badge of an accreditation, if it has one (see [`end_live`]).
pub async fn revoke_live(
    conn: &mut AsyncPgConnection,
    accreditation_id: Uuid,
) -> QueryResult<Option<Uuid>> {
    end_live(conn, accreditation_id, BadgeEnd::Revoked).await
}

/// One badge of an accreditation's history, live or ended.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = badges, check_for_backend(diesel::pg::Pg))]
pub struct BadgeRecord {
    #[serde(skip)]
    pub accreditation_id: Uuid,
    #[schema(example = "B26-EXH-000123-2")]
    pub number: String,
    #[diesel(column_name = created_at)]
    pub issued_at: DateTime<Utc>,
    /// When it stopped opening gates; null while live.
    #[diesel(column_name = revoked_at)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended; null while live.
    pub end_reason: Option<BadgeEnd>,
    /// Times it was printed.
    pub prints: i32,
}

/// Every badge of each of `accreditation_ids`, oldest first.
pub async fn history(
    mut conn: &AsyncPgConnection,
    accreditation_ids: &[Uuid],
) -> QueryResult<Vec<BadgeRecord>> {
    badges::table
        .filter(badges::accreditation_id.eq_any(accreditation_ids))
        .order((badges::created_at, badges::id))
        .select(BadgeRecord::as_select())
        .load(&mut conn)
        .await
}

/// The numbers of the accreditations' next badges, in the order given: for a first badge, the
/// next number of its category at the event (never reused, even under concurrent approvals: one
/// `badge_sequences` upsert a category reserves as many as the batch needs); for a later one
/// (the earlier ended: revoked, superseded or reported lost), the first badge's number with the
/// badge's rank (`B26-EXH-000123-2`).
async fn next_numbers(
    conn: &mut AsyncPgConnection,
    event: &Event,
    wanted: &[(Uuid, Category)],
) -> ApiResult<Vec<String>> {
    let ids: Vec<Uuid> = wanted.iter().map(|(id, _)| *id).collect();
    let earlier: Vec<(Uuid, String)> = badges::table
        .filter(badges::accreditation_id.eq_any(&ids))
        .order((badges::created_at, badges::id))
        .select((badges::accreditation_id, badges::number))
        .load(conn)
        .await?;
    let mut earlier_of: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (id, number) in earlier {
        earlier_of.entry(id).or_default().push(number);
    }
    // Categories in one order, so that concurrent batches lock their sequences alike.
    let mut firsts: BTreeMap<&str, (Category, i32)> = BTreeMap::new();
    for (id, category) in wanted {
        if !earlier_of.contains_key(id) {
            firsts.entry(category.as_str()).or_insert((*category, 0)).1 += 1;
        }
    }
    // The first of the numbers reserved for each category.
    let mut next_of: HashMap<Category, i32> = HashMap::new();
    for (category, count) in firsts.into_values() {
        let last: i32 = diesel::insert_into(badge_sequences::table)
            .values((
                badge_sequences::event_id.eq(event.id),
                badge_sequences::category.eq(category.as_str()),
                badge_sequences::last_value.eq(count),
            ))
            .on_conflict((badge_sequences::event_id, badge_sequences::category))
            .do_update()
            .set(badge_sequences::last_value.eq(badge_sequences::last_value + count))
            .returning(badge_sequences::last_value)
            .get_result(conn)
            .await?;
        next_of.insert(category, last - count + 1);
    }
    Ok(wanted
        .iter()
        .map(|(id, category)| match earlier_of.get(id) {
            Some(earlier) => format!("{}-{}", earlier[0], earlier.len() + 1),
            None => {
                let next = next_of.get_mut(category).expect("reserved above");
                let sequence = *next;
                *next += 1;
                format!(
                    "B{}-{}-{sequence:06}",
                    event.year_suffix(),
                    category.badge_code()
                )
            }
        })
        .collect())
}

/// The protocol levels of delegation members (their delegation's, copied onto the
/// accreditation); a stored level the service does not know fails loudly.
async fn protocol_levels_of(
    conn: &mut AsyncPgConnection,
    accreditation_ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, ProtocolLevel>> {
    let stored: Vec<(Uuid, Option<String>)> = accreditations::table
        .filter(accreditations::id.eq_any(accreditation_ids))
        .select((accreditations::id, accreditations::protocol_level))
        .load(conn)
        .await?;
    stored
        .into_iter()
        .filter_map(|(id, raw)| raw.map(|raw| (id, raw)))
        .map(|(id, raw)| {
            ProtocolLevel::from_text(&raw)
                .map(|level| (id, level))
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("unknown protocol level {raw:?}"))
                })
        })
        .collect()
}

/// Issues the next badge of an accreditation: its number (see [`next_numbers`]), its zones and
/// days, its signed QR; its print count starts at zero. At most one badge of an accreditation
/// is live (a partial unique index): end the live one first ([`end_live`]) to issue another.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    accreditation_id: Uuid,
    category: Category,
) -> ApiResult<Badge> {
    let mut issued = issue_all(conn, keys, event, &[(accreditation_id, category)]).await?;
    Ok(issued.remove(0))
}

/// Issues the next badge of each of the accreditations (see [`issue`]) in a bounded number of
/// statements, whatever their count; the badges in the order given.
pub async fn issue_all(
    conn: &mut AsyncPgConnection,
    keys: &BadgeKeys,
    event: &Event,
    wanted: &[(Uuid, Category)],
) -> ApiResult<Vec<Badge>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = wanted.iter().map(|(id, _)| *id).collect();
    let numbers = next_numbers(conn, event, wanted).await?;
    let protocol_levels = protocol_levels_of(conn, &ids).await?;
    let adjustments = overrides::store::of_accreditations(conn, &ids).await?;
    let expires_at = keys.expiry(event);
    let mut claims = Vec::with_capacity(wanted.len());
    for ((accreditation_id, category), number) in wanted.iter().zip(numbers) {
        let (zones, days) = entitlements(
            event,
            *category,
            protocol_levels.get(accreditation_id).copied(),
            adjustments.get(accreditation_id),
        )?;
        claims.push(BadgeClaims {
            jti: Uuid::now_v7(),
            iss: ISSUER.into(),
            evt: event.slug.clone(),
            num: number,
            cat: *category,
            zone_days: event.zone_days_of(&zones),
            zones,
            days,
            iat: Utc::now().timestamp(),
            exp: expires_at.timestamp(),
        });
    }
    let (key_id, signed) = keys.sign_all(claims).await?;
    let rows: Vec<_> = signed
        .into_iter()
        .zip(&ids)
        .map(|((claims, token), accreditation_id)| {
            (
                badges::id.eq(claims.jti),
                badges::accreditation_id.eq(*accreditation_id),
                badges::event_id.eq(event.id),
                badges::number.eq(claims.num),
                badges::zones.eq(claims.zones),
                badges::valid_days.eq(claims.days),
                badges::key_id.eq(key_id.clone()),
                badges::token.eq(token),
                badges::expires_at.eq(expires_at),
            )
        })
        .collect();
    let inserted: Vec<Badge> = diesel::insert_into(badges::table)
        .values(&rows)
        .returning(Badge::as_returning())
        .get_results(conn)
        .await?;
    // RETURNING promises no order: put the badges back in the order asked.
    let mut by_accreditation: HashMap<Uuid, Badge> = inserted
        .into_iter()
        .map(|badge| (badge.accreditation_id, badge))
        .collect();
    ids.iter()
        .map(|id| {
            by_accreditation
                .remove(id)
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("badge of {id} not returned")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn settings(active: &str) -> BadgeSettings {
        BadgeSettings {
            active_key: active.into(),
            keys: [
                (
                    "2025".to_owned(),
                    SecretString::from("the-old-badge-key-which-is-long-enough-01"),
                ),
                (
                    "2026".to_owned(),
                    SecretString::from("the-new-badge-key-which-is-long-enough-02"),
                ),
            ]
            .into_iter()
            .collect(),
            valid_days_after_event: 1,
        }
    }

    fn claims() -> BadgeClaims {
        BadgeClaims {
            jti: Uuid::new_v4(),
            iss: ISSUER.into(),
            evt: "bamex-2026".into(),
            num: "B26-VIP-000001".into(),
            cat: Category::Vip,
            zones: vec![Zone::VipLounge],
            zone_days: ZoneDays::new(),
            days: vec![],
            iat: Utc::now().timestamp(),
            exp: Utc::now().timestamp() + 3600,
        }
    }

    #[test]
    fn rotation_signs_with_the_new_key_and_still_verifies_the_old() {
        let before = BadgeKeys::new(&settings("2025")).unwrap();
        let (old_kid, old_token) = before.sign(&claims()).unwrap();
        let after = BadgeKeys::new(&settings("2026")).unwrap();
        let (new_kid, new_token) = after.sign(&claims()).unwrap();
        assert_eq!((old_kid.as_str(), new_kid.as_str()), ("2025", "2026"));
        assert!(
            after.verify(&old_token).is_some(),
            "badges printed before the rotation still pass"
        );
        assert!(after.verify(&new_token).is_some());
        assert_eq!(after.jwks()["keys"].as_array().unwrap().len(), 2);
        // Expired badges do not pass.
        let mut expired = claims();
        expired.exp = Utc::now().timestamp() - 3600;
        let (_, token) = after.sign(&expired).unwrap();
        assert!(after.verify(&token).is_none());
    }
}
