//! How fast the outbox worker sends approval emails, each with its badge PDF (issue 17, item 1;
//! target: 10,000 in under 60 s). A scratch database (`bamex_bench_outbox`, dropped first) gets
//! 10,000 approved trade visitors, each with a 400 × 500 JPEG photo and a live badge, and one
//! approval email queued for each with its badge to attach; the worker then runs as the service
//! runs it, against an SMTP server in this process (mailin-embedded, counting messages and
//! Message-IDs), and the time is from the moment the emails fall due until the server has them
//! all, then until all are recorded as sent. The same emails are then sent again one at a time
//! (`email.concurrency` and `email.smtp_connections` 1, as the worker sent before), a tenth of
//! them, to compare.
//!
//!     cargo bench --bench outbox_drain            # release, as BENCHMARKS.md reports it
//!     cargo bench --profile dev --bench outbox_drain

use std::collections::HashSet;
use std::io::Cursor;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bamex::config::{Environment, Settings};
use bamex::db::{self, DbPool};
use bamex::email::worker::OutboxWorker;
use diesel::sql_types::{BigInt, Bytea};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

const EMAILS: i64 = 10_000;
const DATABASE: &str = "bamex_bench_outbox";
const SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// What the SMTP server received: the Message-IDs, and how many messages in all.
#[derive(Clone, Default)]
struct Received {
    ids: Arc<Mutex<HashSet<Vec<u8>>>>,
    messages: Arc<Mutex<usize>>,
}

impl Received {
    fn count(&self) -> usize {
        *self.messages.lock().unwrap()
    }
    fn distinct(&self) -> usize {
        self.ids.lock().unwrap().len()
    }
}

#[derive(Clone, Default)]
struct Counting {
    received: Received,
    data: Vec<u8>,
}

impl mailin_embedded::Handler for Counting {
    fn data_start(&mut self, _: &str, _: &str, _: bool, _: &[String]) -> mailin_embedded::Response {
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let id = self
            .data
            .split(|&b| b == b'\n')
            .find(|line| line.starts_with(b"Message-ID:"))
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        self.received.ids.lock().unwrap().insert(id);
        *self.received.messages.lock().unwrap() += 1;
        mailin_embedded::response::OK
    }
}

/// A 400 × 500 JPEG as uploads are stored.
fn photo() -> Vec<u8> {
    let image = image::RgbImage::from_fn(400, 500, |x, y| {
        image::Rgb([
            (x % 256) as u8,
            ((y * 3) % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut jpeg), 85)
        .encode_image(&image)
        .expect("encodes");
    jpeg
}

/// An event, `$1` approved trade visitors with a photo (the `$1` of the photos' statement) and a live badge each, and an
/// approval email for each, not yet due.
const LOAD: &str = r#"
INSERT INTO events (id, slug, name, venue, starts_on, ends_on, status, public_days, vetting_categories)
VALUES (gen_random_uuid(), 'bench', 'BAMEX''26 — Bamako Defence & Security Exhibition', 'Bamako',
        current_date, current_date + 2, 'open', '{}', '{}');
INSERT INTO users (id, email, full_name, roles) VALUES (gen_random_uuid(), 'bench@bamex.ml', 'Bench', '{organizer}');
INSERT INTO participants (id, event_id, registered_by, first_name, last_name, organization, nationality,
                          date_of_birth, id_document_type, id_document_ciphertext, id_document_nonce,
                          id_document_key_id, id_document_hash)
SELECT gen_random_uuid(), e.id, u.id, 'Ayşe' || g, 'Şahin' || g, 'Sahel Optique Électronique ' || (g % 500),
       (ARRAY['ML', 'TR', 'FR', 'SN', 'CN', 'BF', 'NE', 'MA'])[1 + g % 8], date '1980-01-01' + (g % 9000),
       'passport', decode(md5(g::text), 'hex'), decode(substr(md5(g::text), 1, 24), 'hex'), 'dev1',
       decode(md5((g * 3)::text), 'hex')
FROM generate_series(1, $1::int) g, events e, users u;
INSERT INTO accreditations (id, event_id, participant_id, category, status, decided_at)
SELECT gen_random_uuid(), p.event_id, p.id, 'trade_visitor', 'approved', now() FROM participants p;
INSERT INTO participant_photos (participant_id, jpeg, width, height)
SELECT p.id, $1, 400, 500 FROM participants p;
INSERT INTO badges (id, accreditation_id, event_id, number, zones, valid_days, key_id, token, expires_at)
SELECT gen_random_uuid(), a.id, a.event_id, 'B26-TRD-' || lpad((row_number() OVER ())::text, 6, '0'),
       '{exhibition_halls}', ARRAY[current_date], 'dev1', repeat('x', 420), now() + interval '10 days'
FROM accreditations a;
INSERT INTO outbox (id, recipient, template, locale, subject, body_text, body_html, badge_accreditation_id,
                    event_id, next_attempt_at)
SELECT gen_random_uuid(), 'visitor' || row_number() OVER () || '@example.org', 'accreditation_update', 'fr',
       'Votre accréditation est approuvée', repeat('Votre badge est joint à ce message. ', 30),
       '<p>' || repeat('Votre badge est joint à ce message. ', 60) || '</p>', a.id, a.event_id,
       'infinity'
FROM accreditations a;
"#;

fn settings(concurrency: usize, smtp_connections: usize, smtp_port: u16) -> Settings {
    let mut settings = Settings::load_for(Environment::Test).expect("test settings");
    settings.database.url = SecretString::from(format!("{SERVER}/{DATABASE}"));
    settings.database.max_connections = 16;
    settings.email.smtp_url = SecretString::from(format!("smtp://127.0.0.1:{smtp_port}"));
    settings.email.smtp_timeout_ms = 15_000;
    settings.email.concurrency = concurrency;
    settings.email.smtp_connections = smtp_connections;
    settings.log.level = "error".into();
    settings
}

/// Makes `count` of the queued emails due, runs a worker until the server received them all and
/// they are recorded as sent, and prints the times.
async fn run(pool: &DbPool, received: &Received, settings: &Settings, count: i64) {
    let mut conn = pool.get().await.unwrap();
    let before = received.count();
    let sent_before = sent(&mut conn).await;
    let worker = OutboxWorker::new(pool.clone(), &settings.email).unwrap();
    let stop = CancellationToken::new();
    diesel::sql_query(
        "UPDATE outbox SET next_attempt_at = now() WHERE id IN \
         (SELECT id FROM outbox WHERE status = 'pending' ORDER BY id LIMIT $1)",
    )
    .bind::<BigInt, _>(count)
    .execute(&mut conn)
    .await
    .unwrap();
    let started = Instant::now();
    let running = tokio::spawn(worker.run(stop.clone()));
    while received.count() - before < count as usize {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = started.elapsed().as_secs_f64();
    while sent(&mut conn).await - sent_before < count {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recorded = started.elapsed().as_secs_f64();
    stop.cancel();
    running.await.unwrap();
    println!(
        "concurrency {}, {} SMTP connections: {count} emails with badge PDFs delivered in {delivered:.2} s \
         ({:.0} a second), all recorded as sent after {recorded:.2} s",
        settings.email.concurrency,
        settings.email.smtp_connections,
        count as f64 / delivered,
    );
}

async fn sent(conn: &mut AsyncPgConnection) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM outbox WHERE status = 'sent'")
        .get_result::<Count>(conn)
        .await
        .unwrap()
        .n
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default()
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

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Received::default();
    let mut server = mailin_embedded::Server::new(Counting {
        received: received.clone(),
        ..Default::default()
    });
    server
        .with_name("sink.bamex.bench")
        .with_num_threads(32)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });

    let fast = settings(16, 8, port);
    bamex::telemetry::init(&fast.log);
    db::ensure_database(&fast.database).await.unwrap();
    db::run_migrations(&format!("{SERVER}/{DATABASE}"))
        .await
        .unwrap();
    let pool = db::build_pool(&fast.database).unwrap();
    let mut conn = pool.get().await.unwrap();
    let started = Instant::now();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        for statement in LOAD.split(";\n").filter(|s| !s.trim().is_empty()) {
            let query = diesel::sql_query(statement);
            match (statement.contains("jpeg"), statement.contains("$1")) {
                (true, _) => query.bind::<Bytea, _>(photo()).execute(conn).await?,
                (_, true) => {
                    query
                        .bind::<BigInt, _>(EMAILS + EMAILS / 10)
                        .execute(conn)
                        .await?
                }
                _ => query.execute(conn).await?,
            };
        }
        Ok(())
    })
    .await
    .unwrap();
    conn.batch_execute("VACUUM ANALYZE").await.unwrap();
    drop(conn);
    println!(
        "loaded {} approved visitors and their emails in {:.1} s; load average {}",
        EMAILS + EMAILS / 10,
        started.elapsed().as_secs_f64(),
        load_average().trim()
    );

    run(&pool, &received, &fast, EMAILS).await;
    println!("load average {}", load_average().trim());
    run(&pool, &received, &settings(1, 1, port), EMAILS / 10).await;
    println!("load average {}", load_average().trim());
    assert_eq!(
        received.distinct(),
        received.count(),
        "every Message-ID once"
    );
}
