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

use crate::domain::ValidationError;

const TOKEN_BYTES: usize = 32;
/// Length of the base64url text of the 32 random bytes of a token.
pub const TOKEN_LEN: usize = 43;

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

/// Fewest distinct characters a proposed token may have. 43 random
/// base64url characters have about 31; fewer than 16 happens by chance
/// about never, and catches `AAAA…` and `abab…`.
const MIN_DISTINCT: usize = 16;

/// Checks a client's proposed new token (rotating with a token of one's
/// own makes the rotation safe to repeat): a token's exact shape (43
/// base64url characters, i.e. 256 bits), not the old one, not obviously
/// made by hand. The messages never repeat the token.
pub fn proposed_token(raw: &str, old: &AgendaToken) -> Result<AgendaToken, ValidationError> {
    let invalid = |message: &str| ValidationError::new("token", message);
    let t = AgendaToken::parse(raw).ok_or_else(|| {
        invalid(
            "a token is 43 characters of A-Z, a-z, 0-9, '-' and '_': 32 random bytes \
             in base64url",
        )
    })?;
    if &t == old {
        return Err(invalid("the new token must differ from the old one"));
    }
    let distinct: std::collections::HashSet<u8> = raw.bytes().collect();
    if distinct.len() < MIN_DISTINCT {
        return Err(invalid(
            "this token does not look random: make it from 32 bytes of a CSPRNG",
        ));
    }
    Ok(t)
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

    #[test]
    fn proposed_tokens_must_look_random_and_be_new() {
        let old = AgendaToken::generate().unwrap();
        let new = AgendaToken::generate().unwrap();
        assert_eq!(proposed_token(new.expose(), &old).unwrap(), new);
        for (raw, says) in [
            ("short", "43 characters"),
            (old.expose(), "differ from the old one"),
            (&"ab".repeat(21)[..], "43 characters"),
            (&format!("{}c", "ab".repeat(21)), "does not look random"),
        ] {
            let e = proposed_token(raw, &old).unwrap_err();
            assert_eq!(e.field, "token");
            assert!(e.message.contains(says), "{raw}: {}", e.message);
            assert!(!e.message.contains(raw), "the message repeats the token");
        }
    }
}
