//! What the PDF routes share: who may print for a person, the refusal when there is no badge, and
//! how a PDF is answered.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, HttpResponseBuilder};
use diesel_async::AsyncPgConnection;
use futures_util::Stream;
use uuid::Uuid;

use super::store;
use crate::auth::extract::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::events::Event;
use crate::participants::Participant;
use crate::participants::access::may_edit;

/// The start of an answer with a PDF shown inline, never cached on the way (it holds personal
/// data).
fn pdf_answer(filename: &str) -> HttpResponseBuilder {
    let mut answer = HttpResponse::Ok();
    answer
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"));
    answer
}

/// A PDF made in full, with its length.
pub fn pdf_response(bytes: Vec<u8>, filename: &str) -> HttpResponse {
    pdf_answer(filename).body(bytes)
}

/// A PDF sent as it is written, in chunks (no length: a HEAD does not run it).
pub fn streamed_pdf_response(
    body: impl Stream<Item = ApiResult<Bytes>> + 'static,
    filename: &str,
) -> HttpResponse {
    pdf_answer(filename).streaming(body)
}

/// The participant of an accreditation at `event`, if `user` may print for them: organizers,
/// and whoever registered the person (their exhibitor's account, delegation's lead, themselves).
/// A purged person answers 410 `personal_data_purged` to those who could print before.
pub async fn printable(
    conn: &mut AsyncPgConnection,
    event: &Event,
    id: Uuid,
    user: &CurrentUser,
) -> ApiResult<Participant> {
    let participant = store::participant_of(conn, event.id, id).await?;
    if !may_edit(conn, event.id, participant.id, user).await? {
        return Err(ApiError::not_found());
    }
    participant.ensure_not_anonymized()?;
    Ok(participant)
}

/// Approved (or not yet), but not cleared by the security services where the event vets the
/// category: nothing that shows the badge exists yet.
pub fn awaiting_clearance() -> ApiError {
    ApiError::Conflict {
        code: "awaiting_clearance",
        detail: "The badge is issued once the security services cleared the person.".into(),
    }
}

pub fn no_badge() -> ApiError {
    ApiError::Conflict {
        code: "no_badge",
        detail: "Only an approved accreditation has a badge.".into(),
    }
}
