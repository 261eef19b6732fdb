//! The test harness: each test gets the real service on a random port, its own PostgreSQL
//! database cloned from a migrated template, and a real SMTP server whose mail it can read.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bamex::app::Application;
use bamex::config::{Environment, Settings};
use bamex::db::{self, DatabaseUrl, DbPool, quote_ident};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use secrecy::SecretString;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

/// Where PostgreSQL is: `TEST_DATABASE_URL`, `DATABASE_URL`, or the local default.
fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn maintenance(server: &str) -> AsyncPgConnection {
    let url = DatabaseUrl::parse(server).unwrap().maintenance_url();
    AsyncPgConnection::establish(&url)
        .await
        .expect("tests need PostgreSQL: set TEST_DATABASE_URL")
}

/// The migrated template on the PostgreSQL server at `server`, named after a hash of the
/// migrations so that a change of schema makes a new one. Built once a server, under an
/// advisory lock (test processes may run in parallel).
async fn template(server: &str) -> String {
    static TEMPLATES: LazyLock<Mutex<HashMap<String, Arc<OnceCell<String>>>>> =
        LazyLock::new(Mutex::default);
    let once = TEMPLATES
        .lock()
        .unwrap()
        .entry(server.to_owned())
        .or_default()
        .clone();
    once.get_or_init(|| async {
        let mut hasher = Sha256::new();
        let mut files: Vec<_> = walk(&manifest_dir().join("migrations"));
        files.sort();
        for file in files {
            hasher.update(file.to_string_lossy().as_bytes());
            hasher.update(std::fs::read(&file).unwrap());
        }
        let digest = hasher.finalize();
        let name = format!("bamex_tpl_{}", &hex(&digest)[..16]);
        let mut conn = maintenance(server).await;
        conn.batch_execute("SELECT pg_advisory_lock(727274)")
            .await
            .unwrap();
        sweep_leftovers(&mut conn, &name).await;
        if !db::database_exists(&mut conn, &name).await.unwrap() {
            let building = format!("{name}_wip");
            for sql in [
                "DROP DATABASE IF EXISTS {0} WITH (FORCE)",
                "CREATE DATABASE {0}",
            ] {
                conn.batch_execute(&sql.replace("{0}", &quote_ident(&building)))
                    .await
                    .unwrap();
            }
            let url = DatabaseUrl::parse(server).unwrap().with_name(&building);
            db::run_migrations(&url).await.expect("migrations apply");
            // The migrating connection may linger for a moment: FORCE-drop is not available
            // for a rename, so retry until it is gone.
            let rename = format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote_ident(&building),
                quote_ident(&name)
            );
            retry(&mut conn, &rename).await;
        }
        // Marks the template as in use, so that a run on another schema (another checkout)
        // does not sweep it away while this one still clones it.
        conn.batch_execute(&format!(
            "COMMENT ON DATABASE {} IS '{}'",
            quote_ident(&name),
            unix_now()
        ))
        .await
        .unwrap();
        conn.batch_execute("SELECT pg_advisory_unlock(727274)")
            .await
            .unwrap();
        name
    })
    .await
    .clone()
}

/// Runs a statement until it succeeds, for up to five seconds.
async fn retry(conn: &mut AsyncPgConnection, sql: &str) {
    for attempt in 0.. {
        match conn.batch_execute(sql).await {
            Ok(()) => return,
            Err(_) if attempt < 50 => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("statement kept failing: {e}"),
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|entry| {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Drops test databases left by crashed runs and templates of other schemas, once they are two
/// hours old (never a running test's database, nor a template another run still clones).
async fn sweep_leftovers(conn: &mut AsyncPgConnection, current_template: &str) {
    use diesel::prelude::*;
    use diesel::sql_types::{Nullable, Text};
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Candidate {
        #[diesel(sql_type = Text)]
        datname: String,
        #[diesel(sql_type = Nullable<Text>)]
        last_used: Option<String>,
    }
    let candidates: Vec<Candidate> = diesel::sql_query(
        "SELECT datname, shobj_description(oid, 'pg_database') AS last_used \
         FROM pg_database WHERE datname LIKE 'bamex\\_t%'",
    )
    .load(conn)
    .await
    .unwrap();
    let cutoff = unix_now().saturating_sub(7200);
    let older = |secs: Option<&str>| {
        secs.and_then(|s| s.parse::<u64>().ok())
            .is_none_or(|s| s < cutoff)
    };
    for Candidate {
        datname: name,
        last_used,
    } in candidates
    {
        let stale = match name.strip_prefix("bamex_test_") {
            Some(rest) => older(rest.split('_').next()),
            None => {
                name.starts_with("bamex_tpl_")
                    && name != current_template
                    && older(last_used.as_deref())
            }
        };
        if stale {
            let _ = conn
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&name)
                ))
                .await;
        }
    }
}

/// A database of the test's own, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    /// The URL of its server (any database named).
    server: String,
}

impl TestDb {
    /// A fresh name; the database itself does not exist yet.
    pub fn unborn() -> Self {
        Self::unborn_on(&server_url())
    }

    /// A fresh name on the server at `server`, a URL naming any database.
    pub fn unborn_on(server: &str) -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        Self {
            name: format!("bamex_test_{}_{}", unix_now(), &suffix[..12]),
            server: server.to_owned(),
        }
    }

    pub async fn from_template() -> Self {
        Self::from_template_on(&server_url()).await
    }

    /// A database cloned from the migrated template of the server at `server`.
    pub async fn from_template_on(server: &str) -> Self {
        let db = Self::unborn_on(server);
        db.create().await;
        db
    }

    /// (Re)creates the database from the template.
    pub async fn create(&self) {
        let template = template(&self.server).await;
        let mut conn = maintenance(&self.server).await;
        // Copying fails while another session is connected to the template; none stays long.
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&self.name),
            quote_ident(&template)
        );
        retry(&mut conn, &sql).await;
    }

    pub async fn drop_now(&self) {
        let mut conn = maintenance(&self.server).await;
        conn.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&self.name)
        ))
        .await
        .unwrap();
    }

    pub fn url(&self) -> String {
        DatabaseUrl::parse(&self.server)
            .unwrap()
            .with_name(&self.name)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let server = self.server.clone();
        block_on_a_thread_of_its_own(async move {
            let mut conn = maintenance(&server).await;
            let _ = conn
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&name)
                ))
                .await;
        });
    }
}

/// Runs `work` to its end from code that is not async, such as `Drop`: a short-lived runtime
/// on a thread of its own does it.
pub fn block_on_a_thread_of_its_own(work: impl Future<Output = ()> + Send + 'static) {
    let _ = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    })
    .join();
}

/// One email as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    pub to: Vec<String>,
    pub raw: Vec<u8>,
}

impl ReceivedEmail {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("a parsable email")
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    pub fn text(&self) -> String {
        self.parsed().body_text(0).unwrap_or_default().into_owned()
    }

    pub fn html(&self) -> String {
        self.parsed().body_html(0).unwrap_or_default().into_owned()
    }

    /// File names of the attachments.
    pub fn attachments(&self) -> Vec<String> {
        self.parsed()
            .attachments()
            .map(|a| {
                mail_parser::MimeHeaders::attachment_name(a)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    /// The `From` header's address.
    pub fn sender(&self) -> String {
        self.parsed()
            .from()
            .and_then(|from| from.first())
            .and_then(|from| from.address())
            .unwrap_or_default()
            .to_owned()
    }

    pub fn message_id(&self) -> String {
        self.parsed().message_id().unwrap_or_default().to_owned()
    }

    /// The first link in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let text = self.text();
        let start = text
            .find(prefix)
            .unwrap_or_else(|| panic!("no link {prefix} in:\n{text}"));
        text[start..].split_whitespace().next().unwrap().to_owned()
    }

    /// The value of the `token` query parameter of the link starting with `prefix`.
    pub fn token(&self, prefix: &str) -> String {
        let link = url::Url::parse(&self.link(prefix)).unwrap();
        link.query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .expect("a token parameter")
    }
}

#[derive(Clone, Default)]
struct SinkHandler {
    inbox: Arc<Mutex<Vec<ReceivedEmail>>>,
    to: Vec<String>,
    data: Vec<u8>,
    /// How long the server takes to accept each message, as a slow relay does.
    delay: Duration,
}

impl mailin_embedded::Handler for SinkHandler {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.to = to.to_vec();
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        std::thread::sleep(self.delay);
        self.inbox.lock().unwrap().push(ReceivedEmail {
            to: std::mem::take(&mut self.to),
            raw: std::mem::take(&mut self.data),
        });
        mailin_embedded::response::OK
    }
}

/// A real SMTP server on a random local port, run by mailin-embedded on its own threads.
pub struct SmtpSink {
    pub port: u16,
    inbox: Arc<Mutex<Vec<ReceivedEmail>>>,
    delay: Duration,
}

impl SmtpSink {
    /// Picks a free port but does not listen yet: the mail server is "down" until [`Self::start`].
    pub fn down() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            port,
            inbox: Arc::default(),
            delay: Duration::ZERO,
        }
    }

    pub fn up() -> Self {
        let sink = Self::down();
        sink.start();
        sink
    }

    /// A server that takes `delay` to accept each message.
    pub fn up_slow(delay: Duration) -> Self {
        let sink = Self {
            delay,
            ..Self::down()
        };
        sink.start();
        sink
    }

    pub fn start(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("SMTP port free");
        let mut server = mailin_embedded::Server::new(SinkHandler {
            inbox: self.inbox.clone(),
            delay: self.delay,
            ..Default::default()
        });
        server
            .with_name("sink.bamex.test")
            // The service pools SMTP connections, each holding a server thread while open.
            .with_num_threads(32)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<ReceivedEmail> {
        self.inbox.lock().unwrap().clone()
    }

    /// Waits (up to 20 s) until at least `count` emails arrived and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedEmail> {
        for _ in 0..400 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} emails, got {}", self.received().len());
    }

    /// The emails sent to `address` so far.
    pub fn to(&self, address: &str) -> Vec<ReceivedEmail> {
        self.received()
            .into_iter()
            .filter(|e| e.to.iter().any(|to| to.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits for the `n`-th (1-based) email to `address`.
    pub async fn wait_for_mail_to(&self, address: &str, n: usize) -> ReceivedEmail {
        for _ in 0..400 {
            if let Some(email) = self.to(address).get(n - 1) {
                return email.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no email #{n} to {address}");
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: DbPool,
    pub settings: Settings,
    pub smtp: SmtpSink,
    pub db: TestDb,
    /// The service's anonymous directory cache, to check its size.
    pub directory_cache: bamex::exhibitors::cache::DirectoryCache,
    /// The port of `/metrics` (`None` when `metrics.listen` is empty).
    pub metrics_port: Option<u16>,
}

/// The service's test settings pointed at this test's database and SMTP server.
pub fn test_settings(db: &TestDb, smtp: &SmtpSink) -> Settings {
    let mut settings = Settings::load_for(Environment::Test).expect("test settings load");
    settings.application.host = "127.0.0.1".into();
    settings.application.port = 0;
    settings.database.url = SecretString::from(db.url());
    settings.email.smtp_url = SecretString::from(smtp.url());
    settings.email.outbox_dir = std::env::temp_dir().join(&db.name);
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(TestDb::from_template().await, SmtpSink::up(), customize).await
}

pub async fn spawn_app_on(
    db: TestDb,
    smtp: SmtpSink,
    customize: impl FnOnce(&mut Settings),
) -> TestApp {
    bamex::telemetry::init(&Settings::load_for(Environment::Test).unwrap().log);
    let mut settings = test_settings(&db, &smtp);
    customize(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let pool = app.pool();
    let directory_cache = app.directory_cache();
    let metrics_port = app.metrics_port();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        pool,
        settings,
        smtp,
        db,
        directory_cache,
        metrics_port,
    }
}

impl TestApp {
    /// Another instance of the service on this one's database, with its own port, pool and
    /// process state, as behind a load balancer: its base URL.
    pub async fn another_instance(&self) -> String {
        self.another_instance_with(|_| {}).await.0
    }

    /// As [`Self::another_instance`], with settings changed by `customize`: its base URL and
    /// its metrics port.
    pub async fn another_instance_with(
        &self,
        customize: impl FnOnce(&mut Settings),
    ) -> (String, Option<u16>) {
        let mut settings = self.settings.clone();
        customize(&mut settings);
        let app = Application::build(settings)
            .await
            .expect("the application starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let metrics_port = app.metrics_port();
        tokio::spawn(app.run_until_stopped());
        (address, metrics_port)
    }
}

/// The password of every account the tests create directly.
pub const PASSWORD: &str = "Niger-river-banks-2026";

/// An account with a live session.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
    /// The TOTP secret of accounts whose roles need a second factor (see [`TestUser::code`]).
    pub mfa_secret: Option<Vec<u8>>,
}

/// The TOTP code of `secret` for the time step `steps` away from now (the server accepts the
/// steps next to the current one, and each step once).
pub fn totp_code(secret: &[u8], steps: i64) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .build()
        .unwrap();
    let at = unix_now() as i64 + steps * 30;
    totp.generate(at as u64).to_string()
}

impl TestUser {
    /// A code of this account's factor, `steps` time steps from now.
    pub fn code(&self, steps: i64) -> String {
        totp_code(
            self.mfa_secret.as_ref().expect("an account with a factor"),
            steps,
        )
    }
}

async fn password_hash() -> &'static str {
    static HASH: OnceCell<String> = OnceCell::const_new();
    HASH.get_or_init(|| async {
        bamex::auth::password::hash(SecretString::from(PASSWORD))
            .await
            .unwrap()
    })
    .await
}

impl TestApp {
    /// Creates a verified account with [`PASSWORD`] straight in the database.
    pub async fn create_user(&self, email: &str, roles: &[bamex::users::Role]) -> uuid::Uuid {
        use bamex::users::store::{NewUser, insert};
        use bamex::users::{EmailAddress, Locale};
        let email = EmailAddress::parse(email).unwrap();
        let mut new_user = NewUser::new(&email, "Test Person", Locale::En, roles);
        new_user.password_hash = Some(password_hash().await);
        new_user.email_verified_at = Some(chrono::Utc::now());
        let mut conn = self.conn().await;
        insert(&mut conn, &new_user).await.unwrap().id
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"email": email, "password": password}),
        )
        .await
    }

    /// A verified account holding `roles`, signed in. Accounts of roles that need a second
    /// factor get one (straight in the database) and sign in with a code computed from it.
    pub async fn user_with_roles(&self, roles: &[bamex::users::Role]) -> TestUser {
        let email = format!("{}@example.org", uuid::Uuid::new_v4().simple());
        let id = self.create_user(&email, roles).await;
        let required = &self.settings.auth.mfa_required_roles;
        let mfa_secret = if roles.iter().any(|role| required.contains(role)) {
            Some(self.give_factor(id).await)
        } else {
            None
        };
        let response = self.login(&email, PASSWORD).await;
        assert_eq!(response.status(), 200);
        let mut pair: Value = response.json().await.unwrap();
        if let Some(secret) = &mfa_secret {
            let code = totp_code(secret, 0);
            let response = self
                .post_json(
                    "/api/v1/auth/login/mfa",
                    &serde_json::json!({"challenge": pair["challenge"], "code": code}),
                )
                .await;
            assert_eq!(response.status(), 200);
            pair = response.json().await.unwrap();
        }
        TestUser {
            id,
            email,
            access_token: pair["access_token"].as_str().unwrap().to_owned(),
            refresh_token: pair["refresh_token"].as_str().unwrap().to_owned(),
            mfa_secret,
        }
    }

    /// Gives the account a confirmed TOTP factor (no recovery codes) and returns its secret.
    pub async fn give_factor(&self, user_id: uuid::Uuid) -> Vec<u8> {
        use bamex::auth::mfa_store;
        let vault = bamex::participants::documents::DocumentVault::new(&self.settings.documents);
        let secret = bamex::auth::totp::new_secret();
        let sealed = vault
            .seal_secret(&mfa_store::secret_context(user_id), &secret)
            .unwrap();
        let mut conn = self.conn().await;
        mfa_store::start_enrollment(&mut conn, user_id, &sealed)
            .await
            .unwrap();
        assert!(mfa_store::confirm(&mut conn, user_id, &[]).await.unwrap());
        secret
    }

    pub fn request_as(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.request_as(reqwest::Method::GET, path, token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_as(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.request_as(reqwest::Method::POST, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_as(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.request_as(reqwest::Method::PATCH, path, token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn conn(&self) -> db::DbConn {
        self.pool.get().await.unwrap()
    }
}

/// Asserts the response is a problem document with this status and code; returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status of {}",
        response.url()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:bamex:problem:{code}"));
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// Runs the `bamex` binary against a database, with optional standard input.
pub fn run_bamex(
    args: &[&str],
    envs: &[(&str, &str)],
    stdin: Option<&str>,
) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_bamex"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("SMTP_URL")
        .env_remove("PORT")
        .env("BAMEX_CONFIG_DIR", manifest_dir().join("config"))
        .env("BAMEX_ENV", "test")
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bamex binary runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// `bamex serve` as a process of its own on a free port of 127.0.0.1, against the database at
/// `database_url`: for tests that signal the process or measure its memory. The caller adds its
/// settings and spawns it; the port is returned with the command.
pub fn bamex_serve(database_url: &str) -> (std::process::Command, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bamex"));
    command
        .arg("serve")
        .env("BAMEX_CONFIG_DIR", manifest_dir().join("config"))
        .env("BAMEX_ENV", "test")
        .env("DATABASE_URL", database_url)
        .env("PORT", port.to_string())
        .env("BAMEX__APPLICATION__HOST", "127.0.0.1");
    (command, port)
}
