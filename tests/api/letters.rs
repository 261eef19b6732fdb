//! Verifiable visa letters: issued to a consulate in French or English, printed with their code
//! and QR, confirmed on the public route; a delegation's letters in one PDF.

use bamex::db::schema::{accreditations, events};
use bamex::users::Role;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::fixtures::{EVENT, active_delegation, approve, event_from_today, person, visitor};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app, spawn_app_with};

/// Runs a command and returns its standard output.
fn run(program: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (poppler-utils, zbar-tools): {e}"));
    assert!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A PDF downloaded to a fresh file of its own directory.
struct Pdf {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
}

impl Pdf {
    async fn from(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        let dir = std::env::temp_dir().join(uuid::Uuid::new_v4().to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("letter.pdf");
        std::fs::write(&path, response.bytes().await.unwrap()).unwrap();
        Self { dir, path }
    }

    fn text(&self) -> String {
        run("pdftotext", &[self.path.to_str().unwrap(), "-"])
    }

    fn pages(&self) -> u32 {
        run("pdfinfo", &[self.path.to_str().unwrap()])
            .lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .map(|n| n.trim().parse().unwrap())
            .unwrap()
    }

    /// What the QR of the first page decodes to.
    fn qr(&self) -> String {
        let image = self.dir.join("page");
        run(
            "pdftoppm",
            &[
                "-r",
                "200",
                "-png",
                "-singlefile",
                self.path.to_str().unwrap(),
                image.to_str().unwrap(),
            ],
        );
        let png = self.dir.join("page.png");
        run("zbarimg", &["--raw", "-q", png.to_str().unwrap()])
            .trim()
            .to_owned()
    }
}

impl Drop for Pdf {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The verification codes printed in a letter's text: six groups of four symbols.
fn printed_codes(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|word| {
            let groups: Vec<&str> = word.split('-').collect();
            groups.len() == 6
                && groups.iter().all(|g| {
                    g.len() == 4
                        && g.chars()
                            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
                })
        })
        .map(str::to_owned)
        .collect()
}

/// The code printed on the accreditation's letter, downloaded as `token`.
async fn printed_code(app: &TestApp, token: &str, id: &str) -> String {
    let text = Pdf::from(app.get_as(&format!("{}.pdf", letter_path(id)), token).await)
        .await
        .text();
    let codes = printed_codes(&text);
    assert_eq!(codes.len(), 1, "{text}");
    codes[0].clone()
}

fn letter_path(id: &str) -> String {
    format!("{EVENT}/accreditations/{id}/invitation-letter")
}

async fn verify(app: &TestApp, code: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/letters/{code}")).await
}

/// An approved trade visitor of an event running from today; returns the organizer, the
/// applicant and the accreditation id.
async fn approved_visitor(app: &TestApp) -> (TestUser, TestUser, String) {
    event_from_today(app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (applicant, id) = visitor(app, "trade_visitor", "Şahin", "H1000001").await;
    approve(app, &organizer, &id).await;
    (organizer, applicant, id)
}

#[tokio::test]
async fn a_letter_is_issued_to_a_consulate_printed_with_its_code_and_verified_publicly() {
    let app = spawn_app().await;
    let (_, applicant, id) = approved_visitor(&app).await;
    let token = &applicant.access_token;
    let consulate = "Ambassade de la République du Mali à Ankara";
    let request = json!({"consulate": consulate, "language": "en"});

    let issued = app.post_as(&letter_path(&id), token, &request).await;
    assert_eq!(issued.status(), 201);
    let issued: Value = issued.json().await.unwrap();
    assert_eq!(issued["consulate"], consulate);
    assert_eq!(issued["language"], "en");
    assert!(
        issued.get("code").is_none(),
        "the code is printed only: {issued}"
    );
    // Unchanged, it is the same letter.
    let again = app.post_as(&letter_path(&id), token, &request).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], issued["id"]);

    // The code is read back from the printed letter, in English, addressed to the consulate.
    let pdf = Pdf::from(
        app.get_as(&format!("{}.pdf", letter_path(&id)), token)
            .await,
    )
    .await;
    assert_eq!(pdf.pages(), 1);
    let text = pdf.text();
    assert!(
        text.contains(consulate)
            && text.contains("Dear Sir or Madam")
            && text.contains("LETTER OF INVITATION")
            && text.contains("H1000001"),
        "{text}"
    );
    let codes = printed_codes(&text);
    assert_eq!(codes.len(), 1, "{text}");
    let code = &codes[0];
    let url = format!("http://localhost:3000/letters/{code}");
    assert!(text.contains(&url), "{text}");
    assert_eq!(pdf.qr(), url, "the QR carries the verification link");

    // A consulate confirms it, with the number masked, and learns nothing more.
    let today = chrono::Utc::now().date_naive().to_string();
    let expected = json!({"event": "BAMEX'26", "holder_name": "Ayşe ŞAHIN", "nationality": "TR",
                          "document_number": "••••0001", "issued_on": today});
    for typed in [code.clone(), code.to_lowercase(), code.replace('-', "")] {
        let confirmed = verify(&app, &typed).await;
        assert_eq!(confirmed.status(), 200, "{typed}");
        assert_eq!(confirmed.json::<Value>().await.unwrap(), expected);
    }

    // A forged code and a malformed one get the same answer.
    let last = code.chars().last().unwrap();
    let forged = format!(
        "{}{}",
        &code[..code.len() - 1],
        if last == 'A' { 'B' } else { 'A' }
    );
    let forged = assert_problem(verify(&app, &forged).await, 404, "not_found").await;
    let malformed = assert_problem(verify(&app, "not-a-code").await, 404, "not_found").await;
    assert_eq!(forged, malformed);

    // Another consulate, in French: a new letter, printed from then on; the first one still
    // verifies.
    let french = app
        .post_as(
            &letter_path(&id),
            token,
            &json!({"consulate": "Consulat du Mali à Istanbul"}),
        )
        .await;
    assert_eq!(french.status(), 201);
    let french: Value = french.json().await.unwrap();
    assert_eq!(french["language"], "fr");
    assert_ne!(french["id"], issued["id"]);
    let text = Pdf::from(
        app.get_as(&format!("{}.pdf", letter_path(&id)), token)
            .await,
    )
    .await
    .text();
    assert!(
        text.contains("Consulat du Mali à Istanbul") && text.contains("Madame, Monsieur"),
        "{text}"
    );
    let french_codes = printed_codes(&text);
    assert!(
        french_codes.len() == 1 && &french_codes[0] != code,
        "{text}"
    );
    assert_eq!(verify(&app, &french_codes[0]).await.status(), 200);
    assert_eq!(verify(&app, code).await.status(), 200);

    // Someone else's accreditation is not found; a blank consulate is a field error.
    let stranger = app.user_with_roles(&[Role::Visitor]).await;
    let refused = app
        .post_as(&letter_path(&id), &stranger.access_token, &request)
        .await;
    assert_problem(refused, 404, "not_found").await;
    let blank = app
        .post_as(&letter_path(&id), token, &json!({"consulate": " "}))
        .await;
    assert_problem(blank, 422, "validation_failed").await;
}

#[tokio::test]
async fn the_letter_of_existing_clients_is_issued_on_first_download() {
    let app = spawn_app().await;
    let (organizer, applicant, id) = approved_visitor(&app).await;
    let path = format!("{}.pdf", letter_path(&id));
    let text = Pdf::from(app.get_as(&path, &applicant.access_token).await)
        .await
        .text();
    assert!(
        text.contains("À l'attention des services consulaires")
            && text.contains("LETTRE D'INVITATION"),
        "{text}"
    );
    let codes = printed_codes(&text);
    assert_eq!(codes.len(), 1, "{text}");
    // The same letter for everyone after: the organizer prints the same code.
    let again = Pdf::from(app.get_as(&path, &organizer.access_token).await)
        .await
        .text();
    assert_eq!(printed_codes(&again), codes);
    assert_eq!(verify(&app, &codes[0]).await.status(), 200);
}

/// Makes the event vet `category` and puts the accreditation in `state`, as the vetting routes
/// will.
async fn vetting(app: &TestApp, category: &str, id: &str, state: &str) {
    let mut conn = app.conn().await;
    diesel::update(events::table.filter(events::slug.eq("bamex-2026")))
        .set(events::vetting_categories.eq(vec![category.to_owned()]))
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::update(accreditations::table.find(id.parse::<uuid::Uuid>().unwrap()))
        .set(accreditations::vetting_state.eq(state))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn letters_wait_for_clearance_where_the_event_vets_and_are_withdrawn_by_a_refusal() {
    let app = spawn_app().await;
    let (_, applicant, id) = approved_visitor(&app).await;
    let token = &applicant.access_token;
    let request = json!({"consulate": "Ambassade du Mali à Ankara"});
    vetting(&app, "trade_visitor", &id, "pending").await;
    assert_problem(
        app.post_as(&letter_path(&id), token, &request).await,
        409,
        "awaiting_clearance",
    )
    .await;
    assert_problem(
        app.get_as(&format!("{}.pdf", letter_path(&id)), token)
            .await,
        409,
        "awaiting_clearance",
    )
    .await;

    vetting(&app, "trade_visitor", &id, "cleared").await;
    let issued = app.post_as(&letter_path(&id), token, &request).await;
    assert_eq!(issued.status(), 201);
    let code = printed_code(&app, token, &id).await;
    assert_eq!(verify(&app, &code).await.status(), 200);

    // A refusal afterwards: the letter no longer confirms anything.
    vetting(&app, "trade_visitor", &id, "refused").await;
    assert_problem(verify(&app, &code).await, 410, "letter_withdrawn").await;
}

#[tokio::test]
async fn verification_is_rate_limited_per_client() {
    let app = spawn_app_with(|s| {
        s.rate_limits.per_ip_burst = 3;
        s.rate_limits.per_ip_per_minute = 1;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            verify(&app, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF").await.status(),
            404
        );
    }
    let limited = verify(&app, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF").await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=61).contains(&retry_after));
    assert_problem(limited, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_letter_of_a_purged_event_answers_410() {
    let app = spawn_app().await;
    let (_, applicant, id) = approved_visitor(&app).await;
    let code = printed_code(&app, &applicant.access_token, &id).await;
    let code = code.as_str();
    assert_eq!(verify(&app, code).await.status(), 200);
    let mut conn = app.conn().await;
    let event_id: uuid::Uuid = events::table
        .filter(events::slug.eq("bamex-2026"))
        .select(events::id)
        .first(&mut conn)
        .await
        .unwrap();
    bamex::retention::purge_event(&mut conn, event_id)
        .await
        .unwrap()
        .expect("purged");
    assert_problem(verify(&app, code).await, 410, "personal_data_purged").await;
}

/// Registers a member of the delegation; returns its accreditation id.
async fn member(
    app: &TestApp,
    delegation: &str,
    lead: &str,
    last_name: &str,
    document: &str,
) -> String {
    let response = app
        .post_as(
            &format!("{EVENT}/delegations/{delegation}/members"),
            lead,
            &person(last_name, document),
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["accreditation"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn organizers_download_a_delegations_letters_as_one_pdf() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    // Delegation members need two organizers (four eyes).
    let second = app.user_with_roles(&[Role::Organizer]).await;
    let (delegation, lead) = active_delegation(&app, &organizer, "liaison@msb.gov.tr", 5).await;
    let mut approved = Vec::new();
    for (name, document) in [("Aydın", "U1000001"), ("Demir", "U1000002")] {
        let id = member(&app, &delegation, &lead, name, document).await;
        approve(&app, &organizer, &id).await;
        approve(&app, &second, &id).await;
        approved.push(id);
    }
    member(&app, &delegation, &lead, "Kaya", "U1000003").await;

    // One member already has a letter to a consulate of their choice; it is the one printed.
    let chosen = app
        .post_as(
            &letter_path(&approved[0]),
            &lead,
            &json!({"consulate": "Embassy of Mali in Ankara", "language": "en"}),
        )
        .await;
    assert_eq!(chosen.status(), 201);
    let chosen = printed_code(&app, &lead, &approved[0]).await;

    let path = format!("{EVENT}/delegations/{delegation}/letters.pdf?language=en");
    let pdf = Pdf::from(app.get_as(&path, &organizer.access_token).await).await;
    assert_eq!(
        pdf.pages(),
        2,
        "one page per approved member, the pending one left out"
    );
    let text = pdf.text();
    let codes = printed_codes(&text);
    assert_eq!(codes.len(), 2, "{text}");
    assert!(codes.contains(&chosen), "{codes:?}");
    assert!(
        text.contains("Embassy of Mali in Ankara")
            && text.contains("To the consular services")
            && text.contains("U1000001")
            && text.contains("U1000002")
            && !text.contains("KAYA"),
        "{text}"
    );
    for code in &codes {
        assert_eq!(verify(&app, code).await.status(), 200);
    }

    // The lead prints their own members' letters (the number masked) but not the delegation's
    // batch; another delegation's lead finds neither.
    let own = Pdf::from(
        app.get_as(&format!("{}.pdf", letter_path(&approved[1])), &lead)
            .await,
    )
    .await
    .text();
    assert!(
        own.contains("••••0002") && !own.contains("U1000002"),
        "{own}"
    );
    assert_eq!(app.get_as(&path, &lead).await.status(), 403);
    let (_, other_lead) = active_delegation(&app, &organizer, "liaison@mod.gov.gh", 5).await;
    assert_problem(
        app.get_as(&format!("{}.pdf", letter_path(&approved[1])), &other_lead)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.post_as(
            &letter_path(&approved[1]),
            &other_lead,
            &json!({"consulate": "Embassy of Mali in Accra"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
}
