//! The format of API keys (keys servers use for the REST API, docs/spec.md §7): making one and checking
//! that a string is one — prefix, length, alphabet and checksum — before any database lookup,
//! so a mistyped or truncated key gets a precise message and costs no query.
//!
//! A key is `pl_key_` + 43 base62 characters (the 32 random bytes) + `_` + 6 base62 characters
//! (CRC-32 of everything before the last `_`), 57 characters in all, e.g.
//! `pl_key_3J8k…Zq_1bXc9Q`. CRC-32 catches every single mistyped character and every swap of
//! neighbours; it is not a secret (anyone can compute it) and only saves a lookup. The first
//! 15 characters ([`public_prefix`]) are shown in listings to tell keys apart.

use super::{self as secrets, SecretKind};

/// What every API key starts with.
pub const PREFIX: &str = "pl_key_";
/// Characters of the random body (32 bytes in base62).
pub const BODY_LEN: usize = 43;
/// Characters of the checksum (a CRC-32 in base62).
pub const CHECKSUM_LEN: usize = 6;
/// Characters of a whole key: prefix, body, `_`, checksum.
pub const KEY_LEN: usize = PREFIX.len() + BODY_LEN + 1 + CHECKSUM_LEN;
/// Characters of the public prefix shown in listings: `pl_key_` and 8 characters of the body.
pub const PUBLIC_PREFIX_LEN: usize = PREFIX.len() + 8;

/// Why a string is not a usable API key, found without looking it up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    /// It does not start with `pl_key_` (an OAuth token, say, or something else entirely).
    #[error("not a prodlink API key (API keys start with {PREFIX})")]
    NotAnApiKey,
    /// It starts like an API key but has the wrong length or characters.
    #[error("malformed API key: {0}")]
    Malformed(String),
    /// Well-formed, but the checksum does not match the rest.
    #[error(
        "the API key's checksum does not match: it was mistyped or truncated (copy it again in full)"
    )]
    ChecksumMismatch,
}

/// A new random API key.
pub fn generate() -> String {
    secrets::generate(SecretKind::ApiKey)
}

/// The key made of these 32 bytes.
pub(crate) fn from_bytes(bytes: &[u8; 32]) -> String {
    let mut key = format!("{PREFIX}{}", secrets::base62(bytes, BODY_LEN));
    let sum = checksum(&key);
    key.push('_');
    key.push_str(&sum);
    key
}

/// The checksum of `pl_key_` + body.
fn checksum(prefix_and_body: &str) -> String {
    secrets::base62(&secrets::crc32(prefix_and_body.as_bytes()).to_be_bytes(), CHECKSUM_LEN)
}

/// Checks the form of an API key: the prefix, the length, the alphabet, the separator and the
/// checksum. Nothing is looked up.
pub fn check_format(key: &str) -> Result<(), ApiKeyError> {
    if !key.starts_with(PREFIX) {
        return Err(ApiKeyError::NotAnApiKey);
    }
    let chars = key.chars().count();
    if chars != KEY_LEN {
        let hint = if chars < KEY_LEN {
            " (was it cut off when copied?)"
        } else {
            " (is something stuck to it, like a space or a line break?)"
        };
        return Err(ApiKeyError::Malformed(format!(
            "prodlink API keys are {KEY_LEN} characters long, this one has {chars}{hint}"
        )));
    }
    // The first byte that is not as expected is reported; every byte before it is ASCII, so its
    // byte position is its character position.
    let bytes = key.as_bytes();
    let separator = PREFIX.len() + BODY_LEN;
    for (i, &b) in bytes.iter().enumerate().skip(PREFIX.len()) {
        let ok = if i == separator { b == b'_' } else { b.is_ascii_alphanumeric() };
        if !ok {
            let what = if i == separator {
                format!("character {} should be '_' before the checksum", i + 1)
            } else if b.is_ascii_graphic() || b == b' ' {
                format!("character {} ({:?}) is not a letter or digit", i + 1, char::from(b))
            } else {
                format!("character {} is not a letter or digit", i + 1)
            };
            return Err(ApiKeyError::Malformed(what));
        }
    }
    let (head, sum) = key.split_at(separator);
    if checksum(head) != sum[1..] {
        return Err(ApiKeyError::ChecksumMismatch);
    }
    Ok(())
}

/// The public part of a well-formed key shown in listings and logs (`pl_key_` and the first 8
/// characters of the body); `None` for a string that is not a well-formed key.
pub fn public_prefix(key: &str) -> Option<&str> {
    check_format(key).ok().and_then(|()| key.get(..PUBLIC_PREFIX_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_well_formed_and_checksummed() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), KEY_LEN);
        assert_eq!(KEY_LEN, 57);
        assert!(a.starts_with("pl_key_"));
        assert_eq!(a.as_bytes()[PREFIX.len() + BODY_LEN], b'_');
        assert_eq!(check_format(&a), Ok(()));
        assert_eq!(check_format(&b), Ok(()));
        assert_eq!(public_prefix(&a), Some(&a[..15]));
        assert_eq!(public_prefix("pl_key_nope"), None);
        // The same bytes give the same key; the all-zero key is well-formed too.
        assert_eq!(from_bytes(&[7; 32]), from_bytes(&[7; 32]));
        assert_eq!(check_format(&from_bytes(&[0; 32])), Ok(()));
        assert_eq!(check_format(&from_bytes(&[0xFF; 32])), Ok(()));
    }

    #[test]
    fn every_single_changed_character_is_caught() {
        let key = generate();
        let alphabet = secrets::BASE62;
        let separator = PREFIX.len() + BODY_LEN;
        let mut tried = 0;
        for i in PREFIX.len()..KEY_LEN {
            if i == separator {
                continue;
            }
            for &c in alphabet.iter().filter(|&&c| c != key.as_bytes()[i]) {
                let mut typo = key.clone().into_bytes();
                typo[i] = c;
                let typo = String::from_utf8(typo).unwrap();
                assert_eq!(check_format(&typo), Err(ApiKeyError::ChecksumMismatch), "{typo}");
                tried += 1;
            }
        }
        assert_eq!(tried, (BODY_LEN + CHECKSUM_LEN) * 61);
        // Neighbours swapped.
        let mut swapped = key.into_bytes();
        let i = (PREFIX.len()..separator - 1).find(|&i| swapped[i] != swapped[i + 1]).unwrap();
        swapped.swap(i, i + 1);
        let swapped = String::from_utf8(swapped).unwrap();
        assert_eq!(check_format(&swapped), Err(ApiKeyError::ChecksumMismatch));
    }

    #[test]
    fn the_errors_say_what_is_wrong() {
        let key = generate();
        for other in ["", "Bearer x", "pl_at_abc", "PL_KEY_abc", &key[1..]] {
            assert_eq!(check_format(other), Err(ApiKeyError::NotAnApiKey), "{other}");
        }
        let truncated = &key[..KEY_LEN - 1];
        let Err(ApiKeyError::Malformed(m)) = check_format(truncated) else { panic!() };
        assert!(
            m.contains("57 characters") && m.contains("has 56") && m.contains("cut off"),
            "{m}"
        );
        let Err(ApiKeyError::Malformed(m)) = check_format(&format!("{key}\n")) else { panic!() };
        assert!(m.contains("has 58") && m.contains("line break"), "{m}");
        // A wrong character: named by its position; non-ASCII is counted in characters.
        let mut bad = key.clone();
        bad.replace_range(10..11, "-");
        let Err(ApiKeyError::Malformed(m)) = check_format(&bad) else { panic!() };
        assert_eq!(m, "character 11 ('-') is not a letter or digit");
        let mut bad = key.clone();
        bad.replace_range(10..11, "é");
        assert!(
            matches!(check_format(&bad), Err(ApiKeyError::Malformed(m)) if m.contains("character 11"))
        );
        let mut bad = key.clone();
        bad.replace_range(50..51, "x");
        let Err(ApiKeyError::Malformed(m)) = check_format(&bad) else { panic!() };
        assert_eq!(m, "character 51 should be '_' before the checksum");
        assert!(ApiKeyError::ChecksumMismatch.to_string().contains("mistyped or truncated"));
    }
}
