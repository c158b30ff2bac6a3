//! Second factors: TOTP (RFC 6238 — HMAC-SHA-1, 6 digits, 30 s steps, what authenticator
//! apps read) and single-use recovery codes.
//!
//! Pure functions over secrets and times: the caller reads the clock and keeps the last
//! accepted step, so a code is never accepted twice.

use rand::RngCore as _;
use totp_rs::{Algorithm, Builder, Totp};

use crate::domain::UserId;
use crate::security::links::LinkSigner;

/// Seconds in one TOTP step.
pub const STEP_SECS: u64 = 30;
/// Digits in a code.
pub const DIGITS: u8 = 6;
/// Steps of clock drift accepted either side of now.
pub const SKEW_STEPS: u16 = 1;
/// Recovery codes issued at once.
pub const RECOVERY_CODES: usize = 10;
/// Bytes of a TOTP secret: 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
/// Characters of a recovery code (without its dash): 10 × 5 bits = 50 bits.
const RECOVERY_LEN: usize = 10;
/// Crockford's base32 alphabet: no I, L, O or U to misread.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("TOTP parameters rejected: {0}")]
    Totp(String),
}

/// A fresh random TOTP secret.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Result<Totp, MfaError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECS)
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| MfaError::Totp(e.to_string()))
}

/// The `otpauth://totp/…` URI an authenticator app reads (from the QR code or typed).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> Result<String, MfaError> {
    totp(secret, issuer, account)?
        .to_url()
        .map_err(|e| MfaError::Totp(e.to_string()))
}

/// The secret as base32, for typing it into an app by hand.
pub fn secret_base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret.to_vec()).to_base32()
}

/// The time step `code` is valid for at `unix_secs` (now, one step before or one after),
/// or `None`. Codes with spaces are accepted (`123 456`), anything else not of six digits
/// is simply wrong. Comparison is constant-time.
pub fn matching_step(secret: &[u8], code: &str, unix_secs: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret, "atende", "account")
        .ok()?
        .check(&code, unix_secs)
}

/// The code for `unix_secs` (for tests and the demo).
pub fn code_at(secret: &[u8], unix_secs: u64) -> Option<String> {
    Some(
        totp(secret, "atende", "account")
            .ok()?
            .generate(unix_secs)
            .to_string(),
    )
}

/// A fresh set of recovery codes, formatted `XXXXX-XXXXX`.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_LEN];
            rand::rng().fill_bytes(&mut bytes);
            let chars: String = bytes
                .iter()
                .map(|b| RECOVERY_ALPHABET[usize::from(b & 31)] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A recovery code as typed, normalised (case, dashes and spaces ignored; the letters
/// Crockford's base32 reads as digits mapped), or `None` if it cannot be one.
pub fn normalise_recovery_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (code.len() == RECOVERY_LEN && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then_some(code)
}

/// What is stored for a (normalised) recovery code: an HMAC under the installation's link
/// key (a copy of the database alone cannot be searched for the 50-bit codes), bound to its
/// account, so equal codes of two accounts differ and a hash cannot be moved to another.
pub fn recovery_code_hash(key: &LinkSigner, user: UserId, normalised: &str) -> String {
    key.keyed_digest("mfa-recovery-code", &format!("{}:{normalised}", user.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); the last 6 are ours.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).as_deref(), Some("287082"));
        assert_eq!(matching_step(secret, "287 082", 59), Some(1));
        // One step of drift either side, no more.
        assert_eq!(matching_step(secret, "287082", 59 + 30), Some(1));
        assert_eq!(matching_step(secret, "287082", 59 + 60), None);
        assert_eq!(matching_step(secret, "28708", 59), None);
        assert_eq!(matching_step(secret, "abcdef", 59), None);
    }

    #[test]
    fn the_uri_carries_the_secret_and_the_issuer() {
        let secret = new_secret();
        let uri = otpauth_uri(&secret, "atende", "ana@clinica.com").expect("uri");
        assert!(
            uri.starts_with("otpauth://totp/atende:ana%40clinica.com?"),
            "{uri}"
        );
        assert!(uri.contains(&secret_base32(&secret)), "{uri}");
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), RECOVERY_CODES);
        let n = normalise_recovery_code(&codes[0].to_lowercase()).expect("normalises");
        assert_eq!(n, codes[0].replace('-', ""));
        assert!(normalise_recovery_code("short").is_none());
        let u = UserId::new();
        let key = LinkSigner::new(b"a test key of enough length, 32 bytes+");
        assert_ne!(
            recovery_code_hash(&key, u, &n),
            recovery_code_hash(&key, UserId::new(), &n)
        );
        // Keyed: without the installation's key the stored value says nothing.
        let other = LinkSigner::new(b"another installation's key, 32 bytes+");
        assert_ne!(
            recovery_code_hash(&key, u, &n),
            recovery_code_hash(&other, u, &n)
        );
    }
}
