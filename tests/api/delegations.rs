use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{
    EVENT, accept, active_delegation, create, delegation, invitation_token, open_event, person,
};
use crate::helpers::{PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn a_lead_accepts_the_invitation_once_and_gets_an_account() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let id = create(&app, &organizer, &delegation("liaison@msb.gov.tr", 5)).await;

    let mail = app.smtp.wait_for_mail_to("liaison@msb.gov.tr", 1).await;
    assert!(
        mail.subject().starts_with("Invitation"),
        "in the lead's language: {}",
        mail.subject()
    );
    assert!(mail.text().contains("7 days"));
    let token = invitation_token(&app, "liaison@msb.gov.tr", 1).await;

    let weak = accept(
        &app,
        &token,
        &json!({"full_name": "Emre", "password": "short"}),
        None,
    )
    .await;
    assert_problem(weak, 422, "validation_failed").await;
    let accepted = accept(
        &app,
        &token,
        &json!({"full_name": "Emre Aydın", "password": "Anitkabir-Ankara-1938"}),
        None,
    )
    .await;
    assert_eq!(accepted.status(), 201);
    let body: Value = accepted.json().await.unwrap();
    assert_eq!(body["user"]["roles"], json!(["delegation_lead"]));
    assert_eq!(body["user"]["email_verified"], true);
    assert_eq!(
        (
            body["delegation"]["status"].as_str(),
            body["delegation"]["lead_accepted"].as_bool()
        ),
        (Some("active"), Some(true))
    );

    assert_problem(
        accept(&app, &token, &json!({}), None).await,
        410,
        "invitation_used",
    )
    .await;
    assert_problem(
        accept(&app, "not-a-token", &json!({}), None).await,
        404,
        "invitation_not_found",
    )
    .await;
    let login: Value = app
        .login("liaison@msb.gov.tr", "Anitkabir-Ankara-1938")
        .await
        .json()
        .await
        .unwrap();
    let lead = login["access_token"].as_str().unwrap();
    let mine: Value = app
        .get_as(&format!("{EVENT}/delegations/{id}"), lead)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["name"], "Ministry of National Defence of Türkiye");
}

#[tokio::test]
async fn resending_voids_the_old_link_and_expired_links_are_refused() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let id = create(&app, &organizer, &delegation("protocol@mindef.gov.gh", 5)).await;
    let first = invitation_token(&app, "protocol@mindef.gov.gh", 1).await;
    let resend = app
        .post_as(
            &format!("{EVENT}/delegations/{id}/invitation"),
            &organizer.access_token,
            &json!({"locale": "fr"}),
        )
        .await;
    assert_eq!(resend.status(), 202);
    let second = invitation_token(&app, "protocol@mindef.gov.gh", 2).await;
    assert!(
        app.smtp.to("protocol@mindef.gov.gh")[1]
            .subject()
            .starts_with("Invitation :")
    );
    let body = json!({"full_name": "Kwame Mensah", "password": "Kumasi-Asante-1701"});
    assert_problem(
        accept(&app, &first, &body, None).await,
        410,
        "invitation_voided",
    )
    .await;

    use bamex::db::schema::delegation_invitations::dsl;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    diesel::update(dsl::delegation_invitations)
        .set(dsl::expires_at.eq(chrono::Utc::now() - chrono::Duration::hours(1)))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    assert_problem(
        accept(&app, &second, &body, None).await,
        410,
        "invitation_expired",
    )
    .await;
}

#[tokio::test]
async fn an_existing_account_must_be_signed_in_to_accept() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let lead = app.user_with_roles(&[Role::Exhibitor]).await;
    create(&app, &organizer, &delegation(&lead.email, 5)).await;
    let token = invitation_token(&app, &lead.email, 1).await;
    assert_problem(
        accept(&app, &token, &json!({}), None).await,
        401,
        "sign_in_required",
    )
    .await;
    let stranger = app.user_with_roles(&[Role::Visitor]).await;
    assert_problem(
        accept(&app, &token, &json!({}), Some(&stranger.access_token)).await,
        403,
        "wrong_account",
    )
    .await;
    let accepted = accept(&app, &token, &json!({}), Some(&lead.access_token)).await;
    assert_eq!(accepted.status(), 200);
    let body: Value = accepted.json().await.unwrap();
    assert_eq!(
        body["user"]["roles"],
        json!(["delegation_lead", "exhibitor"])
    );
    assert_eq!(
        app.login(&lead.email, PASSWORD).await.status(),
        200,
        "the password did not change"
    );
}

#[tokio::test]
async fn the_member_limit_holds_under_concurrency() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (id, lead) = active_delegation(&app, &organizer, "head@defense.gouv.ml", 3).await;
    let path = format!("{EVENT}/delegations/{id}/members");
    let requests = (0..8).map(|i| {
        app.client
            .post(app.url(&path))
            .bearer_auth(&lead)
            .json(&person(&format!("Membre{i}"), &format!("M2000{i}")))
            .send()
    });
    let mut created = 0;
    for response in futures_util::future::join_all(requests).await {
        let response = response.unwrap();
        if response.status() == 201 {
            created += 1;
        } else {
            assert_problem(response, 409, "member_limit_reached").await;
        }
    }
    assert_eq!(created, 3);
    let members: Value = app.get_as(&path, &lead).await.json().await.unwrap();
    assert_eq!(members["total"], 3);
    let first = &members["items"][0];
    assert_eq!(first["accreditation"]["category"], "delegation_member");

    use bamex::db::schema::accreditations::dsl;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let levels: Vec<Option<String>> = dsl::accreditations
        .select(dsl::protocol_level)
        .load(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(levels, vec![Some("vip".to_owned()); 3]);
    // The member's address was told, in the lead's language (French, the default).
    let mail = app.smtp.wait_for_mail_to("staff@example.com.tr", 1).await;
    assert!(mail.subject().contains("reçue"), "{}", mail.subject());

    // A changed protocol level follows to the members.
    app.patch_as(
        &format!("{EVENT}/delegations/{id}"),
        &organizer.access_token,
        &json!({"protocol_level": "vvip"}),
    )
    .await;
    let levels: Vec<Option<String>> = dsl::accreditations
        .select(dsl::protocol_level)
        .load(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(levels, vec![Some("vvip".to_owned()); 3]);
    let lower = app
        .patch_as(
            &format!("{EVENT}/delegations/{id}"),
            &organizer.access_token,
            &json!({"member_limit": 2}),
        )
        .await;
    assert_problem(lower, 409, "limit_below_members").await;
}

#[tokio::test]
async fn leads_see_and_change_only_their_own_delegation() {
    let app = spawn_app().await;
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (mine, lead) = active_delegation(&app, &organizer, "lead.a@example.org", 4).await;
    let (theirs, other_lead) = active_delegation(&app, &organizer, "lead.b@example.org", 4).await;
    let member: Value = app
        .post_as(
            &format!("{EVENT}/delegations/{theirs}/members"),
            &other_lead,
            &person("Secret", "X1234567"),
        )
        .await
        .json()
        .await
        .unwrap();
    let member_path = format!(
        "{EVENT}/delegations/{theirs}/members/{}",
        member["id"].as_str().unwrap()
    );

    let listed: Value = app
        .get_as(&format!("{EVENT}/delegations"), &lead)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["id"], mine.as_str());
    let all: Value = app
        .get_as(&format!("{EVENT}/delegations"), &organizer.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 2);

    let attempts = [
        app.get_as(&format!("{EVENT}/delegations/{theirs}"), &lead)
            .await,
        app.get_as(&format!("{EVENT}/delegations/{theirs}/members"), &lead)
            .await,
        app.post_as(
            &format!("{EVENT}/delegations/{theirs}/members"),
            &lead,
            &person("Intrus", "Y1234567"),
        )
        .await,
        app.get_as(&member_path, &lead).await,
        app.client
            .put(app.url(&member_path))
            .bearer_auth(&lead)
            .json(&person("Changé", "Z1234567"))
            .send()
            .await
            .unwrap(),
        app.client
            .delete(app.url(&member_path))
            .bearer_auth(&lead)
            .send()
            .await
            .unwrap(),
    ];
    for response in attempts {
        assert_problem(response, 404, "not_found").await;
    }
    let untouched: Value = app
        .get_as(&member_path, &other_lead)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(untouched["last_name"], "Secret");
    let forbidden = app
        .patch_as(
            &format!("{EVENT}/delegations/{mine}"),
            &lead,
            &json!({"member_limit": 40}),
        )
        .await;
    assert_problem(forbidden, 403, "forbidden").await;

    // Corrected and withdrawn while pending; closing freezes the list.
    let corrected = app
        .client
        .put(app.url(&member_path))
        .bearer_auth(&other_lead)
        .json(&person("Public", "X1234567"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        corrected.json::<Value>().await.unwrap()["last_name"],
        "Public"
    );
    app.patch_as(
        &format!("{EVENT}/delegations/{theirs}"),
        &organizer.access_token,
        &json!({"status": "closed"}),
    )
    .await;
    let closed = app
        .client
        .delete(app.url(&member_path))
        .bearer_auth(&other_lead)
        .send()
        .await
        .unwrap();
    assert_problem(closed, 409, "delegation_closed").await;
}
