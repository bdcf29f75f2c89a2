//! Passwords (argon2id), API tokens and session ids. Secrets are random
//! 256-bit values shown once; only their SHA-256 is stored, which is enough
//! for values with that much entropy and keeps lookups a single index probe.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix that makes a leaked token recognizable in logs and secret scanners.
pub const TOKEN_PREFIX: &str = "kehu_";

pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches a stored PHC hash; a malformed hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Burns the time of one verification, so that an unknown username takes
/// as long to reject as a wrong password.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let h = DUMMY.get_or_init(|| hash_password("kehu-dummy-password").unwrap_or_default());
    let _ = verify_password(password, h);
}

/// A random, URL-safe identifier that cannot be guessed (e.g. of an upload).
pub fn random_id() -> String {
    random_secret()
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a secret.
pub fn secret_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new API token: (clear text shown once, stored hash, display prefix).
pub fn new_token() -> (String, String, String) {
    let clear = format!("{TOKEN_PREFIX}{}", random_secret());
    let hash = secret_hash(&clear);
    let prefix = clear.chars().take(TOKEN_PREFIX.len() + 6).collect();
    (clear, hash, prefix)
}

/// A new session id and CSRF token.
pub fn new_session() -> (String, String) {
    (random_secret(), random_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_unique_and_hashed() {
        let (a, ha, pa) = new_token();
        let (b, hb, _) = new_token();
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert!(a.starts_with(TOKEN_PREFIX) && a.starts_with(&pa));
        assert_eq!(secret_hash(&a), ha);
        assert_eq!(ha.len(), 64);
    }
}
