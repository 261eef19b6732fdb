//! Identity document numbers: encrypted at rest with AES-256-GCM under a named key (so keys can
//! rotate), bound to their participant, and fingerprinted with a keyed hash (HMAC-SHA-256) so
//! that duplicates are found without decrypting anything.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::Context;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::DocumentSettings;

/// A document number as written on the document: upper case, letters and digits only (spaces
/// and dashes people type are dropped), 4 to 30 of them. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DocumentNumber(String);

impl fmt::Debug for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DocumentNumber(…)")
    }
}

impl DocumentNumber {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let normalized: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '/'))
            .flat_map(char::to_uppercase)
            .collect();
        if !(4..=30).contains(&normalized.len()) {
            return Err("must have 4 to 30 letters and digits");
        }
        if !normalized.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("may hold only letters, digits, spaces and dashes");
        }
        Ok(Self(normalized))
    }
}

/// What the database stores for one document number.
pub struct SealedDocument {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    pub key_id: String,
    pub fingerprint: Vec<u8>,
}

/// What the database stores for another secret ([`DocumentVault::seal_secret`]).
#[derive(Debug, Clone)]
pub struct SealedSecret {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    pub key_id: String,
}

/// The authenticated data of a scan: what it is, whose, and of which kind.
fn scan_context(participant_id: Uuid, kind: &str) -> Vec<u8> {
    [
        b"participant_document:",
        participant_id.as_bytes().as_slice(),
        kind.as_bytes(),
    ]
    .concat()
}

pub struct DocumentVault {
    active: String,
    ciphers: BTreeMap<String, Aes256Gcm>,
    hash_key: Vec<u8>,
}

/// Settings hold pass-phrase-like secrets of at least 32 characters; SHA-256 turns each into
/// exactly the 256 bits AES-256 and the HMAC want.
fn derive_key(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl DocumentVault {
    pub fn new(settings: &DocumentSettings) -> Self {
        let ciphers = settings
            .keys
            .iter()
            .map(|(id, secret)| {
                let key = derive_key(secret.expose_secret());
                (id.clone(), Aes256Gcm::new(&key.into()))
            })
            .collect();
        Self {
            active: settings.active_key.clone(),
            ciphers,
            hash_key: derive_key(settings.hash_key.expose_secret()).to_vec(),
        }
    }

    pub fn fingerprint(&self, number: &DocumentNumber) -> Vec<u8> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.hash_key).expect("HMAC takes any key");
        mac.update(number.0.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Encrypts under the active key; the participant id is authenticated data, so a ciphertext
    /// copied onto another participant's row does not decrypt.
    pub fn seal(
        &self,
        participant_id: Uuid,
        number: &DocumentNumber,
    ) -> anyhow::Result<SealedDocument> {
        let cipher = self
            .ciphers
            .get(&self.active)
            .context("the active document key is not configured")?;
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: number.0.as_bytes(),
                    aad: participant_id.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("document encryption failed"))?;
        Ok(SealedDocument {
            ciphertext,
            nonce: nonce.to_vec(),
            key_id: self.active.clone(),
            fingerprint: self.fingerprint(number),
        })
    }

    pub fn open(
        &self,
        participant_id: Uuid,
        ciphertext: &[u8],
        nonce: &[u8],
        key_id: &str,
    ) -> anyhow::Result<String> {
        let cipher = self
            .ciphers
            .get(key_id)
            .with_context(|| format!("document key `{key_id}` is no longer configured"))?;
        let nonce: [u8; 12] = nonce
            .try_into()
            .context("stored nonce has the wrong size")?;
        let plain = cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: participant_id.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("document ciphertext does not authenticate"))?;
        String::from_utf8(plain).context("document number is not UTF-8")
    }

    /// Encrypts another secret that must be read back (a webhook's signing secret) under the
    /// active key, bound to `context` (authenticated data: the record it belongs to, prefixed
    /// with what it is, so that it never opens as something else).
    pub fn seal_secret(&self, context: &[u8], secret: &[u8]) -> anyhow::Result<SealedSecret> {
        let cipher = self
            .ciphers
            .get(&self.active)
            .context("the active document key is not configured")?;
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: context,
                },
            )
            .map_err(|_| anyhow::anyhow!("secret encryption failed"))?;
        Ok(SealedSecret {
            ciphertext,
            nonce: nonce.to_vec(),
            key_id: self.active.clone(),
        })
    }

    /// Encrypts a document scan under the active key, bound to its participant and kind: a
    /// ciphertext copied onto another person's row, or onto another kind, does not decrypt.
    pub fn seal_scan(
        &self,
        participant_id: Uuid,
        kind: &str,
        scan: &[u8],
    ) -> anyhow::Result<SealedSecret> {
        self.seal_secret(&scan_context(participant_id, kind), scan)
    }

    /// Decrypts what [`Self::seal_scan`] sealed for the same participant and kind.
    pub fn open_scan(
        &self,
        participant_id: Uuid,
        kind: &str,
        sealed: &SealedSecret,
    ) -> anyhow::Result<Vec<u8>> {
        self.open_secret(&scan_context(participant_id, kind), sealed)
    }

    /// Decrypts what [`Self::seal_secret`] sealed under the same `context`.
    pub fn open_secret(&self, context: &[u8], sealed: &SealedSecret) -> anyhow::Result<Vec<u8>> {
        let cipher = self
            .ciphers
            .get(&sealed.key_id)
            .with_context(|| format!("document key `{}` is no longer configured", sealed.key_id))?;
        let nonce: [u8; 12] = sealed
            .nonce
            .as_slice()
            .try_into()
            .context("stored nonce has the wrong size")?;
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| anyhow::anyhow!("secret ciphertext does not authenticate"))
    }
}

/// All but the last four characters hidden.
pub fn mask_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let shown = chars.len().saturating_sub(4);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < shown { '•' } else { *c })
        .collect()
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn settings(active: &str) -> DocumentSettings {
        DocumentSettings {
            active_key: active.into(),
            keys: [
                (
                    "old".to_owned(),
                    SecretString::from("an-old-key-that-is-long-enough-0123456789"),
                ),
                (
                    "new".to_owned(),
                    SecretString::from("a-new-key-that-is-long-enough-0123456789"),
                ),
            ]
            .into_iter()
            .collect(),
            hash_key: SecretString::from("hash-key-that-is-long-enough-0123456789"),
        }
    }

    #[test]
    fn rotation_keeps_old_records_readable() {
        let id = Uuid::new_v4();
        let number = DocumentNumber::parse("u 1234-5678").unwrap();
        let old = DocumentVault::new(&settings("old"));
        let sealed = old.seal(id, &number).unwrap();
        let rotated = DocumentVault::new(&settings("new"));
        assert_eq!(
            rotated
                .open(id, &sealed.ciphertext, &sealed.nonce, "old")
                .unwrap(),
            "U12345678"
        );
        assert_eq!(rotated.seal(id, &number).unwrap().key_id, "new");
        assert_eq!(rotated.fingerprint(&number), sealed.fingerprint);
        // Bound to its participant.
        assert!(
            rotated
                .open(Uuid::new_v4(), &sealed.ciphertext, &sealed.nonce, "old")
                .is_err()
        );
    }

    #[test]
    fn scans_open_only_for_their_person_and_kind() {
        let vault = DocumentVault::new(&settings("new"));
        let id = Uuid::new_v4();
        let sealed = vault.seal_scan(id, "passport", b"%PDF-1.7 scan").unwrap();
        assert_eq!(
            vault.open_scan(id, "passport", &sealed).unwrap(),
            b"%PDF-1.7 scan"
        );
        assert!(vault.open_scan(id, "national_id", &sealed).is_err());
        assert!(
            vault
                .open_scan(Uuid::new_v4(), "passport", &sealed)
                .is_err()
        );
    }

    #[test]
    fn numbers_are_normalised() {
        assert_eq!(
            DocumentNumber::parse(" ab-12 34 ").unwrap(),
            DocumentNumber::parse("AB1234").unwrap()
        );
        assert!(DocumentNumber::parse("12").is_err());
        assert!(DocumentNumber::parse("AB'; DROP").is_err());
    }

    #[test]
    fn masked_numbers_keep_only_their_last_four_characters() {
        assert_eq!(mask_number("U12345678"), "•••••5678");
        assert_eq!(mask_number("Ab1"), "Ab1");
    }
}
