//! The read replica (`database.replica_url`): the directory, the review queue and the stats read
//! from a real streaming standby while it keeps up, and from the primary while its replay is
//! paused (`pg_wal_replay_pause()`) past the bound or while it does not answer. The primary and
//! standby pair is `scripts/replica-pair`'s (ports 5440 and 5441), set up on first use.

use std::future::Future;
use std::time::Duration;

use bamex::db::DatabaseUrl;
use bamex::users::Role;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::{Mutex, OnceCell};

use crate::fixtures::{EVENT, apply, company, open_event, visitor};
use crate::helpers::{
    SmtpSink, TestApp, TestDb, TestUser, block_on_a_thread_of_its_own, manifest_dir, spawn_app_on,
};
use crate::metrics::{metrics_url, scrape_at, value};

struct Pair {
    primary: String,
    standby: String,
}

/// Runs `scripts/replica-pair` with `args`: its output.
async fn replica_pair(args: &'static [&'static str]) -> String {
    let script = manifest_dir().join("scripts/replica-pair");
    let output =
        tokio::task::spawn_blocking(move || std::process::Command::new(script).args(args).output())
            .await
            .unwrap()
            .expect("scripts/replica-pair runs");
    assert!(
        output.status.success(),
        "scripts/replica-pair failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The pair's URLs, the script run once a test run (a test that stops the standby runs it
/// again to start it).
async fn pair() -> &'static Pair {
    static PAIR: OnceCell<Pair> = OnceCell::const_new();
    PAIR.get_or_init(|| async {
        let stdout = replica_pair(&[]).await;
        let mut urls = stdout.lines();
        Pair {
            primary: urls.next().expect("the primary's URL").to_owned(),
            standby: urls.next().expect("the standby's URL").to_owned(),
        }
    })
    .await
}

/// Tests that pause the one standby's replay take turns.
static STANDBY_IN_USE: Mutex<()> = Mutex::const_new(());

async fn standby(pair: &Pair) -> AsyncPgConnection {
    AsyncPgConnection::establish(&pair.standby).await.unwrap()
}

/// The app on a database of the pair's primary, reading from the standby within `max_lag_ms`.
async fn spawn_app_on_pair(pair: &Pair, max_lag_ms: u64) -> TestApp {
    let db = TestDb::from_template_on(&pair.primary).await;
    let replica_url = DatabaseUrl::parse(&pair.standby)
        .unwrap()
        .with_name(&db.name);
    spawn_app_on(db, SmtpSink::up(), |settings| {
        settings.database.replica_url = SecretString::from(replica_url);
        settings.database.replica_max_lag_ms = max_lag_ms;
    })
    .await
}

/// Resumes the standby's replay when the test ends, passed or failed.
struct ReplayResumed(String);

impl Drop for ReplayResumed {
    fn drop(&mut self) {
        let url = self.0.clone();
        block_on_a_thread_of_its_own(async move {
            let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
            conn.batch_execute("SELECT pg_wal_replay_resume()")
                .await
                .unwrap();
        });
    }
}

async fn pause_replay(pair: &Pair) {
    #[derive(diesel::QueryableByName)]
    struct PauseState {
        #[diesel(sql_type = Text)]
        state: String,
    }
    let mut conn = standby(pair).await;
    conn.batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    // Pausing is asked for; replay stops at its next record.
    for _ in 0..400 {
        let paused: PauseState =
            diesel::sql_query("SELECT pg_get_wal_replay_pause_state() AS state")
                .get_result(&mut conn)
                .await
                .unwrap();
        if paused.state == "paused" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replay did not pause");
}

/// Polls `check` for up to 20 s.
async fn eventually<Check, Checked>(what: &str, mut check: Check)
where
    Check: FnMut() -> Checked,
    Checked: Future<Output = bool>,
{
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 20 s for {what}");
}

/// The replica's metrics at `metrics`: whether reads go to it, and its lag in seconds.
async fn replica_metrics(client: &reqwest::Client, metrics: &str) -> (f64, Option<f64>) {
    let scraped = scrape_at(client, metrics).await;
    let reads = value(&scraped, "bamex_db_replica_reads", &[]).expect("a replica is configured");
    (reads, value(&scraped, "bamex_db_replica_lag_seconds", &[]))
}

/// Waits until the instance with `metrics` reads from the replica (`true`) or the primary;
/// returns the lag then.
async fn wait_for_reads_on_replica(
    client: &reqwest::Client,
    metrics: &str,
    on_replica: bool,
) -> Option<f64> {
    for _ in 0..400 {
        let (reads, lag) = replica_metrics(client, metrics).await;
        if reads == f64::from(u8::from(on_replica)) {
            return lag;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "reads never went to the {}",
        if on_replica { "replica" } else { "primary" }
    );
}

/// `GET path` on the instance at `base` as `user`: its JSON.
async fn read(client: &reqwest::Client, base: &str, path: &str, user: &TestUser) -> Value {
    let response = client
        .get(format!("{base}{path}"))
        .bearer_auth(&user.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// What the instance at `base` shows `organizer`: the queue's ids, the directory's ids and the
/// accreditations the stats count.
async fn shown(
    client: &reqwest::Client,
    base: &str,
    organizer: &TestUser,
) -> (Vec<String>, Vec<String>, i64) {
    let queue = read(client, base, &format!("{EVENT}/accreditations"), organizer).await;
    let directory = read(client, base, &format!("{EVENT}/exhibitors"), organizer).await;
    let stats = read(client, base, &format!("{EVENT}/stats"), organizer).await;
    let counted = stats["accreditations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["count"].as_i64().unwrap())
        .sum();
    (ids(&queue), ids(&directory), counted)
}

#[tokio::test]
async fn reads_that_may_lag_come_from_the_replica_and_from_the_primary_while_it_lags_too_far() {
    let pair = pair().await;
    let _turn = STANDBY_IN_USE.lock().await;
    let app = spawn_app_on_pair(pair, 1000).await;
    let _resumed = ReplayResumed(pair.standby.clone());
    let client = &app.client;
    let strict = metrics_url(&app);
    // An instance that tolerates an hour of lag: what it shows is what the replica holds.
    let (patient, patient_metrics) = app
        .another_instance_with(|settings| settings.database.replica_max_lag_ms = 3_600_000)
        .await;
    let patient_metrics = format!(
        "http://127.0.0.1:{}/metrics",
        patient_metrics.expect("metrics on")
    );

    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let lag = wait_for_reads_on_replica(client, &strict, true).await;
    assert!(lag.is_some_and(|lag| lag <= 1.0), "lag {lag:?}");
    wait_for_reads_on_replica(client, &patient_metrics, true).await;

    // A write on the primary shows through the replica.
    let (_, first) = visitor(&app, "trade_visitor", "Traoré", "ML-0001").await;
    let (_, aselsan) = apply(&app, &company("Aselsan", "TR")).await;
    eventually("the replica to show the writes", || async {
        let (queue, directory, counted) = shown(client, &patient, &organizer).await;
        queue == [first.clone()] && directory == [aselsan.clone()] && counted == 1
    })
    .await;

    // Replay paused: the replica keeps showing what it had, long after a live one would have
    // caught up, to the instance that tolerates the lag.
    pause_replay(pair).await;
    let (_, second) = visitor(&app, "trade_visitor", "Keïta", "ML-0002").await;
    let (baykar_owner, baykar) = apply(&app, &company("Baykar", "TR")).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        shown(client, &patient, &organizer).await,
        (vec![first.clone()], vec![aselsan.clone()], 1)
    );
    assert_eq!(replica_metrics(client, &patient_metrics).await.0, 1.0);
    // An applicant's own list is read where it was written.
    let mine = read(
        client,
        &patient,
        &format!("{EVENT}/exhibitors?mine=true"),
        &baykar_owner,
    )
    .await;
    assert_eq!(ids(&mine), std::slice::from_ref(&baykar));

    // Past the bound, the other instance reads the primary: the fresh writes show.
    let lag = wait_for_reads_on_replica(client, &strict, false)
        .await
        .expect("the lag is measured");
    assert!(lag > 1.0, "lag {lag} s");
    let (queue, mut directory, counted) = shown(client, &app.address, &organizer).await;
    assert_eq!(queue, [first.clone(), second.clone()]);
    directory.sort();
    let mut expected = vec![aselsan.clone(), baykar.clone()];
    expected.sort();
    assert_eq!(directory, expected);
    assert_eq!(counted, 2);

    // Replay resumed: reads go back to the replica, which has it all.
    standby(pair)
        .await
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .unwrap();
    wait_for_reads_on_replica(client, &strict, true).await;
    let (queue, _, counted) = shown(client, &app.address, &organizer).await;
    assert_eq!((queue, counted), (vec![first, second], 2));
    let (_, directory, _) = shown(client, &patient, &organizer).await;
    assert_eq!(directory.len(), 2);
}

#[tokio::test]
async fn a_replica_that_does_not_answer_leaves_every_read_on_the_primary() {
    let db = TestDb::from_template().await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let replica_url = format!("postgres://postgres@127.0.0.1:{closed}/{}", db.name);
    let app = spawn_app_on(db, SmtpSink::up(), |settings| {
        settings.database.replica_url = SecretString::from(replica_url);
    })
    .await;
    let metrics = metrics_url(&app);
    eventually("the probe to fail", || async {
        let scraped = scrape_at(&app.client, &metrics).await;
        value(&scraped, "bamex_db_replica_probe_success", &[]) == Some(0.0)
    })
    .await;

    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (_, accreditation) = visitor(&app, "trade_visitor", "Traoré", "ML-0001").await;
    let (_, exhibitor) = apply(&app, &company("Aselsan", "TR")).await;
    assert_eq!(
        shown(&app.client, &app.address, &organizer).await,
        (vec![accreditation], vec![exhibitor], 1)
    );
    assert_eq!(replica_metrics(&app.client, &metrics).await, (0.0, None));
}

/// Starts the standby again when the test ends, passed or failed.
struct StandbyRestarted;

impl Drop for StandbyRestarted {
    fn drop(&mut self) {
        let script = manifest_dir().join("scripts/replica-pair");
        let _ = std::process::Command::new(script).output();
    }
}

#[tokio::test]
async fn reads_leave_a_replica_that_stops_without_failing_and_return_when_it_is_back() {
    let pair = pair().await;
    let _turn = STANDBY_IN_USE.lock().await;
    let app = spawn_app_on_pair(pair, 1000).await;
    let client = &app.client;
    let metrics = metrics_url(&app);
    open_event(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let (_, accreditation) = visitor(&app, "trade_visitor", "Traoré", "ML-0001").await;
    let (_, exhibitor) = apply(&app, &company("Aselsan", "TR")).await;
    wait_for_reads_on_replica(client, &metrics, true).await;
    let expected = (vec![accreditation], vec![exhibitor], 1);
    eventually("the replica to show the writes", || async {
        shown(client, &app.address, &organizer).await == expected
    })
    .await;

    let _restarted = StandbyRestarted;
    replica_pair(&["stop-standby"]).await;
    // At once: whether the probe or a request found the replica gone first (its pooled
    // connections are dead and no new one opens), the reads go to the primary.
    assert_eq!(shown(client, &app.address, &organizer).await, expected);
    wait_for_reads_on_replica(client, &metrics, false).await;
    // A request may find the replica gone before the probe does: then the lag goes a tick later.
    eventually(
        "no lag to be measured while the replica is down",
        || async { replica_metrics(client, &metrics).await.1.is_none() },
    )
    .await;
    assert_eq!(shown(client, &app.address, &organizer).await, expected);

    replica_pair(&[]).await;
    wait_for_reads_on_replica(client, &metrics, true).await;
    assert_eq!(shown(client, &app.address, &organizer).await, expected);
}
