//! Queries on document scans.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{DocumentKind, ScanSummary};
use crate::db::schema::{participant_documents, participants};
use crate::participants::documents::SealedSecret;

/// A scan as the listing shows it: everything but the content.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = participant_documents, check_for_backend(diesel::pg::Pg))]
pub struct ScanListing {
    pub kind: DocumentKind,
    pub content_type: String,
    pub size: i32,
    pub sha256: Vec<u8>,
    pub uploaded_at: DateTime<Utc>,
}

impl From<ScanListing> for ScanSummary {
    fn from(row: ScanListing) -> Self {
        Self {
            kind: row.kind,
            content_type: row.content_type,
            size: row.size,
            sha256: row.sha256.iter().map(|b| format!("{b:02x}")).collect(),
            uploaded_at: row.uploaded_at,
        }
    }
}

/// A scan ready to be stored.
pub struct NewScan {
    pub participant_id: Uuid,
    pub kind: DocumentKind,
    pub content_type: &'static str,
    pub sha256: Vec<u8>,
    pub size: i32,
    pub sealed: SealedSecret,
    pub uploaded_by: Uuid,
}

/// Stores `scan`, replacing the person's scan of the same kind.
pub async fn save(conn: &mut AsyncPgConnection, scan: &NewScan) -> QueryResult<ScanListing> {
    let now = Utc::now();
    let values = (
        participant_documents::content_type.eq(scan.content_type),
        participant_documents::sha256.eq(&scan.sha256),
        participant_documents::size.eq(scan.size),
        participant_documents::ciphertext.eq(&scan.sealed.ciphertext),
        participant_documents::nonce.eq(&scan.sealed.nonce),
        participant_documents::key_id.eq(&scan.sealed.key_id),
        participant_documents::uploaded_by.eq(scan.uploaded_by),
        participant_documents::uploaded_at.eq(now),
    );
    diesel::insert_into(participant_documents::table)
        .values((
            participant_documents::participant_id.eq(scan.participant_id),
            participant_documents::kind.eq(scan.kind),
            values,
        ))
        .on_conflict((
            participant_documents::participant_id,
            participant_documents::kind,
        ))
        .do_update()
        .set(values)
        .returning(ScanListing::as_returning())
        .get_result(conn)
        .await
}

/// The person's scans, by kind.
pub async fn list(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
) -> QueryResult<Vec<ScanListing>> {
    participant_documents::table
        .filter(participant_documents::participant_id.eq(participant_id))
        .select(ScanListing::as_select())
        .order(participant_documents::kind)
        .load(conn)
        .await
}

/// The person's scan of `kind`: its content type and sealed content.
pub async fn sealed(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    kind: DocumentKind,
) -> QueryResult<(String, SealedSecret)> {
    let (content_type, ciphertext, nonce, key_id) = participant_documents::table
        .find((participant_id, kind))
        .select((
            participant_documents::content_type,
            participant_documents::ciphertext,
            participant_documents::nonce,
            participant_documents::key_id,
        ))
        .first::<(String, Vec<u8>, Vec<u8>, String)>(conn)
        .await?;
    Ok((
        content_type,
        SealedSecret {
            ciphertext,
            nonce,
            key_id,
        },
    ))
}

/// Deletes the scans of every person of the event (the retention purge).
pub async fn delete_for_event(conn: &mut AsyncPgConnection, event_id: Uuid) -> QueryResult<usize> {
    diesel::delete(
        participant_documents::table.filter(
            participant_documents::participant_id.eq_any(
                participants::table
                    .filter(participants::event_id.eq(event_id))
                    .select(participants::id),
            ),
        ),
    )
    .execute(conn)
    .await
}
