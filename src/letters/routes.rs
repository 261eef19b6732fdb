//! The letter routes: issuing a letter to a consulate, printing it, a delegation's letters in one
//! PDF, and the public verification a consulate makes.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::code::VerificationCode;
use super::issue::{
    Letterhead, cleared_where_vetted, invitation, issue, letterhead, open_code, shown_number,
    verification_url,
};
use super::store;
use super::{LetterLanguage, VisaLetter};
use crate::accreditations::AccreditationStatus;
use crate::accreditations::cards::{holder_name, render};
use crate::accreditations::pdf;
use crate::accreditations::printable::{pdf_response, printable};
use crate::audit::{Actor, AuditEntry};
use crate::auth::extract::{ClientIp, CurrentUser, Organizer, Require};
use crate::auth::limits::Action;
use crate::body::Body;
use crate::delegations::access as delegation_access;
use crate::error::{ApiError, ApiResult, Problem, Validator};
use crate::events::Event;
use crate::events::path::EventPath;
use crate::http_method::IsHead;
use crate::participants::documents::mask_number;
use crate::state::AppState;
use crate::text;

pub fn mount(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(issue_letter)
        .service(invitation_letter)
        .service(delegation_letters)
        .service(verify_letter);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueLetterRequest {
    /// The consulate or embassy the person applies to for a visa.
    #[schema(
        example = "Ambassade de la République du Mali à Ankara",
        min_length = 1,
        max_length = 200
    )]
    consulate: String,
    /// `fr` when absent.
    #[serde(default)]
    language: LetterLanguage,
}

/// A letter as issued. Its verification code is not here: it is printed on the letter only, so
/// that no stored answer (an `Idempotency-Key`'s) holds a working code.
#[derive(Debug, Serialize, ToSchema)]
pub struct LetterView {
    pub id: Uuid,
    pub accreditation_id: Uuid,
    /// `null`: addressed to the consular services in general.
    pub consulate: Option<String>,
    pub language: LetterLanguage,
    pub issued_at: DateTime<Utc>,
}

impl From<&VisaLetter> for LetterView {
    fn from(letter: &VisaLetter) -> Self {
        Self {
            id: letter.id,
            accreditation_id: letter.accreditation_id,
            consulate: letter.consulate.clone(),
            language: letter.language,
            issued_at: letter.issued_at,
        }
    }
}

/// Issue the visa invitation letter addressed to a consulate, in French or English
/// (organizers; whoever registered the participant), once the accreditation is approved and,
/// where the event vets its category, cleared. The same consulate and language as the latest
/// letter return that letter (200); anything else issues a new one (201), which the PDF route
/// prints from then on. Earlier letters stay verifiable.
#[utoipa::path(
    tag = "letters",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    request_body = IssueLetterRequest,
    responses(
        (status = 200, description = "The latest letter, already addressed so", body = LetterView),
        (status = 201, description = "A new letter", body = LetterView),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved (`no_badge`), or not cleared by the security services where the event vets the category (`awaiting_clearance`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{event}/accreditations/{id}/invitation-letter")]
pub async fn issue_letter(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    body: Body<IssueLetterRequest>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    printable(&mut conn, &event, id, &user).await?;
    let body = body.read()?;
    let mut v = Validator::default();
    let consulate = v.check("consulate", text::name(&body.consulate, 200));
    let consulate = v.finish(|| consulate)?;
    letterhead(&mut conn, &event, id).await?;
    let issued = issue(
        &mut conn,
        &state.documents,
        &user.actor(ip),
        id,
        Some(&consulate),
        body.language,
    )
    .await?;
    let view = LetterView::from(&issued.letter);
    Ok(if issued.created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// The accreditation's latest letter, or a first one to the consular services in general, in
/// French: the letter existing clients get without asking for one.
async fn current_letter(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    actor: &Actor,
    accreditation_id: Uuid,
) -> ApiResult<(VisaLetter, VerificationCode)> {
    match store::latest(conn, accreditation_id).await? {
        Some(letter) => {
            let code = open_code(&state.documents, &letter)?;
            Ok((letter, code))
        }
        None => {
            let issued = issue(
                conn,
                &state.documents,
                actor,
                accreditation_id,
                None,
                LetterLanguage::default(),
            )
            .await?;
            Ok((issued.letter, issued.code))
        }
    }
}

/// Records that the letters printed showed these people's document numbers.
async fn record_reads(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    participants: &[Uuid],
    purpose: &str,
) -> ApiResult<()> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        for participant in participants {
            AuditEntry::new(
                "participant.document_read",
                "participant",
                Some(*participant),
            )
            .by_actor(actor)
            .details(serde_json::json!({ "for": purpose }))
            .record(conn)
            .await?;
        }
        Ok(())
    })
    .await
}

/// The visa invitation letter as an A4 PDF (organizers; whoever registered the participant):
/// the accreditation's latest letter, with its verification code and a QR of its public
/// verification link. Without one yet, a first letter is issued, addressed to the consular
/// services in general and in French (a HEAD issues it too, so that it describes the same
/// document). It states the identity document, so printing it is an audited read; the number is
/// masked but for its last four characters unless the caller is an organizer or the holder.
#[utoipa::path(
    tag = "letters",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Accreditation id"),
    ),
    responses(
        (status = 200, description = "One A4 page", content_type = "application/pdf"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such accreditation of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not approved (`no_badge`), or not cleared by the security services where the event vets the category (`awaiting_clearance`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/accreditations/{id}/invitation-letter.pdf")]
pub async fn invitation_letter(
    state: web::Data<AppState>,
    user: CurrentUser,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    head: IsHead,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let actor = user.actor(ip);
    let mut conn = state.pool.get().await?;
    let event = event.load_event(&mut conn, Some(&user)).await?;
    printable(&mut conn, &event, id, &user).await?;
    let letterhead = letterhead(&mut conn, &event, id).await?;
    let number = letterhead
        .participant
        .open_document(&state.documents)?
        .ok_or_else(ApiError::purged)?;
    // Document numbers are for organizers' eyes and the holder's own: an exhibitor or a
    // delegation lead printing the letter for someone gets it masked.
    let in_full = user.is_organizer() || letterhead.participant.user_id == Some(user.id);
    let (letter, code) = current_letter(&mut conn, &state, &actor, id).await?;
    if head.shown() {
        record_reads(
            &mut conn,
            &actor,
            &[letterhead.participant.id],
            "invitation_letter",
        )
        .await?;
    }
    drop(conn);
    let filename = format!("invitation-{}.pdf", letterhead.card.number);
    let url = verification_url(&state.settings.application, &code);
    let document = invitation(
        &event,
        letterhead,
        &shown_number(number, in_full),
        &letter,
        &code,
        url,
    );
    let bytes = render(move || pdf::invitation_letters(&[document])).await?;
    Ok(pdf_response(bytes, &filename))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DelegationLettersQuery {
    /// For members without a letter yet: the consulate their first letter is addressed to (the
    /// consular services in general when absent).
    #[param(min_length = 1, max_length = 200)]
    consulate: Option<String>,
    /// For members without a letter yet: its language (`fr` when absent).
    language: Option<LetterLanguage>,
}

fn no_letter() -> ApiError {
    ApiError::Conflict {
        code: "no_badge",
        detail: "No member of this delegation is approved (and cleared, where vetted) yet.".into(),
    }
}

/// Every letter of a delegation in one PDF, one A4 page per member who may have one (approved
/// and, where the event vets the category, cleared), in name order (organizers). A member's
/// latest letter is printed; a member without one is issued one on the fly, addressed to the
/// `consulate` and in the `language` of the query (by default the consular services in general,
/// in French; a HEAD issues them too). Members who may not have a letter yet are left out. The
/// document numbers are printed in full, so each page is an audited read. Bounded by the
/// delegation's member limit (at most 500).
#[utoipa::path(
    tag = "letters",
    security(("bearer" = [])),
    params(
        ("event" = String, Path, description = "Event slug", example = "bamex-2026"),
        ("id" = Uuid, Path, description = "Delegation id"),
        DelegationLettersQuery,
    ),
    responses(
        (status = 200, description = "One A4 page per member with a letter", content_type = "application/pdf"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an organizer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No member may have a letter yet (`no_badge`)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The personal data was purged after the event (`personal_data_purged`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{event}/delegations/{id}/letters.pdf")]
pub async fn delegation_letters(
    state: web::Data<AppState>,
    organizer: Require<Organizer>,
    ip: ClientIp,
    event: EventPath,
    path: web::Path<(String, Uuid)>,
    query: web::Query<DelegationLettersQuery>,
    head: IsHead,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let actor = organizer.actor(ip);
    let mut conn = state.pool.get().await?;
    let (event, delegation) = delegation_access::load(&mut conn, &event, id, &organizer).await?;
    if event.personal_data_purged_at.is_some() {
        return Err(ApiError::purged());
    }
    let query = query.into_inner();
    let mut v = Validator::default();
    let consulate = v.check(
        "consulate",
        query
            .consulate
            .as_deref()
            .map(|c| text::name(c, 200))
            .transpose(),
    );
    let consulate = v.finish(|| consulate)?;
    let language = query.language.unwrap_or_default();

    let mut pages = Vec::new();
    for accreditation_id in
        store::delegation_accreditations(&mut conn, event.id, delegation.id).await?
    {
        let letterhead = match letterhead(&mut conn, &event, accreditation_id).await {
            Ok(letterhead) => letterhead,
            // Not approved, not cleared, or purged: no letter for this member (yet).
            Err(ApiError::Conflict { .. } | ApiError::Gone { .. }) => continue,
            Err(e) => return Err(e),
        };
        let number = letterhead
            .participant
            .open_document(&state.documents)?
            .ok_or_else(ApiError::purged)?;
        let (letter, code) = match store::latest(&mut conn, accreditation_id).await? {
            Some(letter) => {
                let code = open_code(&state.documents, &letter)?;
                (letter, code)
            }
            None => {
                let issued = issue(
                    &mut conn,
                    &state.documents,
                    &actor,
                    accreditation_id,
                    consulate.as_deref(),
                    language,
                )
                .await?;
                (issued.letter, issued.code)
            }
        };
        pages.push((letterhead, number, letter, code));
    }
    if pages.is_empty() {
        return Err(no_letter());
    }
    if head.shown() {
        let people: Vec<Uuid> = pages.iter().map(|(l, ..)| l.participant.id).collect();
        record_reads(&mut conn, &actor, &people, "delegation_letters").await?;
    }
    drop(conn);
    let documents = pages
        .into_iter()
        .map(
            |(letterhead, number, letter, code): (Letterhead, String, _, _)| {
                let url = verification_url(&state.settings.application, &code);
                invitation(&event, letterhead, &number, &letter, &code, url)
            },
        )
        .collect::<Vec<_>>();
    let bytes = render(move || pdf::invitation_letters(&documents)).await?;
    Ok(pdf_response(
        bytes,
        &format!("{}-delegation-letters.pdf", event.slug),
    ))
}

/// What a consulate learns about a letter: that it exists and whom it is for, nothing more.
#[derive(Debug, Serialize, ToSchema)]
pub struct LetterVerification {
    /// The event's name.
    #[schema(example = "BAMEX'26")]
    pub event: String,
    #[schema(example = "Ayşe ŞAHIN")]
    pub holder_name: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "TR")]
    pub nationality: String,
    /// Masked but for its last four characters.
    #[schema(example = "•••••5678")]
    pub document_number: String,
    pub issued_on: NaiveDate,
}

fn withdrawn() -> ApiError {
    ApiError::Gone {
        code: "letter_withdrawn",
        detail: "This letter is no longer valid: the accreditation it states was withdrawn.".into(),
    }
}

fn is_valid(event: &Event, accreditation: &crate::accreditations::Accreditation) -> bool {
    accreditation.status() == AccreditationStatus::Approved
        && cleared_where_vetted(event, accreditation)
}

/// Verify a visa invitation letter by its code (anyone: consulates), as printed on it or carried
/// by its QR (case, hyphens and spaces do not matter). Rate-limited per client IP. An unknown
/// code and one that is not even well-formed get the same 404.
#[utoipa::path(
    tag = "letters",
    security(),
    params(("code" = String, Path, description = "The verification code", example = "7K3Q-FM2X-9ABC-DEFG-HJKM-NPQR")),
    responses(
        (status = 200, description = "The letter is genuine", body = LetterVerification),
        (status = 404, description = "No such letter", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The event's personal data was purged (`personal_data_purged`), or the accreditation was withdrawn since (`letter_withdrawn`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this client (`rate_limited`, with `Retry-After`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/letters/{code}")]
pub async fn verify_letter(
    state: web::Data<AppState>,
    ip: ClientIp,
    code: web::Path<String>,
) -> ApiResult<web::Json<LetterVerification>> {
    state.limits.check_ip(Action::VerifyLetter, ip.0).await?;
    let hash = VerificationCode::lookup_hash(&code);
    let mut conn = state.pool.get().await?;
    let found = store::find_by_hash(&mut conn, &hash).await?;
    drop(conn);
    let (letter, accreditation, participant, event) = found.ok_or_else(ApiError::not_found)?;
    if event.personal_data_purged_at.is_some() {
        return Err(ApiError::purged());
    }
    participant.ensure_not_anonymized()?;
    if !is_valid(&event, &accreditation) {
        return Err(withdrawn());
    }
    let number = participant
        .open_document(&state.documents)?
        .ok_or_else(ApiError::purged)?;
    Ok(web::Json(LetterVerification {
        event: event.name,
        holder_name: holder_name(&participant),
        nationality: participant.nationality,
        document_number: mask_number(&number),
        issued_on: letter.issued_at.date_naive(),
    }))
}
