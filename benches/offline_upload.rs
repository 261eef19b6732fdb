//! Uploading 10,000 offline scans in one request (`POST …/scans/batch`), presence rebuilt, over
//! real HTTP to the service on a database of its own, next to the database's ceiling for the
//! same rows: one plain INSERT of 10,000 rows through `unnest`, in the same run.
//!
//!     cargo bench --bench offline_upload            # release, as BENCHMARKS.md reports it
//!     cargo bench --profile dev --bench offline_upload
//!
//! 1,000 trade visitors' badges, issued and signed as the service issues them; a gate device
//! enrolled six hours ago. Each upload holds ten scans per badge (entries and exits in turn, a
//! minute apart, in an hour of their own), shuffled: three fresh uploads, each judged with the
//! previous ones already recorded, then one re-upload (all `already_recorded`).

use std::time::Instant;

use bamex::accreditations::Category;
use bamex::accreditations::badges::{self, BadgeKeys};
use bamex::app::Application;
use bamex::auth::device_tokens;
use bamex::config::{Environment, Settings};
use bamex::db::DatabaseUrl;
use chrono::{Duration, Utc};
use diesel::sql_types::{Array, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use uuid::Uuid;

const DATABASE: &str = "bamex_bench_offline";
const BADGES: usize = 1_000;
const SCANS_PER_BADGE: usize = 10;

#[tokio::main]
async fn main() {
    let mut settings = Settings::load_for(Environment::Test).expect("test settings load");
    let url = DatabaseUrl::parse(settings.database.url.expose_secret()).expect("a database URL");
    let mut maintenance = AsyncPgConnection::establish(&url.maintenance_url())
        .await
        .expect("PostgreSQL runs");
    maintenance
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        .await
        .unwrap();
    settings.database.url = SecretString::from(url.with_name(DATABASE));
    settings.application.host = "127.0.0.1".into();
    settings.application.port = 0;
    settings.email.outbox_dir = std::env::temp_dir().join(DATABASE);
    let app = Application::build(settings.clone())
        .await
        .expect("the application starts");
    let base = format!("http://127.0.0.1:{}/api/v1/events/bench", app.port());
    let pool = app.pool();
    tokio::spawn(app.run_until_stopped());

    let mut conn = pool.get().await.unwrap();
    let token = seed(&mut conn, &settings).await;
    let qrs: Vec<String> = diesel::sql_query("SELECT token FROM badges ORDER BY id")
        .load::<Token>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.token)
        .collect();
    assert_eq!(qrs.len(), BADGES);
    conn.batch_execute("VACUUM ANALYZE").await.unwrap();

    let client = reqwest::Client::new();
    let mut last = Vec::new();
    for run in 0..3 {
        // Hours 5, 4 and 3 before now: after the enrollment, before the clock.
        let start = Utc::now() - Duration::hours(5 - run);
        let scans = upload_scans(&qrs, start, run as u64);
        let body = serde_json::to_vec(&json!({ "scans": scans })).unwrap();
        let (took, answer) = post(&client, &base, &token, body.clone()).await;
        println!(
            "upload {}: {:.2} s for {} scans ({:.1} MB), recorded {}, already {}, refused {}, flagged {}; allowed {}",
            run + 1,
            took,
            scans.len(),
            body.len() as f64 / 1e6,
            answer["recorded"],
            answer["already_recorded"],
            answer["refused"],
            answer["flagged"],
            answer["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["verdict"] == "allowed")
                .count(),
        );
        last = body;
    }
    let (took, answer) = post(&client, &base, &token, last).await;
    println!(
        "re-upload of upload 3: {took:.2} s, already recorded {}",
        answer["already_recorded"]
    );
    let inside: Vec<Count> =
        diesel::sql_query("SELECT count(*) AS count FROM badge_presence WHERE inside")
            .load(&mut conn)
            .await
            .unwrap();
    println!("badges inside after the uploads: {}", inside[0].count);

    // The ceiling: the same number of rows, written by one plain INSERT.
    conn.batch_execute(
        "CREATE TABLE ceiling (id uuid PRIMARY KEY, badge_id uuid, gate text, zone text, \
         direction text, scanned_at timestamptz NOT NULL)",
    )
    .await
    .unwrap();
    let n = BADGES * SCANS_PER_BADGE;
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    let badge_ids: Vec<Uuid> = (0..n).map(|i| ids[i % BADGES]).collect();
    let gates = vec!["north-1"; n];
    let zones = vec!["exhibition_halls"; n];
    let directions: Vec<&str> = (0..n).map(|i| ["in", "out"][i % 2]).collect();
    let times: Vec<_> = (0..n)
        .map(|i| Utc::now() - Duration::seconds(i as i64))
        .collect();
    let started = Instant::now();
    diesel::sql_query("INSERT INTO ceiling SELECT * FROM unnest($1, $2, $3, $4, $5, $6)")
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<SqlUuid>, _>(&badge_ids)
        .bind::<Array<Text>, _>(&gates)
        .bind::<Array<Text>, _>(&zones)
        .bind::<Array<Text>, _>(&directions)
        .bind::<Array<Timestamptz>, _>(&times)
        .execute(&mut conn)
        .await
        .unwrap();
    let ceiling = started.elapsed().as_secs_f64();
    println!(
        "ceiling: one INSERT of {n} rows through unnest: {:.3} s",
        ceiling
    );
}

#[derive(diesel::QueryableByName)]
struct Token {
    #[diesel(sql_type = Text)]
    token: String,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

async fn post(client: &reqwest::Client, base: &str, token: &str, body: Vec<u8>) -> (f64, Value) {
    let started = Instant::now();
    let response = client
        .post(format!("{base}/scans/batch"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    (started.elapsed().as_secs_f64(), answer)
}

/// Ten scans per badge a minute apart from `start`, entries and exits in turn, shuffled
/// (a fixed permutation of `seed`, so that runs compare).
fn upload_scans(qrs: &[String], start: chrono::DateTime<Utc>, seed: u64) -> Vec<Value> {
    let mut scans: Vec<Value> = qrs
        .iter()
        .flat_map(|qr| {
            (0..SCANS_PER_BADGE).map(move |k| {
                let direction = ["in", "out"][k % 2];
                json!({"scan_id": Uuid::new_v4(), "qr": qr, "gate": "north-1",
                       "zone": "exhibition_halls", "direction": direction,
                       "scanned_at": start + Duration::minutes(k as i64) + Duration::seconds((seed * 7 % 60) as i64),
                       "offline_verdict": "allowed"})
            })
        })
        .collect();
    // A linear congruential shuffle: no dependency for a fixed disorder.
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for i in (1..scans.len()).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        scans.swap(i, (state >> 33) as usize % (i + 1));
    }
    scans
}

/// The event `bench` open from yesterday, registered by one organizer, 1,000 approved trade visitors with badges issued and
/// signed as the service does, and a device enrolled six hours ago; answers its token.
async fn seed(conn: &mut AsyncPgConnection, settings: &Settings) -> String {
    conn.batch_execute(&format!(
        "INSERT INTO users (id, email, full_name, roles)
         VALUES (gen_random_uuid(), 'bench@bamex.ml', 'Bench', '{{organizer}}');
         INSERT INTO events (id, slug, name, venue, starts_on, ends_on, status, public_days)
         VALUES (gen_random_uuid(), 'bench', 'Bench', 'Bamako', current_date - 1, current_date + 2, 'open', '{{}}');
         INSERT INTO participants (id, event_id, registered_by, first_name, last_name, organization, nationality,
                                   date_of_birth, id_document_type, id_document_ciphertext,
                                   id_document_nonce, id_document_key_id, id_document_hash)
         SELECT gen_random_uuid(), e.id, u.id, 'Prénom' || g, 'Nom' || g, 'Organisation', 'ML',
                date '1980-01-01', 'passport', decode(md5(g::text), 'hex'),
                decode(substr(md5(g::text), 1, 24), 'hex'), 'dev1', decode(md5((g * 3)::text), 'hex')
         FROM generate_series(1, {BADGES}) g, events e, users u;
         INSERT INTO accreditations (id, event_id, participant_id, category, status)
         SELECT gen_random_uuid(), p.event_id, p.id, 'trade_visitor', 'approved' FROM participants p;"
    ))
    .await
    .unwrap();
    let event = bamex::events::store::find_by_slug(conn, "bench")
        .await
        .unwrap();
    let keys = BadgeKeys::new(&settings.badges).unwrap();
    let accreditations: Vec<Uuid> = {
        use bamex::db::schema::accreditations::dsl;
        use diesel::QueryDsl;
        dsl::accreditations
            .select(dsl::id)
            .load(conn)
            .await
            .unwrap()
    };
    for id in accreditations {
        badges::issue(conn, &keys, &event, id, Category::TradeVisitor)
            .await
            .unwrap();
    }
    let (token, digest) = device_tokens::generate();
    diesel::sql_query(
        "INSERT INTO gate_devices (id, event_id, name, gates, zones, enrollment_code_digest,
                                   enrollment_expires_at, enrolled_at, token_digest)
         VALUES ($1, $2, 'Bench scanner', '{north-1}', '{exhibition_halls}', $3,
                 now() + interval '1 day', now() - interval '6 hours', $4)",
    )
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(event.id)
    .bind::<diesel::sql_types::Bytea, _>(Uuid::new_v4().as_bytes().to_vec())
    .bind::<diesel::sql_types::Bytea, _>(digest)
    .execute(conn)
    .await
    .unwrap();
    token
}
