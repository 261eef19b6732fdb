//! `bamex secrets --env-file PATH`: fresh production secrets in an env file (`KEY=value` lines,
//! what Docker Compose's `env_file:` reads): the JWT secret, an identity-document key with its
//! id, the document hash key and a badge signing key with its id. Each is 32 bytes from the
//! operating system's generator, base64url without padding (43 characters: at least the 32 that
//! `config.rs` demands, no `$` or quote that an env file would interpret, and never the
//! `dev-insecure-` prefix production refuses).
//!
//! The file is created with mode 0600 and never overwritten unless `force`: replacing the keys
//! of a running deployment makes its stored document numbers unreadable and its issued badges
//! unverifiable. Only the path and the names written are printed, never a value.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use rand::rngs::OsRng;

/// 32 random bytes from the OS, base64url without padding.
fn random_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut bytes)
        .context("the operating system's random generator failed")?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The variables written, in order: `(name, value)`. Key ids are `k` and today's date (lower
/// case, as config ids are), so that a key added later for a rotation gets an id of its own.
fn generate(today: chrono::NaiveDate) -> anyhow::Result<Vec<(String, String)>> {
    let id = format!("k{}", today.format("%Y%m%d"));
    let upper = id.to_uppercase();
    Ok(vec![
        ("BAMEX__AUTH__JWT_SECRET".into(), random_secret()?),
        ("BAMEX__DOCUMENTS__ACTIVE_KEY".into(), id.clone()),
        (format!("BAMEX__DOCUMENTS__KEYS__{upper}"), random_secret()?),
        ("BAMEX__DOCUMENTS__HASH_KEY".into(), random_secret()?),
        ("BAMEX__BADGES__ACTIVE_KEY".into(), id),
        (format!("BAMEX__BADGES__KEYS__{upper}"), random_secret()?),
    ])
}

fn contents(today: chrono::NaiveDate, vars: &[(String, String)]) -> String {
    let mut text = format!(
        "# BAMEX production secrets, written by `bamex secrets` on {today}; read by docker-compose.yml\n\
         # (env_file). Keep this file private and backed up, never commit it: without these keys the\n\
         # stored identity document numbers cannot be decrypted and issued badges no longer verify.\n"
    );
    for (name, value) in vars {
        text.push_str(&format!("{name}={value}\n"));
    }
    text
}

/// Writes `text` to `path` with mode 0600: a new file, or with `force` a temporary file in the
/// same folder renamed over the old one (so an existing file's looser mode is not kept).
fn write_private(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    if !force && path.exists() {
        anyhow::bail!(
            "{} exists; it holds the keys of a deployment, and replacing them makes its stored document numbers unreadable and its badges unverifiable. Pass --force to replace it",
            path.display()
        );
    }
    let name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
    let target = if force {
        let mut temporary = name.to_owned();
        temporary.push(format!(".{}.tmp", std::process::id()));
        path.with_file_name(temporary)
    } else {
        PathBuf::from(path)
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&target)
        .with_context(|| format!("could not create {}", target.display()))?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("could not write {}", target.display()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&target);
        return Err(e);
    }
    if force {
        std::fs::rename(&target, path)
            .with_context(|| format!("could not replace {}", path.display()))?;
    }
    Ok(())
}

/// The `bamex secrets` command: needs no settings and no database.
pub fn write_env_file(path: &Path, force: bool) -> anyhow::Result<()> {
    let today = chrono::Utc::now().date_naive();
    let vars = generate(today)?;
    write_private(path, &contents(today, &vars), force)?;
    println!("wrote {} (mode 0600) with:", path.display());
    for (name, _) in &vars {
        println!("  {name}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_enough_distinct_and_plain() {
        let vars = generate(chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()).unwrap();
        let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"BAMEX__DOCUMENTS__KEYS__K20261202"));
        assert!(names.contains(&"BAMEX__BADGES__KEYS__K20261202"));
        let secrets: Vec<&str> = vars
            .iter()
            .filter(|(n, _)| !n.ends_with("ACTIVE_KEY"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(secrets.len(), 4);
        for secret in &secrets {
            assert_eq!(secret.len(), 43);
            assert!(
                secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
        let mut unique = secrets.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), secrets.len());
    }
}
