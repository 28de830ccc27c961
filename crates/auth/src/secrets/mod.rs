//! Random secrets and their storage form. Every token, code, client secret, session id and API
//! key is 32 random bytes (256 bits, above OAuth 2.1 §7.7's 160-bit floor) from the OS
//! generator, encoded behind a short type prefix (`pl_at_`, …, so leaked tokens are easy to
//! recognise) — base64url, or base62 with a checksum for API keys (see [`apikey`]) —
//! and stored only as its SHA-256 hex digest. Comparisons of secret material use constant
//! time. Also the encodings API keys need: fixed-width base62 and CRC-32.

pub mod apikey;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The kinds of secret prodlink issues, with their prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// OAuth access token.
    AccessToken,
    /// OAuth refresh token.
    RefreshToken,
    /// Authorization code.
    Code,
    /// Client secret of a confidential client.
    ClientSecret,
    /// Browser session id.
    Session,
    /// Generated client id (never starts with `https://`, so it cannot collide with CIMD ids).
    ClientId,
    /// API key of a server calling the REST API (base62 body and checksum, see
    /// [`apikey`]).
    ApiKey,
}

impl SecretKind {
    /// The prefix every secret of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::AccessToken => "pl_at_",
            Self::RefreshToken => "pl_rt_",
            Self::Code => "pl_ac_",
            Self::ClientSecret => "pl_cs_",
            Self::Session => "pl_ss_",
            Self::ClientId => "pl_client_",
            Self::ApiKey => "pl_key_",
        }
    }
}

/// 32 random bytes from the operating system.
pub fn random_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    // The OS generator failing means the machine cannot do cryptography at all.
    getrandom::fill(&mut b).expect("the operating system random number generator failed");
    b
}

/// A new secret of the given kind.
pub fn generate(kind: SecretKind) -> String {
    let bytes = random_bytes();
    match kind {
        SecretKind::ApiKey => apikey::from_bytes(&bytes),
        // Client ids need not be long; 16 bytes keep them readable.
        SecretKind::ClientId => {
            format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(&bytes[..16]))
        }
        _ => format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes)),
    }
}

/// The base62 digits, in value order.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `bytes` read as one big-endian number, written in exactly `width` base62 digits (leading
/// zeros kept, so equal-length input gives equal-length output). `width` must hold the number:
/// 43 digits for 32 bytes, 6 for 4 bytes.
pub fn base62(bytes: &[u8], width: usize) -> String {
    let mut n = bytes.to_vec();
    let mut digits = vec![b'0'; width];
    for d in digits.iter_mut().rev() {
        // n, rem = divmod(n, 62), one byte at a time.
        let mut rem = 0u32;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 62) as u8;
            rem = cur % 62;
        }
        *d = BASE62[rem as usize];
    }
    debug_assert!(n.iter().all(|b| *b == 0), "{width} base62 digits cannot hold the number");
    digits.into_iter().map(char::from).collect()
}

/// The CRC-32 table (IEEE 802.3, reflected polynomial 0xEDB88320), built at compile time.
const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE, as in zlib and PNG) of `data`: detects every change of up to 32 consecutive
/// bits, so any single mistyped character or swapped neighbours.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC32_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// The stored form of a secret: SHA-256, lower-case hex (64 characters).
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time equality of two byte strings.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Whether `secret` hashes to `stored` (constant time).
pub fn verify(secret: &str, stored: &str) -> bool {
    ct_eq(hash(secret).as_bytes(), stored.as_bytes())
}

/// HMAC-SHA256 of `message` under `key`, base64url.
pub fn mac(key: &[u8], message: &[u8]) -> String {
    let mut m = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(message);
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether a PKCE verifier is well-formed: 43–128 characters of `[A-Za-z0-9-._~]`.
pub fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether a PKCE S256 challenge is well-formed: 43 characters of base64url.
pub fn valid_challenge(c: &str) -> bool {
    c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hashed() {
        let a = generate(SecretKind::AccessToken);
        let b = generate(SecretKind::AccessToken);
        assert!(a.starts_with("pl_at_") && a.len() == 6 + 43);
        assert_ne!(a, b);
        assert!(verify(&a, &hash(&a)));
        assert!(!verify(&b, &hash(&a)));
        assert_eq!(hash("x").len(), 64);
        assert!(!generate(SecretKind::ClientId).starts_with("https://"));
    }

    #[test]
    fn base62_and_crc32_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926, "the CRC-32/ISO-HDLC check value");
        assert_eq!(crc32(b""), 0);
        assert_eq!(base62(&[0, 0, 0, 0], 6), "000000");
        assert_eq!(base62(&[0, 0, 0, 61], 6), "00000z");
        assert_eq!(base62(&[0, 0, 0, 62], 6), "000010");
        assert_eq!(base62(&u32::MAX.to_be_bytes(), 6), "4gfFC3");
        let max = base62(&[0xFF; 32], 43);
        assert_eq!(max.len(), 43);
        assert!(max.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(base62(&[0; 32], 43), "0".repeat(43));
    }

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(pkce_challenge(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(valid_verifier(verifier));
        assert!(!valid_verifier("short"));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&format!("{}!", "a".repeat(43))));
        assert!(valid_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!valid_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"));
    }
}
