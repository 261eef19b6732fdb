//! docker-compose.yml starts: the `api` service's environment, read from the file, plus the
//! secrets `bamex secrets` writes, is enough for the binary in production mode. Only the
//! compose hosts (`db`, `mailpit`), which do not resolve here, are replaced by local ones.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Deserialize;

use crate::helpers::{SmtpSink, TestDb, bamex_serve, manifest_dir};

#[derive(Deserialize)]
struct ComposeFile {
    services: BTreeMap<String, Service>,
}

#[derive(Deserialize)]
struct Service {
    #[serde(default)]
    environment: BTreeMap<String, String>,
    env_file: Option<EnvFiles>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EnvFiles {
    One(String),
    Many(Vec<String>),
}

/// Compose's interpolation as on a machine where none of the variables is set: `${NAME:-x}`
/// is `x`, `$$` is `$`; a variable without a default (`${NAME}`, `${NAME:?…}`) would stop
/// `docker compose up` as README writes it, so it fails the test.
fn interpolate(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let inner = rest
            .strip_prefix('{')
            .and_then(|r| r.find('}').map(|end| (&r[..end], &r[end + 1..])));
        let Some((inner, after)) = inner else {
            panic!("`{value}`: a bare $NAME needs the caller's environment");
        };
        let Some((_, default)) = inner.split_once(":-") else {
            panic!("`{value}` needs a variable that README's command does not set");
        };
        out.push_str(default);
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `KEY=value` lines of an env file, comments and blank lines skipped.
fn read_env_file(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once('=').expect("KEY=value");
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// `bamex secrets` on a machine that has nothing configured: no settings, no database.
fn secrets(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bamex"))
        .arg("secrets")
        .args(args)
        .env_clear()
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn the_api_service_of_docker_compose_starts_with_the_secrets_bamex_writes() {
    let root = manifest_dir();
    let compose: ComposeFile =
        serde_norway::from_str(&std::fs::read_to_string(root.join("docker-compose.yml")).unwrap())
            .unwrap();
    let api = &compose.services["api"];
    let env_files = match &api.env_file {
        Some(EnvFiles::One(file)) => vec![file.clone()],
        Some(EnvFiles::Many(files)) => files.clone(),
        None => panic!("the api service reads no env_file"),
    };
    assert_eq!(env_files, [".env.production"]);
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let command = "cargo run -- secrets --env-file .env.production && docker compose up --build";
    assert!(readme.contains(command), "README shows `{command}`");

    let dir = TempDir(std::env::temp_dir().join(format!("bamex-compose-{}", uuid::Uuid::new_v4())));
    std::fs::create_dir(&dir.0).unwrap();
    let env_file = dir.0.join(&env_files[0]);
    let path = env_file.to_str().unwrap();
    let written = secrets(&["--env-file", path]);
    let stdout = String::from_utf8_lossy(&written.stdout);
    assert!(
        written.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&written.stderr)
    );
    assert_eq!(mode(&env_file), 0o600);
    let generated = read_env_file(&env_file);
    for name in [
        "BAMEX__AUTH__JWT_SECRET",
        "BAMEX__DOCUMENTS__ACTIVE_KEY",
        "BAMEX__DOCUMENTS__HASH_KEY",
        "BAMEX__BADGES__ACTIVE_KEY",
    ] {
        assert!(generated.contains_key(name), "{name} in {generated:?}");
        assert!(stdout.contains(name), "{stdout}");
    }
    let document_key = format!(
        "BAMEX__DOCUMENTS__KEYS__{}",
        generated["BAMEX__DOCUMENTS__ACTIVE_KEY"].to_uppercase()
    );
    let badge_key = format!(
        "BAMEX__BADGES__KEYS__{}",
        generated["BAMEX__BADGES__ACTIVE_KEY"].to_uppercase()
    );
    assert!(generated.contains_key(&document_key) && generated.contains_key(&badge_key));
    let secret_values: Vec<&String> = generated
        .iter()
        .filter(|(name, _)| !name.ends_with("ACTIVE_KEY"))
        .map(|(_, value)| value)
        .collect();
    assert_eq!(secret_values.len(), 4);
    for value in &secret_values {
        assert!(value.len() >= 32 && !value.starts_with("dev-insecure-"));
        assert!(!stdout.contains(value.as_str()), "a secret was printed");
    }

    let first_jwt_secret = generated["BAMEX__AUTH__JWT_SECRET"].clone();

    // Never over the keys of a deployment without --force.
    let again = secrets(&["--env-file", path]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(read_env_file(&env_file), generated);
    std::fs::set_permissions(&env_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let forced = secrets(&["--env-file", path, "--force"]);
    assert!(forced.status.success());
    assert_eq!(mode(&env_file), 0o600, "a replaced file is private again");
    let generated = read_env_file(&env_file);
    assert_ne!(generated["BAMEX__AUTH__JWT_SECRET"], first_jwt_secret);

    // Compose's precedence: `environment:` over `env_file:`.
    let mut environment = generated.clone();
    for (name, value) in &api.environment {
        environment.insert(name.clone(), interpolate(value));
    }
    assert_eq!(environment["BAMEX_ENV"], "production");
    let db = TestDb::from_template().await;
    let smtp = SmtpSink::up();
    assert!(environment.contains_key("DATABASE_URL") && environment.contains_key("SMTP_URL"));
    environment.insert("DATABASE_URL".into(), db.url());
    environment.insert("SMTP_URL".into(), smtp.url());

    let (mut serve, port) = bamex_serve(&db.url());
    let log = dir.0.join("server.log");
    let mut child = serve
        .env_clear()
        .envs(&environment)
        // What the Dockerfile sets besides: its config folder (a copy of ./config) and its
        // port (a free one here instead of 8080).
        .env("BAMEX_CONFIG_DIR", root.join("config"))
        .env("PORT", port.to_string())
        .current_dir(&dir.0)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
        ))
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut ready = None;
    for _ in 0..300 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the server stopped ({status}): {}",
                std::fs::read_to_string(&log).unwrap()
            );
        }
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            ready = Some(response.status().as_u16());
            if ready == Some(200) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let output = std::fs::read_to_string(&log).unwrap();
    assert_eq!(ready, Some(200), "{output}");
    for (name, value) in &generated {
        assert!(
            name.ends_with("ACTIVE_KEY") || !output.contains(value.as_str()),
            "{name} was logged"
        );
    }
}
