//! The second factor's arithmetic (RFC 6238 through `totp-rs`): SHA-1, six digits, 30-second
//! steps, one step of clock drift either way; the `otpauth://` URI and its QR code that
//! authenticator apps scan; and the recovery codes' shape.

use std::io::Cursor;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qrcode::{Color, QrCode};
use rand::RngCore;
use totp_rs::{Algorithm, Builder, Totp};

/// What authenticator apps show as the account's issuer.
pub const ISSUER: &str = "BAMEX";
/// Seconds a code lives.
pub const STEP_SECONDS: u64 = 30;
/// Ten recovery codes are handed out at enrollment.
pub const RECOVERY_CODES: usize = 10;

/// A fresh secret: 160 random bits, the size RFC 4226 recommends.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rng().fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], account: &str) -> anyhow::Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| anyhow::anyhow!("TOTP parameters refused: {e:?}"))
}

/// The time step `code` belongs to (now, or one step before or after), if it is right.
pub fn matching_step(secret: &[u8], code: &str, unix_time: u64) -> Option<i64> {
    let totp = totp(secret, "").ok()?;
    totp.check(code, unix_time)
        .and_then(|step| i64::try_from(step).ok())
}

/// What an enrolling account is shown: the secret (base32, to type by hand), the URI and the
/// QR code of the URI (PNG, base64).
pub struct Enrollment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_png_base64: String,
}

pub fn enrollment(secret: &[u8], account: &str) -> anyhow::Result<Enrollment> {
    let totp = totp(secret, account)?;
    let otpauth_uri = totp
        .to_url()
        .map_err(|e| anyhow::anyhow!("otpauth URI refused: {e:?}"))?;
    let qr_png_base64 = STANDARD.encode(qr_png(&otpauth_uri)?);
    Ok(Enrollment {
        secret: totp.secret().to_base32(),
        otpauth_uri,
        qr_png_base64,
    })
}

/// The URI as a black-on-white QR code, 4 pixels a module with the quiet zone scanners want.
fn qr_png(text: &str) -> anyhow::Result<Vec<u8>> {
    const SCALE: u32 = 4;
    const QUIET: u32 = 4;
    let code = QrCode::new(text.as_bytes())?;
    let modules = code.width() as u32;
    let side = (modules + 2 * QUIET) * SCALE;
    let colors = code.to_colors();
    let image = image::GrayImage::from_fn(side, side, |x, y| {
        let (col, row) = (
            (x / SCALE).checked_sub(QUIET),
            (y / SCALE).checked_sub(QUIET),
        );
        let dark = match (col, row) {
            (Some(col), Some(row)) if col < modules && row < modules => {
                colors[(row * modules + col) as usize] == Color::Dark
            }
            _ => false,
        };
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut png = Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png)?;
    Ok(png.into_inner())
}

/// Recovery codes: ten characters of an alphabet without look-alikes (about 50 bits), shown
/// as `xxxxx-xxxxx`.
pub fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let chars: String = (0..10)
        .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// A recovery code as typed: case, spaces and dashes do not matter.
pub fn normalize_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Six digits (spaces allowed, as apps group them) are a TOTP code; anything else is tried as
/// a recovery code.
pub fn as_totp_code(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_the_neighbouring_steps_match_and_others_do_not() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = totp(&secret, "").unwrap().generate(now).to_string();
        assert_eq!(
            matching_step(&secret, &code, now),
            Some((now / STEP_SECONDS) as i64)
        );
        assert!(matching_step(&secret, &code, now + STEP_SECONDS).is_some());
        assert!(matching_step(&secret, &code, now + 3 * STEP_SECONDS).is_none());
        assert!(matching_step(&new_secret(), &code, now).is_none());
    }

    #[test]
    fn the_uri_names_the_issuer_and_account_and_the_qr_is_a_png() {
        let enrollment = enrollment(&new_secret(), "awa@bamex.ml").unwrap();
        let uri = &enrollment.otpauth_uri;
        assert!(uri.starts_with("otpauth://totp/BAMEX:awa"), "{uri}");
        assert!(
            uri.contains(&format!("secret={}", enrollment.secret)),
            "{uri}"
        );
        assert!(uri.contains("issuer=BAMEX"), "{uri}");
        let png = STANDARD.decode(enrollment.qr_png_base64).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
    }

    #[test]
    fn recovery_codes_are_told_from_totp_codes() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(as_totp_code("123 456").as_deref(), Some("123456"));
        assert!(as_totp_code(&code).is_none());
        assert_eq!(
            normalize_recovery_code(&code.to_uppercase()),
            code.replace('-', "")
        );
    }
}
