//! Percent-encoding for GS1 Digital Link values (DL URI Syntax 4.8 "Character set and
//! percent-encoding", RFC 3986 §2.1).
//!
//! Encoding is GS1's minimal form: only `A-Z a-z 0-9 - . _` stay raw, every other byte becomes
//! `%XX` with uppercase hex. Decoding accepts either hex case, refuses malformed escapes and
//! `%00`, and (in query components only) reads `+` as a space, as GS1's syntax engine does.
//! Hand-written because the rule is this small and exact; a general crate's encode sets differ.

/// Uppercase hex digits.
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `value` to `out`, percent-encoding every byte except `A-Z a-z 0-9 - . _`.
pub(crate) fn encode_into(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0F)]));
        }
    }
}

/// Why a component could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// A `%` not followed by two hex digits; holds the offending text (up to 3 characters).
    Malformed(String),
    /// `%00`.
    Nul,
}

/// Decodes one URI component (path segment, query key or value) to bytes.
pub(crate) fn decode(raw: &str, plus_as_space: bool) -> Result<Vec<u8>, DecodeError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    let end = (i + 3).min(bytes.len());
                    let text = String::from_utf8_lossy(&bytes[i..end]).into_owned();
                    return Err(DecodeError::Malformed(text));
                };
                let b = (hi << 4) | lo;
                if b == 0 {
                    return Err(DecodeError::Nul);
                }
                out.push(b);
                i += 3;
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The value of one hex digit, either case.
const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether `b` may appear raw in a URI at all (RFC 3986 unreserved, reserved and `%`): the
/// same set GS1's syntax engine checks before parsing. Anything else must be percent-encoded.
pub(crate) const fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b':'
                | b'/'
                | b'?'
                | b'#'
                | b'['
                | b']'
                | b'@'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b'%'
        )
}

#[cfg(test)]
mod tests {
    //! GS1 syntax engine encode/decode vectors (`dl.c` unit tests).

    use super::*;

    fn enc(s: &str) -> String {
        let mut out = String::new();
        encode_into(&mut out, s);
        out
    }

    #[test]
    fn encodes_minimally_with_uppercase_hex() {
        assert_eq!(enc("ABCxyz019-._"), "ABCxyz019-._");
        assert_eq!(
            enc("!\"%&'()*+,/:;<=>?"),
            "%21%22%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F"
        );
        assert_eq!(enc("~ "), "%7E%20");
        assert_eq!(enc("é"), "%C3%A9");
    }

    #[test]
    fn decodes_any_case_and_rejects_bad_escapes() {
        assert_eq!(decode("ABC%2d123", false).unwrap(), b"ABC-123");
        assert_eq!(decode("%2f%2F", false).unwrap(), b"//");
        assert_eq!(decode("A+B", false).unwrap(), b"A+B");
        assert_eq!(decode("A+B", true).unwrap(), b"A B");
        assert_eq!(decode("%2B", true).unwrap(), b"+");
        assert_eq!(decode("A%00B", false), Err(DecodeError::Nul));
        assert_eq!(decode("ABC%2", false), Err(DecodeError::Malformed("%2".into())));
        assert_eq!(decode("ABCD%", false), Err(DecodeError::Malformed("%".into())));
        assert_eq!(decode("A%4gB", false), Err(DecodeError::Malformed("%4g".into())));
        assert_eq!(decode("A%G4B", false), Err(DecodeError::Malformed("%G4".into())));
        assert_eq!(decode("%ff", false).unwrap(), [0xFF]);
    }
}
