//! Agenda tokens: the secret in a personal feed's URL.
//!
//! A token is 32 bytes from the operating system's CSPRNG, written as
//! URL-safe base64 (43 characters). The database stores only its SHA-256,
//! so a copy of the database does not give anyone's agenda away, and a
//! lookup by hash takes the same path however much of a guessed token is
//! right.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

const TOKEN_BYTES: usize = 32;
/// Length of the base64url text of the 32 random bytes of a token.
pub const TOKEN_LEN: usize = 43;

/// What an agenda without a name of its own is called.
pub const DEFAULT_NAME: &str = "My agenda";

/// A raw agenda token. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AgendaToken(String);

/// SHA-256 of a token: what the store keeps and looks up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl AgendaToken {
    /// A fresh token from the OS CSPRNG.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(AgendaToken(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Accepts only text of a token's exact shape; anything else cannot be
    /// a token and is answered like any unknown one.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == TOKEN_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| AgendaToken(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for AgendaToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgendaToken(<redacted>)")
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_url_safe_and_hashed() {
        let a = AgendaToken::generate().unwrap();
        let b = AgendaToken::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), TOKEN_LEN);
        assert_eq!(AgendaToken::parse(a.expose()), Some(a.clone()));
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash(), AgendaToken::parse(a.expose()).unwrap().hash());
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn parse_rejects_other_shapes() {
        let good = "a".repeat(TOKEN_LEN);
        assert!(AgendaToken::parse(&good).is_some());
        for bad in [
            "",
            &good[1..],
            &format!("{good}a"),
            &format!("{}+", &good[1..]),
            &format!("{}/", &good[1..]),
            &format!("{}.", &good[1..]),
        ] {
            assert!(AgendaToken::parse(bad).is_none(), "{bad}");
        }
    }
}
