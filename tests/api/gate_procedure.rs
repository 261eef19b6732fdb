//! README's offline gate procedure (enroll, sync, decide, upload), taken from README.md and run
//! exactly as written there, with Python and PyJWT, against the real service.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use bamex::users::Role;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::fixtures::{EVENT, approve, event_from_today, visitor};
use crate::helpers::{TestApp, TestUser, spawn_app};

/// The Python block of README's "Verifying a badge offline".
fn readme_gate_procedure() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let section = readme
        .split_once("#### Verifying a badge offline")
        .expect("README has the section")
        .1;
    let code = section
        .split_once("```python\n")
        .expect("the section has a Python block")
        .1;
    code.split_once("\n```")
        .expect("the block ends")
        .0
        .to_owned()
}

/// The procedure running as a gate would run it: scans go in line by line, its decisions come
/// out line by line (read on a thread of their own, so the service keeps answering meanwhile).
struct OfflineGate {
    child: Child,
    scans: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
}

impl OfflineGate {
    fn start(app: &TestApp, enrollment_code: &str, zone: &str) -> Self {
        let mut child = Command::new("python3")
            .args(["-c", &readme_gate_procedure(), &app.address])
            .args([enrollment_code, "north-1", zone])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs (scripts/ensure-test-tools installs PyJWT)");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (sender, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let scans = child.stdin.take();
        OfflineGate {
            child,
            scans,
            lines,
        }
    }

    /// Scans one badge and returns the gate's decision.
    async fn scan(&mut self, direction: &str, qr: &str) -> Value {
        let scans = self.scans.as_mut().expect("the gate is still scanning");
        writeln!(scans, "{direction} {qr}").unwrap();
        scans.flush().unwrap();
        self.next().await
    }

    /// Ends the scanning: the gate uploads and prints the server's answer.
    async fn upload(&mut self) -> Value {
        drop(self.scans.take());
        self.next().await
    }

    async fn next(&mut self) -> Value {
        match self.lines.recv().await {
            Some(line) => serde_json::from_str(&line).unwrap(),
            None => {
                let mut stderr = String::new();
                std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut stderr)
                    .unwrap();
                panic!("the gate stopped: {stderr}");
            }
        }
    }
}

impl Drop for OfflineGate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn trade_visitor(app: &TestApp, organizer: &TestUser, name: &str, doc: &str) -> Value {
    let (_, id) = visitor(app, "trade_visitor", name, doc).await;
    let mut approved = approve(app, organizer, &id).await;
    approved["id"] = json!(id);
    approved
}

async fn revoke(app: &TestApp, organizer: &TestUser, accreditation: &Value) {
    let response = app
        .post_as(
            &format!(
                "{EVENT}/accreditations/{}/revoke",
                accreditation["id"].as_str().unwrap()
            ),
            &organizer.access_token,
            &json!({"reason": "Credentials withdrawn"}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

fn qr(accreditation: &Value) -> &str {
    accreditation["badge"]["qr"].as_str().unwrap()
}

#[tokio::test]
async fn the_readme_gate_procedure_enrolls_syncs_decides_offline_and_uploads() {
    let app = spawn_app().await;
    event_from_today(&app).await;
    let organizer = app.user_with_roles(&[Role::Organizer]).await;
    let diarra = trade_visitor(&app, &organizer, "Diarra", "G8100001").await;
    let traore = trade_visitor(&app, &organizer, "Traoré", "G8100002").await;
    let sangare = trade_visitor(&app, &organizer, "Sangaré", "G8100003").await;
    // Revoked before the gate's first sync, which brings live badges only: unknown to the gate.
    revoke(&app, &organizer, &traore).await;

    let registered: Value = app
        .post_as(
            &format!("{EVENT}/gate-devices"),
            &organizer.access_token,
            &json!({"name": "Koulikoro 1", "gates": ["north-1"], "zones": ["exhibition_halls"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let code = registered["enrollment_code"].as_str().unwrap();
    let mut gate = OfflineGate::start(&app, code, "exhibition_halls");

    let decision = gate.scan("in", qr(&diarra)).await;
    assert_eq!(decision["reason"], Value::Null, "{decision}");
    assert_eq!(decision["number"], diarra["badge"]["number"]);
    assert_eq!(decision["name"], "Ayşe Diarra");
    assert_eq!(
        gate.scan("in", qr(&traore)).await["reason"],
        "unknown_badge"
    );
    assert_eq!(gate.scan("in", qr(&sangare)).await["reason"], Value::Null);
    assert_eq!(gate.scan("out", qr(&sangare)).await["reason"], Value::Null);

    // Revoked while the gate is offline: it still lets the badge in, the server flags it.
    revoke(&app, &organizer, &sangare).await;
    assert_eq!(gate.scan("in", qr(&sangare)).await["reason"], Value::Null);
    assert_eq!(
        gate.scan("in", qr(&diarra)).await["reason"],
        "already_inside"
    );
    // A payload altered by one claim no longer matches its signature.
    let mut parts: Vec<String> = qr(&diarra).split('.').map(str::to_owned).collect();
    let mut claims: Value = serde_json::from_slice(&B64.decode(&parts[1]).unwrap()).unwrap();
    claims["zones"] = json!(["exhibition_halls", "vip_lounge"]);
    parts[1] = B64.encode(claims.to_string());
    let forged = parts.join(".");
    assert_eq!(
        gate.scan("in", &forged).await["reason"],
        "invalid_signature"
    );

    let answer = gate.upload().await;
    assert_eq!(answer["recorded"], 7, "{answer}");
    assert_eq!(answer["flagged"], 1, "{answer}");
    let results = answer["results"].as_array().unwrap();
    let verdicts: Vec<(&str, &str, bool)> = results
        .iter()
        .map(|r| {
            (
                r["verdict"].as_str().unwrap(),
                r["reason"].as_str().unwrap_or("-"),
                r["flagged"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("allowed", "-", false),
            ("denied", "revoked", false),
            ("allowed", "-", false),
            ("allowed", "-", false),
            ("denied", "revoked", true),
            ("denied", "already_inside", false),
            ("denied", "invalid_signature", false),
        ]
    );

    let alerts: Value = app
        .get_as(&format!("{EVENT}/gate-alerts"), &organizer.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alerts["total"], 1, "{alerts}");
    assert_eq!(alerts["items"][0]["scan_id"], results[4]["scan_id"]);

    // The export shows each scan with the device's own verdict; the alert is flagged there.
    let csv = app
        .get_as(&format!("{EVENT}/scans.csv"), &organizer.access_token)
        .await
        .text()
        .await
        .unwrap();
    let offline: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(offline.len(), 7);
    let flagged: Vec<&&str> = offline
        .iter()
        .filter(|row| row.ends_with(",allowed,true"))
        .collect();
    assert_eq!(flagged.len(), 1, "{csv}");
    assert!(flagged[0].starts_with(results[4]["scan_id"].as_str().unwrap()));
}
