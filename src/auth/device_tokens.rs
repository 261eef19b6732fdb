//! Gate devices' bearer tokens: opaque, 256 random bits, with a prefix of their own so that
//! neither a person nor the service ever takes one for a JWT (whose text starts `eyJ`). Stored
//! only as their SHA-256 (see [`hash_opaque`]); the token is shown once, to the device that
//! enrolled, and never logged.

use super::tokens::{hash_opaque, opaque_token};

/// What every device token starts with.
pub const PREFIX: &str = "bxdev_";

/// A fresh device token and the digest it is stored under.
pub fn generate() -> (String, Vec<u8>) {
    let (random, _) = opaque_token();
    let token = format!("{PREFIX}{random}");
    let digest = hash_opaque(&token);
    (token, digest)
}

/// Whether a bearer token is meant as a device token (it may still be unknown or revoked).
pub fn is_device_token(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// The digest a presented device token is looked up under.
pub fn digest(token: &str) -> Vec<u8> {
    hash_opaque(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_prefix_and_are_stored_as_their_digest() {
        let (token, stored) = generate();
        assert!(is_device_token(&token));
        assert!(token.len() > PREFIX.len() + 40);
        assert_eq!(digest(&token), stored);
        assert_ne!(generate().0, token);
        assert!(!is_device_token("eyJhbGciOiJIUzI1NiJ9.e30.x"));
    }
}
