//! The gate sync feed: a device's first sync in pages resumed from a cursor, then the changes
//! since (revocations, reissues, lost badges) with their time; only its zones' badges; photos
//! with an ETag; and the refusals (a person's token, a revoked device, a garbage cursor).

use std::collections::BTreeMap;

use bamex::users::Role;
use serde_json::{Value, json};

use crate::fixtures::{
    EVENT, approve, enrolled_device, event_from_today, event_from_today_named, get, put_photo,
    visitor,
};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};

async fn sync_page(app: &TestApp, token: &str, cursor: Option<&str>, limit: u32) -> Value {
    let mut path = format!("{EVENT}/gate-sync?limit={limit}");
    if let Some(cursor) = cursor {
        path.push_str(&format!("&cursor={cursor}"));
    }
    let response = app.get_as(&path, token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// What a device holds after applying pages.
#[derive(Default)]
struct DeviceCopy {
    badges: BTreeMap<String, Value>,
    ends: Vec<Value>,
    cursor: Option<String>,
    pages: usize,
}

impl DeviceCopy {
    /// Syncs while the feed says `more`, applying each page as the contract says.
    async fn sync(&mut self, app: &TestApp, token: &str, limit: u32) {
        self.ends.clear();
        loop {
            let page = sync_page(app, token, self.cursor.as_deref(), limit).await;
            self.pages += 1;
            assert_eq!(page["event"], "bamex-2026");
            assert_eq!(
                page["keys"],
                app.get("/.well-known/jwks.json")
                    .await
                    .json::<Value>()
                    .await
                    .unwrap()
            );
            let badges = page["badges"].as_array().unwrap();
            let ends = page["ends"].as_array().unwrap();
            assert!(badges.len() + ends.len() <= limit as usize);
            for badge in badges {
                self.badges.insert(
                    badge["badge_id"].as_str().unwrap().to_owned(),
                    badge.clone(),
                );
            }
            for end in ends {
                self.badges.remove(end["badge_id"].as_str().unwrap());
                self.ends.push(end.clone());
            }
            self.cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
            if page["more"] == false {
                break;
            }
        }
    }

    fn numbers(&self) -> Vec<String> {
        let mut numbers: Vec<String> = self
            .badges
            .values()
            .map(|badge| badge["number"].as_str().unwrap().to_owned())
            .collect();
        numbers.sort();
        numbers
    }

    fn end_of(&self, number: &str) -> &Value {
        self.ends
            .iter()
            .find(|end| end["number"] == number)
            .unwrap_or_else(|| panic!("no end for {number} in {:?}", self.ends))
    }
}

/// Approved trade visitors: (accreditation id, badge number) each.
async fn approved_visitors(
    app: &TestApp,
    organizer: &TestUser,
    names: &[&str],
) -> Vec<(String, String, TestUser)> {
    let mut approved = Vec::new();
    for (n, name) in names.iter().enumerate() {
        let (holder, id) = visitor(app, "trade_visitor", name, &format!("S{n:07}")).await;
        let number = approve(app, organizer, &id).await["badge"]["number"]
            .as_str()
            .unwrap()
            .to_owned();
        approved.push((id, number, holder));
    }
    approved
}

fn token(device: &Value) -> String {
    device["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn pages_resume_from_a_cursor_and_a_revocation_between_syncs_comes_with_its_time() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let visitors = approved_visitors(
        &app,
        &organizer,
        &["Konaté", "Diarra", "Coulibaly", "Keïta", "Touré"],
    )
    .await;
    let device = token(
        &enrolled_device(
            &app,
            &organizer,
            "bamex-2026",
            "Halls",
            &["exhibition_halls"],
        )
        .await,
    );

    let mut copy = DeviceCopy::default();
    copy.sync(&app, &device, 2).await;
    assert!(copy.pages >= 3, "five badges in pages of two");
    let mut expected: Vec<String> = visitors.iter().map(|(_, n, _)| n.clone()).collect();
    expected.sort();
    assert_eq!(copy.numbers(), expected);
    let konate = copy
        .badges
        .values()
        .find(|b| b["number"] == visitors[0].1)
        .unwrap();
    assert_eq!(konate["name"], "Ayşe Konaté");
    assert_eq!(konate["category"], "trade_visitor");
    assert_eq!(
        konate["zones"],
        json!(["exhibition_halls", "static_display", "conference_rooms"])
    );
    assert_eq!(konate["days"].as_array().unwrap().len(), 3);
    assert_eq!(konate["photo_url"], Value::Null);
    assert_eq!(konate["photo_digest"], Value::Null);
    // The feed's badge id is the QR's `jti`.
    let accreditation = get(&app, &organizer, &visitors[0].0).await;
    let qr = accreditation["badge"]["qr"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            qr.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(konate["badge_id"], claims["jti"]);

    // Nothing changed: an empty page, and the device is marked synced.
    let unchanged = sync_page(&app, &device, copy.cursor.as_deref(), 2).await;
    assert_eq!(
        (
            unchanged["badges"].as_array().unwrap().len(),
            unchanged["ends"].as_array().unwrap().len()
        ),
        (0, 0)
    );
    assert_eq!(unchanged["more"], false);
    let devices: Value = app
        .get_as(&format!("{EVENT}/gate-devices"), &organizer.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(devices["items"][0]["last_sync_at"].is_string());

    // A revocation between two syncs comes in the second, with its time.
    let before = chrono::Utc::now();
    let revoked = app
        .post_as(
            &format!("{EVENT}/accreditations/{}/revoke", visitors[1].0),
            &organizer.access_token,
            &json!({"reason": "Security"}),
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let after = chrono::Utc::now();
    copy.sync(&app, &device, 2).await;
    let end = copy.end_of(&visitors[1].1);
    assert_eq!(end["reason"], "revoked");
    let at: chrono::DateTime<chrono::Utc> = end["at"].as_str().unwrap().parse().unwrap();
    assert!(before <= at && at <= after, "{at} within the revocation");
    assert_eq!(copy.badges.len(), 4);
    assert!(!copy.numbers().contains(&visitors[1].1));

    // Read once: the next sync from the new cursor has nothing.
    let again = sync_page(&app, &device, copy.cursor.as_deref(), 100).await;
    assert_eq!(again["ends"], json!([]));
    assert_eq!(again["badges"], json!([]));
}

#[tokio::test]
async fn a_reissue_and_a_lost_report_end_the_old_badges_and_bring_the_new_one() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let visitors = approved_visitors(&app, &organizer, &["Sangaré", "Cissé"]).await;
    let device = token(
        &enrolled_device(
            &app,
            &organizer,
            "bamex-2026",
            "Halls",
            &["exhibition_halls"],
        )
        .await,
    );
    let mut copy = DeviceCopy::default();
    copy.sync(&app, &device, 100).await;
    assert_eq!(copy.badges.len(), 2);

    let reissued = app
        .post_as(
            &format!("{EVENT}/accreditations/{}/reissue", visitors[0].0),
            &organizer.access_token,
            &json!({"reason": "Damaged"}),
        )
        .await;
    assert_eq!(reissued.status(), 200, "{}", reissued.text().await.unwrap());
    let (_, lost_number, holder) = &visitors[1];
    let reported = app
        .post_as(
            &format!("{EVENT}/accreditations/{}/report-lost", visitors[1].0),
            &holder.access_token,
            &json!({}),
        )
        .await;
    assert_eq!(reported.status(), 201);

    copy.sync(&app, &device, 100).await;
    assert_eq!(copy.end_of(&visitors[0].1)["reason"], "superseded");
    assert_eq!(copy.end_of(lost_number)["reason"], "reported_lost");
    assert_eq!(copy.numbers(), vec![format!("{}-2", visitors[0].1)]);
}

#[tokio::test]
async fn a_device_gets_only_its_zones_badges_and_their_photos_with_an_etag() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    // A trade visitor with a photo (halls), a journalist (halls and the press centre).
    let (holder, trade) = visitor(&app, "trade_visitor", "Maïga", "P0000001").await;
    let participant = get(&app, &organizer, &trade).await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uploaded = put_photo(&app, &holder.access_token, &participant, (400, 500)).await;
    assert_eq!(uploaded.status(), 204);
    approve(&app, &organizer, &trade).await;
    let (_, journalist) = visitor(&app, "media", "Dembélé", "P0000002").await;
    // Media is a sensitive category: two organizers approve it.
    approve(&app, &organizer, &journalist).await;
    let second = app.user_with_roles(&[Role::Organizer]).await;
    let press_number = approve(&app, &second, &journalist).await["badge"]["number"].clone();

    let halls = token(
        &enrolled_device(
            &app,
            &organizer,
            "bamex-2026",
            "Halls",
            &["exhibition_halls"],
        )
        .await,
    );
    let press =
        token(&enrolled_device(&app, &organizer, "bamex-2026", "Press", &["press_centre"]).await);
    let mut press_copy = DeviceCopy::default();
    press_copy.sync(&app, &press, 100).await;
    assert_eq!(
        press_copy.numbers(),
        vec![press_number.as_str().unwrap().to_owned()]
    );
    let mut halls_copy = DeviceCopy::default();
    halls_copy.sync(&app, &halls, 100).await;
    assert_eq!(halls_copy.badges.len(), 2);
    let with_photo = halls_copy
        .badges
        .values()
        .find(|badge| badge["photo_url"].is_string())
        .unwrap()
        .clone();
    let digest = with_photo["photo_digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64);

    let photo_path = with_photo["photo_url"].as_str().unwrap();
    let photo = app.get_as(photo_path, &halls).await;
    assert_eq!(photo.status(), 200);
    assert_eq!(photo.headers()["etag"], format!("\"{digest}\""));
    assert!(
        photo.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private, max-age=")
    );
    let jpeg = photo.bytes().await.unwrap();
    assert_eq!(&jpeg[..2], [0xFF, 0xD8], "a JPEG");
    assert_eq!(
        format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&jpeg)),
        digest,
        "the digest is the photo's"
    );
    let cached = app
        .request_as(reqwest::Method::GET, photo_path, &halls)
        .header("If-None-Match", format!("\"{digest}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    assert_eq!(cached.headers()["etag"], format!("\"{digest}\""));
    // Not a badge of the press centre's.
    assert_problem(app.get_as(photo_path, &press).await, 404, "not_found").await;

    // A person's token, a garbage cursor, a limit out of range, another event's device.
    let agent = app.user_with_roles(&[Role::GateAgent]).await;
    let by_agent = app
        .get_as(&format!("{EVENT}/gate-sync"), &agent.access_token)
        .await;
    assert_problem(by_agent, 403, "gate_device_required").await;
    let garbage = app
        .get_as(
            &format!("{EVENT}/gate-sync?cursor=bm90LWEtY3Vyc29y"),
            &halls,
        )
        .await;
    assert_problem(garbage, 400, "invalid_cursor").await;
    let too_many = app
        .get_as(&format!("{EVENT}/gate-sync?limit=5001"), &halls)
        .await;
    assert_problem(too_many, 422, "validation_failed").await;
    let other_organizer = event_from_today_named(&app, "other-2026").await;
    let elsewhere = token(
        &enrolled_device(
            &app,
            &other_organizer,
            "other-2026",
            "Other",
            &["exhibition_halls"],
        )
        .await,
    );
    let foreign = app.get_as(&format!("{EVENT}/gate-sync"), &elsewhere).await;
    assert_problem(foreign, 403, "device_not_for_event").await;

    // Revoked: refused at once, feed and photos.
    let listed: Value = app
        .get_as(&format!("{EVENT}/gate-devices"), &organizer.access_token)
        .await
        .json()
        .await
        .unwrap();
    let press_id = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|device| device["name"] == "Press")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = app
        .post_as(
            &format!("{EVENT}/gate-devices/{press_id}/revoke"),
            &organizer.access_token,
            &json!({}),
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let refused = app
        .get_as(
            &format!("{EVENT}/gate-sync?cursor={}", press_copy.cursor.unwrap()),
            &press,
        )
        .await;
    assert_problem(refused, 401, "device_revoked").await;
}

#[tokio::test]
async fn a_vetting_refusal_ends_the_badge_as_vetting_refused_and_a_new_photo_resends_it() {
    let app = spawn_app().await;
    let admin = event_from_today(&app).await;
    let patched = app
        .patch_as(
            EVENT,
            &admin.access_token,
            &json!({"vetting_categories": ["trade_visitor"]}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let officer = app.user_with_roles(&[Role::VettingOfficer]).await;
    let rule = async |id: &str, body: Value| {
        let detail: Value = app
            .get_as(&format!("{EVENT}/vetting/{id}"), &officer.access_token)
            .await
            .json()
            .await
            .unwrap();
        let mut body = body;
        body["version"] = detail["accreditation"]["version"].clone();
        let ruled = app
            .post_as(
                &format!("{EVENT}/vetting/{id}/decision"),
                &officer.access_token,
                &body,
            )
            .await;
        assert_eq!(ruled.status(), 200, "{}", ruled.text().await.unwrap());
    };
    let (_, refused) = visitor(&app, "trade_visitor", "Traoré", "V0000001").await;
    let (_, kept) = visitor(&app, "trade_visitor", "Sow", "V0000002").await;
    for id in [&refused, &kept] {
        rule(id, json!({"state": "cleared"})).await;
    }
    let refused_number = approve(&app, &organizer, &refused).await["badge"]["number"].clone();
    approve(&app, &organizer, &kept).await;
    let device = token(
        &enrolled_device(
            &app,
            &organizer,
            "bamex-2026",
            "Halls",
            &["exhibition_halls"],
        )
        .await,
    );
    let mut copy = DeviceCopy::default();
    copy.sync(&app, &device, 100).await;
    assert_eq!(copy.badges.len(), 2);

    rule(
        &refused,
        json!({"state": "refused", "note": "Hit on a watch list"}),
    )
    .await;
    // The organizers replace the other holder's photo: the badge comes again, with its digest.
    let participant = get(&app, &organizer, &kept).await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uploaded = put_photo(&app, &organizer.access_token, &participant, (400, 500)).await;
    assert_eq!(uploaded.status(), 204);
    let page = sync_page(&app, &device, copy.cursor.as_deref(), 100).await;
    let ends = page["ends"].as_array().unwrap();
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0]["number"], refused_number);
    assert_eq!(ends[0]["reason"], "vetting_refused");
    let badges = page["badges"].as_array().unwrap();
    assert_eq!(badges.len(), 1);
    assert_eq!(badges[0]["photo_digest"].as_str().unwrap().len(), 64);
}
