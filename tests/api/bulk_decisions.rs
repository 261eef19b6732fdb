//! Bulk decisions judged in memory and written in batches: one result an id, nothing written
//! for those refused, and concurrent batches over the same ids decide each once.

use bamex::db::schema::{accreditations, badges, outbox};
use bamex::users::Role;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::fixtures::{approve_all, audit_actions, decide, event_from_today, visitor};
use crate::helpers::TestApp;

/// A trade visitor badge's number at an event of this year.
fn trade_badge(n: u32) -> String {
    format!("B{}-TRD-{n:06}", chrono::Utc::now().format("%y"))
}

fn uuid(id: &str) -> Uuid {
    id.parse().unwrap()
}

async fn badge_numbers(app: &TestApp, ids: &[&str]) -> Vec<(Uuid, String)> {
    let ids: Vec<Uuid> = ids.iter().map(|id| uuid(id)).collect();
    badges::table
        .filter(badges::accreditation_id.eq_any(ids))
        .select((badges::accreditation_id, badges::number))
        .order(badges::number)
        .load(&mut app.conn().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_bulk_approval_decides_each_id_on_its_own_and_writes_nothing_for_the_refused() {
    let app = crate::helpers::spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (_, first) = visitor(&app, "trade_visitor", "Keita", "K1000001").await;
    let (_, rejected) = visitor(&app, "trade_visitor", "Diallo", "K1000002").await;
    let (_, journalist) = visitor(&app, "media", "Sangaré", "K1000003").await;
    let (_, purged) = visitor(&app, "trade_visitor", "Touré", "K1000004").await;
    let (_, last) = visitor(&app, "trade_visitor", "Cissé", "K1000005").await;
    let refusal = decide(
        &app,
        &organizer,
        &rejected,
        json!({"decision": "reject", "reason": "forged", "version": 1}),
    )
    .await;
    assert_eq!(refusal.status(), 200);
    let purged_participant: Uuid = accreditations::table
        .find(uuid(&purged))
        .select(accreditations::participant_id)
        .first(&mut app.conn().await)
        .await
        .unwrap();
    // As the retention purge leaves a person (the check constraint wants all of it blank).
    diesel::sql_query(
        "UPDATE participants SET anonymized_at = now(), first_name = '[purged]', \
         last_name = '[purged]', organization = '[purged]', registered_by = NULL, user_id = NULL, \
         email = NULL, title = NULL, function = NULL, date_of_birth = NULL, \
         id_document_type = NULL, id_document_ciphertext = NULL, id_document_nonce = NULL, \
         id_document_key_id = NULL, id_document_hash = NULL, media_outlet = NULL, \
         press_card_number = NULL WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(purged_participant)
    .execute(&mut app.conn().await)
    .await
    .unwrap();
    let emails_before: i64 = outbox::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();

    let unknown = Uuid::new_v4().to_string();
    let sent = [
        first.as_str(),
        &rejected,
        &journalist,
        &purged,
        &unknown,
        &last,
        &first,
    ];
    let results = approve_all(&app, &organizer, &sent).await;

    let summary: Vec<(Value, Value, Value)> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].clone(),
                r["first_approval"].clone(),
                r["error"]["code"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (json!("approved"), json!(false), Value::Null),
            (Value::Null, json!(false), json!("invalid_transition")),
            (json!("pending"), json!(true), Value::Null),
            (Value::Null, json!(false), json!("personal_data_purged")),
            (Value::Null, json!(false), json!("not_found")),
            (json!("approved"), json!(false), Value::Null),
            // Sent twice: decided the first time.
            (Value::Null, json!(false), json!("invalid_transition")),
        ]
    );
    for (result, id) in results.as_array().unwrap().iter().zip(sent) {
        assert_eq!(result["id"], id);
    }
    // Badges for the two approved, numbered one after the other; none for the others.
    let numbers = badge_numbers(&app, &sent).await;
    assert_eq!(
        numbers,
        [
            (uuid(&first), trade_badge(1)),
            (uuid(&last), trade_badge(2))
        ]
    );
    assert_eq!(audit_actions(&app, "accreditation.approved").await, 2);
    assert_eq!(audit_actions(&app, "accreditation.first_approval").await, 1);
    // One approval email each, the badge attached; none for the refused.
    let emails: Vec<Option<Uuid>> = outbox::table
        .select(outbox::badge_accreditation_id)
        .order(outbox::id)
        .offset(emails_before)
        .load(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(emails, [Some(uuid(&first)), Some(uuid(&last))]);
    let versions: Vec<(Uuid, i32)> = accreditations::table
        .filter(accreditations::id.eq_any([uuid(&rejected), uuid(&purged)]))
        .select((accreditations::id, accreditations::version))
        .order(accreditations::id)
        .load(&mut app.conn().await)
        .await
        .unwrap();
    let mut expected = vec![(uuid(&rejected), 2), (uuid(&purged), 1)];
    expected.sort();
    assert_eq!(versions, expected, "the refused are left as they were");
}

#[tokio::test]
async fn concurrent_bulk_approvals_over_the_same_ids_decide_each_once() {
    let app = crate::helpers::spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let mut ids = Vec::new();
    for n in 0..24 {
        let last_name = format!("Dembélé{n}");
        ids.push(
            visitor(&app, "trade_visitor", &last_name, &format!("C20000{n:02}"))
                .await
                .1,
        );
    }
    let all: Vec<&str> = ids.iter().map(String::as_str).collect();
    // Overlapping halves, one of them backwards.
    let forwards: Vec<&str> = all[..16].to_vec();
    let backwards: Vec<&str> = all[8..].iter().rev().copied().collect();
    let (one, other) = tokio::join!(
        approve_all(&app, &organizer, &forwards),
        approve_all(&app, &organizer, &backwards)
    );
    let mut approvals: Vec<String> = Vec::new();
    for result in one
        .as_array()
        .unwrap()
        .iter()
        .chain(other.as_array().unwrap())
    {
        match (&result["status"], &result["error"]["code"]) {
            (status, Value::Null) if status == "approved" => {
                approvals.push(result["id"].as_str().unwrap().to_owned());
            }
            (Value::Null, code) => assert_eq!(code, "invalid_transition", "{result}"),
            _ => panic!("{result}"),
        }
    }
    approvals.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(approvals, expected, "each id approved once");
    let numbers: Vec<String> = badge_numbers(&app, &all)
        .await
        .into_iter()
        .map(|(_, number)| number)
        .collect();
    let gap_free: Vec<String> = (1..=24).map(trade_badge).collect();
    assert_eq!(numbers, gap_free);
}
