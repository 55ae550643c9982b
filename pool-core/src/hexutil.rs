//! Strict hex decoding: exact lengths, no `0x` prefix, clear errors; fast lower-case encoding
//! (every job notification carries 288 hex characters, for every connection).

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends the lower-case hex of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
}

/// The lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    encode_into(bytes, &mut s);
    s
}

/// Why a hex string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    #[error("expected {expected} hex characters, got {got}")]
    Length { expected: usize, got: usize },
    #[error("empty hex string")]
    Empty,
    #[error("odd number of hex characters ({0})")]
    OddLength(usize),
    #[error("invalid hex character {0:?} at position {1}")]
    InvalidChar(char, usize),
}

/// Decodes a hex string of any even, non-zero length (either case).
pub fn decode(s: &str) -> Result<Vec<u8>, HexError> {
    if s.is_empty() {
        return Err(HexError::Empty);
    }
    if let Some((i, c)) = s.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(HexError::InvalidChar(c, i));
    }
    if !s.len().is_multiple_of(2) {
        return Err(HexError::OddLength(s.len()));
    }
    Ok(hex::decode(s).expect("validated above"))
}

/// Decodes exactly `N` bytes (`2N` hex characters).
pub fn decode_array<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    if s.len() != 2 * N {
        if let Some((i, c)) = s.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
            return Err(HexError::InvalidChar(c, i));
        }
        return Err(HexError::Length { expected: 2 * N, got: s.len() });
    }
    let v = decode(s)?;
    Ok(v.try_into().expect("length checked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_matches_the_hex_crate() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(encode(&bytes), hex::encode(&bytes));
        assert_eq!(encode(&[]), "");
    }

    #[test]
    fn strict() {
        assert_eq!(decode_array::<2>("aBcd").unwrap(), [0xab, 0xcd]);
        assert_eq!(decode_array::<2>("abc"), Err(HexError::Length { expected: 4, got: 3 }));
        assert_eq!(decode_array::<2>("0xab"), Err(HexError::InvalidChar('x', 1)));
        assert_eq!(decode("zz"), Err(HexError::InvalidChar('z', 0)));
        assert_eq!(decode(""), Err(HexError::Empty));
        assert_eq!(decode("abc"), Err(HexError::OddLength(3)));
        assert_eq!(decode("é0"), Err(HexError::InvalidChar('é', 0)));
    }
}
