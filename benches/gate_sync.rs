//! What a gate device's first sync of 20,000 badges costs (issue 14, item 2; target < 5 s):
//! the service runs in process on a database of its own (`bamex_bench_sync`, dropped and
//! loaded with SQL each run, then vacuumed and analysed), and a device pages through the feed
//! over HTTP until `more` is false, as a device does. Reported: the total time over all pages
//! and the bytes received, at the default page size (2000) and the largest (5000); next to it
//! the ceiling, the feed's own query of the same 20,000 rows in one go (no HTTP, no JSON), and
//! the ratio. Then a sync of the changes after 1,000 revocations.
//!
//!     cargo bench --bench gate_sync            # release, as BENCHMARKS.md reports it
//!     cargo bench --profile dev --bench gate_sync

use std::time::Instant;

use bamex::app::Application;
use bamex::config::{Environment, Settings};
use bamex::events::zones::Zone;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use secrecy::SecretString;
use serde_json::Value;

const BADGES: usize = 20_000;
const DATABASE: &str = "bamex_bench_sync";
const SERVER: &str = "postgres://postgres@127.0.0.1:5432";
const RUNS: usize = 5;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Event, 20,000 approved trade visitors with a photo each and a live badge each (its log rows
/// written by the triggers, as issuing writes them), and one enrolled device at the halls.
fn load_sql(token_digest_hex: &str) -> String {
    format!(
        r#"
INSERT INTO events (id, slug, name, venue, starts_on, ends_on, status, public_days, vetting_categories)
VALUES (gen_random_uuid(), 'bench', 'Bench', 'Bamako', current_date, current_date + 2, 'open', '{{}}', '{{}}');
INSERT INTO users (id, email, full_name, roles) VALUES (gen_random_uuid(), 'bench@bamex.ml', 'Bench', '{{organizer}}');
INSERT INTO participants (id, event_id, registered_by, first_name, last_name, organization, nationality,
                          date_of_birth, id_document_type, id_document_ciphertext, id_document_nonce,
                          id_document_key_id, id_document_hash)
SELECT gen_random_uuid(), e.id, u.id, 'Prénom' || g, 'Nom' || md5(g::text), 'Organisation ' || (g % 500),
       (ARRAY['ML', 'TR', 'FR', 'SN', 'CN', 'BF', 'NE', 'MA'])[1 + g % 8], date '1980-01-01' + (g % 9000),
       'passport', decode(md5(g::text), 'hex'), decode(substr(md5(g::text), 1, 24), 'hex'), 'dev1',
       decode(md5((g * 3)::text), 'hex')
FROM generate_series(1, {BADGES}) g, events e, users u;
INSERT INTO accreditations (id, event_id, participant_id, category, status, decided_at)
SELECT gen_random_uuid(), p.event_id, p.id, 'trade_visitor', 'approved', now() FROM participants p;
-- 3.2 KB each: the feed reads only the digest column, never the photo.
INSERT INTO participant_photos (participant_id, jpeg, width, height)
SELECT p.id, decode(repeat(md5(p.id::text), 200), 'hex'), 400, 500 FROM participants p;
INSERT INTO badges (id, accreditation_id, event_id, number, zones, valid_days, key_id, token, expires_at)
SELECT gen_random_uuid(), a.id, a.event_id, 'B26-TRD-' || lpad((row_number() OVER ())::text, 6, '0'),
       '{{exhibition_halls,static_display,conference_rooms}}',
       ARRAY[current_date, current_date + 1, current_date + 2], 'dev1', repeat('x', 420), now() + interval '10 days'
FROM accreditations a;
INSERT INTO gate_devices (id, event_id, name, gates, zones, enrollment_code_digest, enrollment_expires_at,
                          enrolled_at, token_digest)
SELECT gen_random_uuid(), e.id, 'Bench scanner', '{{north-1}}', '{{exhibition_halls}}', '\x00',
       now() + interval '1 day', now(), '\x{token_digest_hex}' FROM events e;
"#
    )
}

struct Sync {
    seconds: f64,
    pages: usize,
    bytes: usize,
    badges: usize,
    ends: usize,
    cursor: String,
}

async fn sync(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    limit: usize,
    cursor: Option<String>,
) -> Sync {
    let started = Instant::now();
    let (mut pages, mut bytes, mut badges, mut ends) = (0, 0, 0, 0);
    let mut cursor = cursor;
    loop {
        let mut url = format!("{base}/api/v1/events/bench/gate-sync?limit={limit}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let response = client.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.bytes().await.unwrap();
        let page: Value = serde_json::from_slice(&body).unwrap();
        pages += 1;
        bytes += body.len();
        badges += page["badges"].as_array().unwrap().len();
        ends += page["ends"].as_array().unwrap().len();
        cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
        if page["more"] == false {
            break;
        }
    }
    Sync {
        seconds: started.elapsed().as_secs_f64(),
        pages,
        bytes,
        badges,
        ends,
        cursor: cursor.unwrap(),
    }
}

#[tokio::main]
async fn main() {
    let mut admin = AsyncPgConnection::establish(&format!("{SERVER}/postgres"))
        .await
        .expect("PostgreSQL at 127.0.0.1:5432");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        .await
        .unwrap();
    drop(admin);

    let mut settings = Settings::load_for(Environment::Test).expect("test settings");
    settings.application.host = "127.0.0.1".into();
    settings.application.port = 0;
    settings.database.url = SecretString::from(format!("{SERVER}/{DATABASE}"));
    settings.log.level = "error".into();
    settings.email.outbox_dir = std::env::temp_dir().join(DATABASE);
    let app = Application::build(settings)
        .await
        .expect("the service starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    tokio::spawn(app.run_until_stopped());

    let (token, digest) = bamex::auth::device_tokens::generate();
    let digest_hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let mut conn = pool.get().await.unwrap();
    let started = Instant::now();
    conn.batch_execute(&load_sql(&digest_hex)).await.unwrap();
    conn.batch_execute("VACUUM ANALYZE").await.unwrap();
    println!(
        "loaded {BADGES} badges with holders, photos and their log rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::new();
    // Warms the connections and the caches once.
    sync(&client, &base, &token, 2000, None).await;
    for limit in [2000, 5000] {
        let runs: Vec<Sync> = {
            let mut runs = Vec::new();
            for _ in 0..RUNS {
                runs.push(sync(&client, &base, &token, limit, None).await);
            }
            runs
        };
        let counts: Vec<usize> = runs.iter().map(|run| run.badges).collect();
        assert!(counts.iter().all(|n| *n == BADGES), "{counts:?}");
        let seconds = median(runs.iter().map(|run| run.seconds).collect());
        println!(
            "first sync, limit {limit}: median {seconds:.2} s (max {:.2} s) over {RUNS} runs, {} pages, {:.1} MB, {:.0} badges/s",
            runs.iter().map(|run| run.seconds).fold(0.0, f64::max),
            runs[0].pages,
            runs[0].bytes as f64 / 1e6,
            BADGES as f64 / seconds
        );
    }

    // The ceiling: the feed's own query for all 20,000 rows at once, no HTTP, no JSON.
    let event_id: uuid::Uuid = {
        use bamex::db::schema::events;
        use diesel::{ExpressionMethods, QueryDsl};
        events::table
            .filter(events::slug.eq("bench"))
            .select(events::id)
            .first(&mut conn)
            .await
            .unwrap()
    };
    let mut ceiling = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let rows = bamex::gates::sync::store::live_badges(
            &mut conn,
            event_id,
            &[Zone::ExhibitionHalls],
            None,
            BADGES as i64 + 1,
        )
        .await
        .unwrap();
        assert_eq!(rows.len(), BADGES);
        ceiling.push(started.elapsed().as_secs_f64());
    }
    let ceiling = median(ceiling);
    let feed = sync(&client, &base, &token, 2000, None).await;
    println!(
        "ceiling, the same rows in one query: median {ceiling:.2} s; the feed (limit 2000) takes {:.1}× that",
        feed.seconds / ceiling
    );

    // What changed: 1,000 revocations after the first sync.
    conn.batch_execute(
        "UPDATE badges SET revoked_at = now(), end_reason = 'revoked' \
         WHERE id IN (SELECT id FROM badges ORDER BY number LIMIT 1000)",
    )
    .await
    .unwrap();
    let changes = sync(&client, &base, &token, 2000, Some(feed.cursor)).await;
    assert_eq!(changes.ends, 1000);
    println!(
        "sync of the changes after 1,000 revocations: {:.3} s, {} page(s), {:.2} MB, {} ends",
        changes.seconds,
        changes.pages,
        changes.bytes as f64 / 1e6,
        changes.ends
    );
}
