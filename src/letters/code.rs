//! A letter's verification code: 24 symbols of Crockford's base32 (120 random bits), printed in
//! six groups of four (`7K3Q-FM2X-…`) so that a consular officer can type it. Only its SHA-256 is
//! looked up (the code is a random secret, so a fast hash suffices, as for opaque tokens); the
//! code itself is kept sealed to print the same letter again.

use rand::Rng;

use crate::auth::tokens::hash_opaque;

/// Crockford's alphabet: no I, L, O or U, which read as 1, 1, 0 and V.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SYMBOLS: usize = 24;
const GROUP: usize = 4;

/// A code in its canonical form (upper case, no separators). Its `Debug` hides it: a code in a
/// log would be a working code.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl std::fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerificationCode(…)")
    }
}

impl VerificationCode {
    /// A fresh random code.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        Self(
            (0..SYMBOLS)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect(),
        )
    }

    /// A stored code, as [`Self::canonical`] wrote it.
    pub fn from_canonical(code: String) -> Self {
        Self(code)
    }

    pub fn canonical(&self) -> &str {
        &self.0
    }

    /// Grouped for people: `7K3Q-FM2X-9ABC-DEFG-HJKM-NPQR`.
    pub fn grouped(&self) -> String {
        self.0
            .as_bytes()
            .chunks(GROUP)
            .map(|group| String::from_utf8_lossy(group))
            .collect::<Vec<_>>()
            .join("-")
    }

    /// The hash the letter is stored under.
    pub fn hash(&self) -> Vec<u8> {
        hash_opaque(&self.0)
    }

    /// The hash to look up for what someone typed or scanned: case, separators and Crockford's
    /// look-alikes (O for 0, I and L for 1) forgiven. Whatever was sent, well-formed or not, is
    /// hashed and looked up the same way, so a malformed code is answered exactly as an unknown
    /// one, in the same time.
    pub fn lookup_hash(typed: &str) -> Vec<u8> {
        let canonical: String = typed
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            })
            .collect();
        hash_opaque(&canonical)
    }
}

#[cfg(test)]
mod tests {
    use super::VerificationCode;

    #[test]
    fn codes_are_random_grouped_and_forgiving_when_typed() {
        let code = VerificationCode::generate();
        assert_eq!(code.canonical().len(), 24);
        assert_ne!(code, VerificationCode::generate());
        let grouped = code.grouped();
        assert_eq!(grouped.len(), 29);
        assert_eq!(grouped.split('-').count(), 6);
        assert_eq!(VerificationCode::lookup_hash(&grouped), code.hash());
        assert_eq!(
            VerificationCode::lookup_hash(&grouped.to_lowercase()),
            code.hash()
        );
        let typed = VerificationCode::from_canonical("0111AAAABBBBCCCCDDDDEEEE".into());
        assert_eq!(
            VerificationCode::lookup_hash("oIl1-aaaa bbbb-cccc-dddd-eeee"),
            typed.hash()
        );
    }
}
