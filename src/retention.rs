//! Retention: the personal data of an event is purged `retention.purge_after_days` after its
//! last day. Rows are anonymized rather than deleted, so that what the organizers count stays
//! what it was: accreditations by status, category and nationality, exhibitors and delegations by
//! status, entries per gate and day. User accounts are kept — their owners may attend other
//! editions — but nothing links an anonymized person to one any more.
//!
//! Each event is purged in one transaction holding the event's row lock, so `bamex purge` and the
//! hourly loop of every service instance may run at once: the first does it, the others find it
//! done.

use std::time::Duration;

use anyhow::Context;
use chrono::{Days, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::accreditations::emails::AccreditationUpdate;
use crate::audit::AuditEntry;
use crate::db::DbPool;
use crate::db::schema::{
    accreditations, badges, delegation_invitations, delegations, events, exhibitors,
    participant_photos, participants, scans, vetting_decisions,
};
use crate::delegations::emails::DelegationInvitation;
use crate::email::EmailTemplate;
use crate::participants::emails::RegistrationReceived;
use crate::users::EmailAddress;

/// What names and other required text about a person become. The migration's check constraint
/// `participants_complete_or_anonymized` spells it too.
pub const PLACEHOLDER: &str = "[purged]";

/// How often the service looks for events whose retention period is over.
const CHECK_INTERVAL: Duration = Duration::from_secs(3600);

/// An event whose retention period is over and whose personal data is still there.
#[derive(Debug, Clone)]
pub struct DueEvent {
    pub id: Uuid,
    pub slug: String,
    pub ends_on: NaiveDate,
    pub participants: i64,
}

/// What purging one event did.
#[derive(Debug, Clone)]
pub struct Purged {
    pub slug: String,
    pub participants: usize,
    pub emails_deleted: usize,
}

/// Events not purged yet whose last day plus `after_days` is over by `today`.
pub async fn due_events(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
    after_days: u32,
) -> QueryResult<Vec<DueEvent>> {
    let Some(cutoff) = today.checked_sub_days(Days::new(after_days.into())) else {
        return Ok(Vec::new());
    };
    let due: Vec<(Uuid, String, NaiveDate)> = events::table
        .filter(events::personal_data_purged_at.is_null())
        .filter(events::ends_on.lt(cutoff))
        .select((events::id, events::slug, events::ends_on))
        .order((events::ends_on, events::id))
        .load(conn)
        .await?;
    let mut found = Vec::with_capacity(due.len());
    for (id, slug, ends_on) in due {
        let participants = participants::table
            .filter(participants::event_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        found.push(DueEvent {
            id,
            slug,
            ends_on,
            participants,
        });
    }
    Ok(found)
}

/// What one purge run did: the events purged, and the errors of those it could not purge.
#[derive(Debug, Default)]
pub struct PurgeRun {
    pub purged: Vec<Purged>,
    pub failed: Vec<anyhow::Error>,
}

/// Purges every event that is due, each in its own transaction: one that fails is reported and
/// left for the next run, and does not hold back the events after it.
pub async fn purge_due(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
    after_days: u32,
) -> anyhow::Result<PurgeRun> {
    let mut run = PurgeRun::default();
    for event in due_events(conn, today, after_days).await? {
        match purge_event(conn, event.id).await {
            Ok(purged) => run.purged.extend(purged),
            Err(e) => run
                .failed
                .push(e.context(format!("purging the personal data of {}", event.slug))),
        }
    }
    Ok(run)
}

/// Anonymizes the people of one event, in one transaction; `None` when it was purged already.
pub async fn purge_event(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> anyhow::Result<Option<Purged>> {
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        // A large edition rewrites tens of thousands of rows at once, longer than the pool's
        // per-request statement timeout allows.
        conn.batch_execute("SET LOCAL statement_timeout = '15min'")
            .await?;
        let Some(slug) = events::table
            .find(event_id)
            .filter(events::personal_data_purged_at.is_null())
            .select(events::slug)
            .for_update()
            .first::<String>(conn)
            .await
            .optional()?
        else {
            return Ok(None);
        };
        let now = Utc::now();
        let people = || {
            participants::table
                .filter(participants::event_id.eq(event_id))
                .select(participants::id)
        };

        // First, while participants still point at their accounts and addresses.
        scrub_audit_trail(conn, event_id).await?;
        let emails_deleted = delete_emails(conn, event_id).await?;
        crate::webhooks::store::delete_for_event(conn, event_id).await?;
        crate::vetting::batches::delete_for_event(conn, event_id).await?;
        crate::letters::store::purge_for_event(conn, event_id).await?;
        crate::participants::scans::store::delete_for_event(conn, event_id).await?;

        diesel::delete(
            participant_photos::table.filter(participant_photos::participant_id.eq_any(people())),
        )
        .execute(conn)
        .await?;
        // Nationality, group and accreditation stay: the statistics are made of them.
        let participants = diesel::update(
            participants::table
                .filter(participants::event_id.eq(event_id))
                .filter(participants::anonymized_at.is_null()),
        )
        .set((
            (
                participants::first_name.eq(PLACEHOLDER),
                participants::last_name.eq(PLACEHOLDER),
                participants::organization.eq(PLACEHOLDER),
                participants::email.eq(None::<EmailAddress>),
                participants::title.eq(None::<String>),
                participants::function.eq(None::<String>),
                participants::date_of_birth.eq(None::<NaiveDate>),
                participants::place_of_birth.eq(None::<String>),
                participants::media_outlet.eq(None::<String>),
                participants::press_card_number.eq(None::<String>),
            ),
            (
                participants::id_document_type.eq(None::<String>),
                participants::id_document_ciphertext.eq(None::<Vec<u8>>),
                participants::id_document_nonce.eq(None::<Vec<u8>>),
                participants::id_document_key_id.eq(None::<String>),
                participants::id_document_hash.eq(None::<Vec<u8>>),
                participants::id_document_expires_on.eq(None::<NaiveDate>),
                // The accounts stay; the links to them would name the person.
                participants::user_id.eq(None::<Uuid>),
                participants::registered_by.eq(None::<Uuid>),
                participants::anonymized_at.eq(now),
                participants::updated_at.eq(now),
            ),
        ))
        .execute(conn)
        .await?;
        // Reasons and protocol notes are free text an organizer wrote about the person.
        diesel::update(accreditations::table.filter(accreditations::event_id.eq(event_id)))
            .set((
                accreditations::decision_reason.eq(None::<String>),
                accreditations::protocol_note.eq(None::<String>),
            ))
            .execute(conn)
            .await?;
        // The officers' notes and messages are about the person; the states and dates stay.
        diesel::update(vetting_decisions::table.filter(vetting_decisions::event_id.eq(event_id)))
            .set((
                vetting_decisions::note.eq(None::<String>),
                vetting_decisions::reference.eq(None::<String>),
                vetting_decisions::message.eq(None::<String>),
            ))
            .execute(conn)
            .await?;
        // Badges keep their number, zones and days; the signed QR is a credential that has no
        // use once the event is over.
        diesel::update(badges::table.filter(badges::event_id.eq(event_id)))
            .set(badges::token.eq(None::<String>))
            .execute(conn)
            .await?;
        // Scans keep gate, zone, direction, verdict and time (entries per gate and day) but no
        // longer tell whose badge moved where.
        diesel::update(scans::table.filter(scans::event_id.eq(event_id)))
            .set((
                scans::badge_id.eq(None::<Uuid>),
                scans::qr_digest.eq(None::<Vec<u8>>),
            ))
            .execute(conn)
            .await?;
        let event_delegations = || {
            delegations::table
                .filter(delegations::event_id.eq(event_id))
                .select(delegations::id)
        };
        diesel::delete(
            delegation_invitations::table
                .filter(delegation_invitations::delegation_id.eq_any(event_delegations())),
        )
        .execute(conn)
        .await?;
        diesel::update(delegations::table.filter(delegations::event_id.eq(event_id)))
            .set((
                delegations::lead_email.eq(None::<EmailAddress>),
                delegations::lead_name.eq(PLACEHOLDER),
                delegations::lead_id.eq(None::<Uuid>),
                delegations::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        // Companies stay as they were, but not the person to contact there.
        diesel::update(exhibitors::table.filter(exhibitors::event_id.eq(event_id)))
            .set((
                exhibitors::contact_name.eq(None::<String>),
                exhibitors::contact_email.eq(None::<EmailAddress>),
                exhibitors::contact_phone.eq(None::<String>),
                exhibitors::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        diesel::update(events::table.find(event_id))
            .set(events::personal_data_purged_at.eq(now))
            .execute(conn)
            .await?;
        AuditEntry::new("event.personal_data_purged", "event", Some(event_id))
            .details(serde_json::json!({
                "participants": participants,
                "emails_deleted": emails_deleted,
            }))
            .record(conn)
            .await?;
        Ok(Some(Purged {
            slug,
            participants,
            emails_deleted,
        }))
    })
    .await
}

/// The audit trail keeps who decided what and when about each record, but not the client IPs,
/// the free-text reasons, nor the person's own account as the actor (a visitor registering
/// themselves would be named by it).
async fn scrub_audit_trail(conn: &mut AsyncPgConnection, event_id: Uuid) -> QueryResult<usize> {
    let people = diesel::sql_query(
        "UPDATE audit_records SET \
             client_ip = NULL, \
             actor_id = CASE WHEN actor_id IN (SELECT user_id FROM participants \
                                               WHERE event_id = $1 AND user_id IS NOT NULL) \
                        THEN NULL ELSE actor_id END, \
             details = CASE WHEN details->>'reason' IS NOT NULL \
                       THEN jsonb_set(details, '{reason}', to_jsonb($2::text)) ELSE details END \
         WHERE (target_type = 'participant' \
                AND target_id IN (SELECT id FROM participants WHERE event_id = $1)) \
            OR (target_type = 'accreditation' \
                AND target_id IN (SELECT id FROM accreditations WHERE event_id = $1))",
    )
    .bind::<diesel::sql_types::Uuid, _>(event_id)
    .bind::<Text, _>(PLACEHOLDER)
    .execute(conn)
    .await?;
    // A delegation's records: the lead's own acceptance names their account, and every one
    // keeps where it came from.
    let delegations = diesel::sql_query(
        "UPDATE audit_records SET client_ip = NULL, \
             actor_id = CASE WHEN action = 'delegation.invitation_accepted' THEN NULL \
                        ELSE actor_id END \
         WHERE target_type = 'delegation' \
           AND target_id IN (SELECT id FROM delegations WHERE event_id = $1)",
    )
    .bind::<diesel::sql_types::Uuid, _>(event_id)
    .execute(conn)
    .await?;
    Ok(people + delegations)
}

/// Deletes the emails the event caused, sent or not: their subjects and recipients name people.
/// Emails queued before the outbox knew their event are matched by template and recipient.
async fn delete_emails(conn: &mut AsyncPgConnection, event_id: Uuid) -> QueryResult<usize> {
    let about_people = vec![
        AccreditationUpdate::NAME,
        RegistrationReceived::NAME,
        DelegationInvitation::NAME,
    ];
    diesel::sql_query(
        "DELETE FROM outbox WHERE event_id = $1 \
            OR (event_id IS NULL AND template = ANY($2) \
                AND recipient::citext IN (SELECT email FROM participants WHERE event_id = $1 \
                                          UNION SELECT lead_email FROM delegations \
                                          WHERE event_id = $1))",
    )
    .bind::<diesel::sql_types::Uuid, _>(event_id)
    .bind::<Array<Text>, _>(about_people)
    .execute(conn)
    .await
}

/// The service's loop: purges what is due at start and then every hour, until `shutdown`.
/// Errors are logged and the loop goes on; the next pass tries again.
pub async fn run(pool: DbPool, after_days: u32, shutdown: CancellationToken) {
    tracing::info!(after_days, "retention purge loop started");
    crate::periodic::every(CHECK_INTERVAL, shutdown, || async {
        if let Err(e) = pass(&pool, after_days).await {
            tracing::error!(
                error = format!("{e:#}"),
                "the retention purge failed; retrying in an hour"
            );
        }
    })
    .await;
    tracing::info!("retention purge loop stopped");
}

async fn pass(pool: &DbPool, after_days: u32) -> anyhow::Result<()> {
    let mut conn = pool.get().await.context("no database connection")?;
    let run = purge_due(&mut conn, Utc::now().date_naive(), after_days).await?;
    for error in &run.failed {
        tracing::error!(error = format!("{error:#}"), "an event could not be purged");
    }
    for purged in run.purged {
        tracing::info!(
            event = %purged.slug,
            participants = purged.participants,
            emails_deleted = purged.emails_deleted,
            "personal data of an event purged"
        );
    }
    Ok(())
}
