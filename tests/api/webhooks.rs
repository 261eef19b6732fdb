//! Webhooks: registration, signed deliveries to a real HTTP receiver started by the test, a
//! receiver that is down and then up, redelivery, the delivery log, private targets refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bamex::users::Role;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::fixtures::{
    EVENT, apply, approve, approve_exhibitor, company, decide, event_from_today, get, open_event,
    visitor,
};
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app, spawn_app_with};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1 that records every request and answers 200; it can be
/// stopped (connections refused) and started again on the same port.
struct Receiver {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    server: Option<JoinHandle<()>>,
}

impl Receiver {
    async fn up() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut receiver = Self::down(listener.local_addr().unwrap().port());
        receiver.serve(listener);
        receiver
    }

    /// A receiver whose port is known but where nothing listens yet.
    fn down(port: u16) -> Self {
        Self {
            port,
            received: Arc::default(),
            server: None,
        }
    }

    /// A port nothing listens on (bound, then released).
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    async fn start(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let received = self.received.clone();
        self.server = Some(tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let received = received.clone();
                tokio::spawn(async move {
                    if let Some(request) = read_request(stream).await {
                        received.lock().unwrap().push(request);
                    }
                });
            }
        }));
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the receiver got {} requests, not {count}",
            self.received().len()
        );
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Reads one request (head, then `content-length` bytes of body) and answers 200.
async fn read_request(mut stream: TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length")?.parse().ok()?;
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8(buffer[head_end..head_end + length].to_vec()).ok()?;
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
        .ok()?;
    let _ = stream.shutdown().await;
    let method = head.split(' ').next().unwrap_or_default();
    assert_eq!(method, "POST");
    Some(Received { headers, body })
}

/// Checks the Standard Webhooks signature of `request` with the `whsec_…` secret.
fn assert_signed(request: &Received, secret: &str) {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .unwrap();
    let id = request.header("webhook-id");
    let timestamp = request.header("webhook-timestamp");
    assert!(!id.is_empty() && !timestamp.is_empty(), "{request:?}");
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "timestamp {timestamp} is not now");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{}", request.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let signatures: Vec<&str> = request.header("webhook-signature").split(' ').collect();
    assert!(
        signatures.contains(&expected.as_str()),
        "signature {signatures:?}, expected {expected}"
    );
}

const WEBHOOKS: &str = "/api/v1/events/bamex-2026/webhooks";

/// Registers an endpoint as `admin`; returns its answer (with the secret).
async fn register(app: &TestApp, admin: &TestUser, url: &str, kinds: &[&str]) -> Value {
    let response = app
        .post_as(
            WEBHOOKS,
            &admin.access_token,
            &json!({"url": url, "kinds": kinds, "description": "Access control"}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn deliveries(app: &TestApp, admin: &TestUser, endpoint: &str) -> Value {
    let response = app
        .get_as(
            &format!("{WEBHOOKS}/{endpoint}/deliveries"),
            &admin.access_token,
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Waits until every delivery to `endpoint` satisfies `done`; returns the log.
async fn wait_for_log(
    app: &TestApp,
    admin: &TestUser,
    endpoint: &str,
    count: usize,
    done: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let mut log = Vec::new();
    for _ in 0..400 {
        log = deliveries(app, admin, endpoint).await["items"]
            .as_array()
            .unwrap()
            .clone();
        if log.len() == count && log.iter().all(&done) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the delivery log never got there: {log:#?}");
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

/// A pending trade visitor; returns the accreditation id.
async fn pending_visitor(app: &TestApp, last_name: &str, document: &str) -> String {
    visitor(app, "trade_visitor", last_name, document).await.1
}

#[tokio::test]
async fn an_endpoint_is_registered_with_a_secret_shown_once_and_deleted() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;

    let created = register(
        &app,
        &admin,
        "https://crm.example.org/hooks/bamex",
        &["scan.denied", "accreditation.decided"],
    )
    .await;
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{created}");
    assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), 32);
    assert_eq!(created["url"], "https://crm.example.org/hooks/bamex");
    assert_eq!(
        created["kinds"],
        json!(["accreditation.decided", "scan.denied"])
    );
    assert_eq!(created["description"], "Access control");

    // Never again: neither the list nor the database shows it in clear.
    let list: Value = app
        .get_as(WEBHOOKS, &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], created["id"]);
    assert!(list["items"][0].get("secret").is_none(), "{list}");
    assert!(!list.to_string().contains(&secret[6..]));
    {
        use bamex::db::schema::webhook_endpoints;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let stored: Vec<u8> = webhook_endpoints::table
            .select(webhook_endpoints::secret_ciphertext)
            .first(&mut app.conn().await)
            .await
            .unwrap();
        let clear = STANDARD.decode(&secret[6..]).unwrap();
        assert!(!stored.windows(clear.len()).any(|w| w == clear.as_slice()));
    }
    // A second endpoint gets a secret of its own.
    let other = register(
        &app,
        &admin,
        "https://erp.example.org/in",
        &["badge.revoked"],
    )
    .await;
    assert_ne!(other["secret"], created["secret"]);

    for (body, field) in [
        (
            json!({"url": "ftp://example.org/", "kinds": ["scan.denied"]}),
            "url",
        ),
        (
            json!({"url": "https://u:p@example.org/", "kinds": ["scan.denied"]}),
            "url",
        ),
        (json!({"url": "not a url", "kinds": ["scan.denied"]}), "url"),
        (json!({"url": "https://example.org/", "kinds": []}), "kinds"),
        (
            json!({"url": "https://example.org/", "kinds": ["scan.denied", "scan.denied"]}),
            "kinds",
        ),
        // An unknown kind fails deserialization, which names the body (as for any enum).
        (
            json!({"url": "https://example.org/", "kinds": ["badge.reissued"]}),
            "body",
        ),
    ] {
        let problem = assert_problem(
            app.post_as(WEBHOOKS, &admin.access_token, &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(
            problem["errors"][0]["field"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{body}: {problem}"
        );
    }

    let deleted = app
        .request_as(
            reqwest::Method::DELETE,
            &format!("{WEBHOOKS}/{}", id(&created)),
            &admin.access_token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let list: Value = app
        .get_as(WEBHOOKS, &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], other["id"]);
    let again = app
        .request_as(
            reqwest::Method::DELETE,
            &format!("{WEBHOOKS}/{}", id(&created)),
            &admin.access_token,
        )
        .send()
        .await
        .unwrap();
    assert_problem(again, 404, "not_found").await;
}

#[tokio::test]
async fn private_targets_are_refused_at_registration_and_at_delivery_when_not_allowed() {
    let app = spawn_app_with(|s| s.webhooks.allow_private_targets = false).await;
    let admin = open_event(&app).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.20/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
    ] {
        let problem = assert_problem(
            app.post_as(
                WEBHOOKS,
                &admin.access_token,
                &json!({"url": url, "kinds": ["accreditation.decided"]}),
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }
    assert_eq!(
        app.get_as(WEBHOOKS, &admin.access_token)
            .await
            .json::<Value>()
            .await
            .unwrap()["total"],
        0
    );

    // Names and addresses change after registration (DNS rebinding): each delivery checks
    // again, on the addresses it would connect to. Two endpoints registered with a public
    // address are pointed at the receiver afterwards, one by address, one by name.
    let receiver = Receiver::up().await;
    let literal = register(
        &app,
        &admin,
        "http://8.8.8.8/hook",
        &["accreditation.decided"],
    )
    .await;
    let by_name = register(
        &app,
        &admin,
        "http://8.8.4.4/hook",
        &["accreditation.decided"],
    )
    .await;
    {
        use bamex::db::schema::webhook_endpoints;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let mut conn = app.conn().await;
        for (endpoint, url) in [
            (&literal, receiver.url("/hook")),
            (&by_name, format!("http://localhost:{}/hook", receiver.port)),
        ] {
            diesel::update(
                webhook_endpoints::table.find(uuid::Uuid::parse_str(&id(endpoint)).unwrap()),
            )
            .set(webhook_endpoints::url.eq(url))
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let accreditation = pending_visitor(&app, "Keïta", "P1000001").await;
    approve(&app, &organizer, &accreditation).await;
    for endpoint in [&literal, &by_name] {
        let log = wait_for_log(&app, &admin, &id(endpoint), 1, |d| {
            d["attempts"].as_i64().unwrap() >= 1
        })
        .await;
        let error = log[0]["last_error"].as_str().unwrap();
        assert!(error.contains("non-public"), "{error}");
        assert!(log[0]["last_response_status"].is_null());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
}

#[tokio::test]
async fn a_decided_accreditation_is_delivered_signed_with_ids_and_state_only() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let receiver = Receiver::up().await;
    let endpoint = register(
        &app,
        &admin,
        &receiver.url("/bamex?source=accreditation"),
        &["accreditation.decided"],
    )
    .await;
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    let organizer = app.user_with_roles(&[Role::Organizer]).await;

    let accreditation = pending_visitor(&app, "Coulibaly", "P2000001").await;
    let version = get(&app, &organizer, &accreditation).await["version"].clone();
    let response = decide(
        &app,
        &organizer,
        &accreditation,
        json!({"decision": "reject", "reason": "Fiche incomplète: Aminata Coulibaly", "version": version}),
    )
    .await;
    assert_eq!(response.status(), 200);

    let received = receiver.wait_for(1).await;
    let request = &received[0];
    assert_eq!(request.header("content-type"), "application/json");
    assert_signed(request, &secret);
    let body = request.json();
    assert_eq!(body["type"], "accreditation.decided");
    assert_eq!(body["id"], request.header("webhook-id"));
    assert!(chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok());
    assert_eq!(
        body["data"],
        json!({"event": "bamex-2026", "event_id": body["data"]["event_id"],
               "accreditation_id": accreditation, "status": "rejected"})
    );
    // Ids and states only: neither the reason nor the person.
    for personal in ["Coulibaly", "Fiche", "P2000001", "Ayşe"] {
        assert!(!request.body.contains(personal), "{}", request.body);
    }

    let log = wait_for_log(&app, &admin, &id(&endpoint), 1, |d| {
        d["status"] == "delivered"
    })
    .await;
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["last_response_status"], 200);
    assert!(log[0]["last_error"].is_null());
    assert_eq!(log[0]["message_id"], request.header("webhook-id"));
    assert_eq!(log[0]["kind"], "accreditation.decided");
    assert_eq!(log[0]["payload"], body);
    assert!(!log[0].to_string().contains(&secret[6..]));

    // Nothing else is sent: no kind it did not subscribe to, nothing twice.
    let (_, exhibitor) = apply(&app, &company("Sahel Armor", "TR")).await;
    approve_exhibitor(&app, &organizer, &exhibitor).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_receiver_that_is_down_then_up_gets_every_message_once() {
    // Attempts at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3 and 12.7 s: still pending when the receiver
    // comes up, however slow this machine is at registering the three people.
    let app = spawn_app_with(|s| s.webhooks.max_attempts = 8).await;
    let admin = open_event(&app).await;
    let mut receiver = Receiver::down(Receiver::free_port());
    let endpoint = register(
        &app,
        &admin,
        &receiver.url("/in"),
        &["accreditation.decided"],
    )
    .await;
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let mut decided = Vec::new();
    for (name, document) in [
        ("Traoré", "P3000001"),
        ("Diarra", "P3000002"),
        ("Sangaré", "P3000003"),
    ] {
        let accreditation = pending_visitor(&app, name, document).await;
        approve(&app, &organizer, &accreditation).await;
        decided.push(accreditation);
    }

    // Down: every delivery is tried, fails and waits for its retry.
    let log = wait_for_log(&app, &admin, &id(&endpoint), 3, |d| {
        d["status"] == "pending" && d["attempts"].as_i64().unwrap() >= 1
    })
    .await;
    for delivery in &log {
        assert!(
            delivery["last_error"].as_str().unwrap().len() > 3,
            "{delivery}"
        );
        assert!(delivery["next_attempt_at"].is_string());
    }

    receiver.start().await;
    let log = wait_for_log(&app, &admin, &id(&endpoint), 3, |d| {
        d["status"] == "delivered"
    })
    .await;
    assert!(
        log.iter().all(|d| d["attempts"].as_i64().unwrap() >= 2),
        "{log:#?}"
    );
    // Give a doubled delivery the time to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = receiver.received();
    assert_eq!(received.len(), 3, "{received:?}");
    let mut ids: Vec<&str> = received.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    let mut accreditations: Vec<String> = received
        .iter()
        .map(|r| {
            assert_signed(r, &secret);
            r.json()["data"]["accreditation_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    accreditations.sort();
    decided.sort();
    assert_eq!(accreditations, decided);
}

#[tokio::test]
async fn a_delivery_is_redelivered_with_the_same_webhook_id() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let receiver = Receiver::up().await;
    let endpoint = register(&app, &admin, &receiver.url("/"), &["accreditation.decided"]).await;
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let accreditation = pending_visitor(&app, "Maïga", "P4000001").await;
    approve(&app, &organizer, &accreditation).await;
    let first = receiver.wait_for(1).await.remove(0);
    let log = wait_for_log(&app, &admin, &id(&endpoint), 1, |d| {
        d["status"] == "delivered"
    })
    .await;
    let delivery = id(&log[0]);

    let path = format!(
        "{WEBHOOKS}/{}/deliveries/{delivery}/redeliver",
        id(&endpoint)
    );
    let response = app.post_as(&path, &admin.access_token, &json!({})).await;
    assert_eq!(response.status(), 202);
    let queued: Value = response.json().await.unwrap();
    assert_eq!(queued["redelivery_of"], delivery.as_str());
    assert_eq!(queued["message_id"], log[0]["message_id"]);
    assert_eq!(queued["status"], "pending");

    let second = receiver.wait_for(2).await.remove(1);
    assert_eq!(second.header("webhook-id"), first.header("webhook-id"));
    assert_eq!(second.body, first.body);
    assert_signed(&second, &secret);
    let log = wait_for_log(&app, &admin, &id(&endpoint), 2, |d| {
        d["status"] == "delivered"
    })
    .await;
    assert_eq!(log[0]["id"], queued["id"], "newest first");
    assert_eq!(log[1]["id"], delivery.as_str());

    // Paged like every list.
    let page: Value = app
        .get_as(
            &format!("{WEBHOOKS}/{}/deliveries?limit=1", id(&endpoint)),
            &admin.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["id"], queued["id"]);
    let next: Value = app
        .get_as(
            &format!(
                "{WEBHOOKS}/{}/deliveries?limit=1&cursor={}",
                id(&endpoint),
                page["next_cursor"].as_str().unwrap()
            ),
            &admin.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["items"][0]["id"], delivery.as_str());
    assert!(next["next_cursor"].is_null());

    // Someone else's ids answer 404.
    let unknown = format!(
        "{WEBHOOKS}/{}/deliveries/{}/redeliver",
        id(&endpoint),
        uuid::Uuid::new_v4()
    );
    assert_problem(
        app.post_as(&unknown, &admin.access_token, &json!({})).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn revocations_reviews_and_denied_scans_are_delivered_and_purged_with_the_event() {
    let app = spawn_app().await;
    let admin = event_from_today(&app).await;
    let receiver = Receiver::up().await;
    let endpoint = register(
        &app,
        &admin,
        &receiver.url("/all"),
        &[
            "accreditation.decided",
            "badge.revoked",
            "exhibitor.reviewed",
            "scan.denied",
        ],
    )
    .await;
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let agent = app.user_with_roles(&[Role::GateAgent]).await;

    let (_, exhibitor) = apply(&app, &company("Sahel Armor", "TR")).await;
    approve_exhibitor(&app, &organizer, &exhibitor).await;
    let accreditation = pending_visitor(&app, "Touré", "P5000001").await;
    let qr = approve(&app, &organizer, &accreditation).await["badge"]["qr"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = app
        .post_as(
            &format!("{EVENT}/accreditations/{accreditation}/revoke"),
            &organizer.access_token,
            &json!({"reason": "Badge prêté"}),
        )
        .await;
    assert_eq!(revoked.status(), 200, "{}", revoked.text().await.unwrap());
    let scan = app
        .post_as(
            &format!("{EVENT}/scans"),
            &agent.access_token,
            &json!({"qr": qr, "gate": "north-1", "zone": "exhibition_halls", "direction": "in"}),
        )
        .await;
    assert_eq!(scan.status(), 200);
    let scan: Value = scan.json().await.unwrap();
    assert_eq!(scan["verdict"], "denied");

    let received = receiver.wait_for(4).await;
    let mut by_type: HashMap<String, Value> = HashMap::new();
    for request in &received {
        assert_signed(request, &secret);
        let body = request.json();
        assert_eq!(body["id"], request.header("webhook-id"));
        assert_eq!(body["data"]["event"], "bamex-2026");
        by_type.insert(body["type"].as_str().unwrap().to_owned(), body);
    }
    assert_eq!(
        by_type["exhibitor.reviewed"]["data"]["exhibitor_id"],
        exhibitor.as_str()
    );
    assert_eq!(by_type["exhibitor.reviewed"]["data"]["status"], "approved");
    assert_eq!(
        by_type["accreditation.decided"]["data"]["status"],
        "approved"
    );
    let revocation = &by_type["badge.revoked"]["data"];
    assert_eq!(revocation["accreditation_id"], accreditation.as_str());
    assert_eq!(revocation["status"], "revoked");
    assert!(revocation["badge_id"].is_string());
    let denial = &by_type["scan.denied"]["data"];
    assert_eq!(denial["scan_id"], scan["scan_id"]);
    assert_eq!(denial["badge_id"], revocation["badge_id"]);
    assert_eq!(denial["reason"], "revoked");
    assert_eq!(denial["gate"], "north-1");
    assert_eq!(denial["zone"], "exhibition_halls");
    assert_eq!(denial["direction"], "in");
    for request in &received {
        assert!(!request.body.contains("Badge prêté"));
        assert!(!request.body.contains("Touré"));
    }
    wait_for_log(&app, &admin, &id(&endpoint), 4, |d| {
        d["status"] == "delivered"
    })
    .await;

    // The retention purge deletes the event's deliveries; the endpoint stays.
    let event_id =
        uuid::Uuid::parse_str(by_type["scan.denied"]["data"]["event_id"].as_str().unwrap())
            .unwrap();
    let mut conn = app.conn().await;
    bamex::retention::purge_event(&mut conn, event_id)
        .await
        .unwrap()
        .expect("purged");
    assert_eq!(deliveries(&app, &admin, &id(&endpoint)).await["total"], 0);
}

#[tokio::test]
async fn only_admins_manage_webhooks() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let created = register(
        &app,
        &admin,
        "https://crm.example.org/hooks",
        &["scan.denied"],
    )
    .await;
    let endpoint = id(&created);
    let routes = [
        (reqwest::Method::GET, WEBHOOKS.to_owned()),
        (reqwest::Method::POST, WEBHOOKS.to_owned()),
        (reqwest::Method::DELETE, format!("{WEBHOOKS}/{endpoint}")),
        (
            reqwest::Method::GET,
            format!("{WEBHOOKS}/{endpoint}/deliveries"),
        ),
        (
            reqwest::Method::POST,
            format!(
                "{WEBHOOKS}/{endpoint}/deliveries/{}/redeliver",
                uuid::Uuid::new_v4()
            ),
        ),
    ];
    let body = json!({"url": "https://evil.example.org/", "kinds": ["scan.denied"]});
    for role in [
        Role::Organizer,
        Role::GateAgent,
        Role::Exhibitor,
        Role::Visitor,
    ] {
        let user = app.user_with_roles(&[role]).await;
        for (method, path) in &routes {
            let response = app
                .request_as(method.clone(), path, &user.access_token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_problem(response, 403, "forbidden").await;
        }
    }
    for (method, path) in &routes {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
    }
    let list: Value = app
        .get_as(WEBHOOKS, &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1, "nothing was created or deleted");
}

#[tokio::test]
async fn a_public_visitor_approved_at_once_is_delivered_as_decided() {
    let app = spawn_app().await;
    let admin = open_event(&app).await;
    let receiver = Receiver::up().await;
    let endpoint = register(&app, &admin, &receiver.url("/"), &["accreditation.decided"]).await;
    let (_, accreditation) = visitor(&app, "public_visitor", "Dembélé", "P6000001").await;
    let request = receiver.wait_for(1).await.remove(0);
    assert_signed(&request, endpoint["secret"].as_str().unwrap());
    let data = &request.json()["data"];
    assert_eq!(data["accreditation_id"], accreditation.as_str());
    assert_eq!(data["status"], "approved");
}
