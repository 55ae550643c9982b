//! TOS addresses (protocol.md §5): bech32 with the classic checksum (constant 1), HRP `tos` on
//! mainnet and `tst` on every other network, payload `public_key(32) ‖ type(1) [‖ data]`.

use std::fmt;

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATOR: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const CHECKSUM_LEN: usize = 6;
/// Longest integrated data the node accepts.
pub const MAX_INTEGRATED_DATA: usize = 128;

/// The network an address belongs to, as far as the address can tell (its HRP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Network {
    Mainnet,
    Testnet,
    Stagenet,
    Devnet,
}

impl Network {
    pub fn hrp(self) -> &'static str {
        if self == Network::Mainnet { "tos" } else { "tst" }
    }

    /// Parses the `network` field of `get_info` ("Mainnet", "Testnet", "Stagenet", "Dev").
    pub fn from_node_name(s: &str) -> Option<Self> {
        match s {
            "Mainnet" | "mainnet" => Some(Self::Mainnet),
            "Testnet" | "testnet" => Some(Self::Testnet),
            "Stagenet" | "stagenet" => Some(Self::Stagenet),
            "Dev" | "Devnet" | "dev" | "devnet" => Some(Self::Devnet),
            _ => None,
        }
    }
}

/// Normal or integrated (with extra data for memo payouts).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AddressKind {
    Normal,
    /// The serialized data element, kept opaque.
    Integrated(Vec<u8>),
}

/// A decoded TOS address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    pub mainnet: bool,
    /// The compressed Ristretto public key: what goes into header bytes 80..112.
    pub key: [u8; 32],
    pub kind: AddressKind,
}

/// Every way an address string can be wrong, each named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("address is empty")]
    Empty,
    #[error("address must be lower-case")]
    NotLowercase,
    #[error("address has no '1' separator")]
    NoSeparator,
    #[error("address prefix {0:?} is not a TOS prefix (tos or tst)")]
    UnknownPrefix(String),
    #[error("address is for the wrong network: expected prefix {expected:?}, got {got:?}")]
    WrongNetwork { expected: &'static str, got: String },
    #[error("invalid character {0:?} in address at position {1}")]
    InvalidChar(char, usize),
    #[error("address is too short")]
    TooShort,
    #[error("address checksum is wrong (a typo?)")]
    BadChecksum,
    #[error("address has non-zero padding bits")]
    BadPadding,
    #[error("unknown address type {0}")]
    UnknownType(u8),
    #[error("normal address carries {0} unexpected trailing bytes")]
    TrailingData(usize),
    #[error("integrated address data is {0} bytes; at most {MAX_INTEGRATED_DATA} are allowed")]
    DataTooLong(usize),
    #[error("integrated addresses are not accepted here; use the normal address")]
    IntegratedNotAllowed,
}

fn polymod(values: impl IntoIterator<Item = u8>) -> u32 {
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = (chk & 0x1ff_ffff) << 5 ^ v as u32;
        for (i, g) in GENERATOR.iter().enumerate() {
            if top >> i & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn hrp_expand(hrp: &str) -> impl Iterator<Item = u8> + '_ {
    hrp.bytes().map(|b| b >> 5).chain(std::iter::once(0)).chain(hrp.bytes().map(|b| b & 31))
}

fn checksum(hrp: &str, data: &[u8]) -> [u8; CHECKSUM_LEN] {
    let pm = polymod(hrp_expand(hrp).chain(data.iter().copied()).chain([0; CHECKSUM_LEN])) ^ 1;
    std::array::from_fn(|i| (pm >> (5 * (5 - i)) & 31) as u8)
}

/// Regroups bits; `pad` adds zero bits at the end (encoding), otherwise leftover bits must be zero
/// and fewer than `from` (decoding).
fn convert_bits(data: &[u8], from: u32, to: u32, pad: bool) -> Result<Vec<u8>, AddressError> {
    let (mut acc, mut bits) = (0u32, 0u32);
    let max = (1u32 << to) - 1;
    let mut out = Vec::with_capacity(data.len() * from as usize / to as usize + 1);
    for &v in data {
        acc = acc << from | v as u32;
        bits += from;
        while bits >= to {
            bits -= to;
            out.push((acc >> bits & max) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if pad {
        if bits > 0 {
            out.push((acc << (to - bits) & max) as u8);
        }
    } else if bits >= from || acc != 0 {
        return Err(AddressError::BadPadding);
    }
    Ok(out)
}

impl Address {
    pub fn normal(mainnet: bool, key: [u8; 32]) -> Self {
        Address { mainnet, key, kind: AddressKind::Normal }
    }

    /// Decodes any TOS address (either prefix).
    pub fn decode(s: &str) -> Result<Self, AddressError> {
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(AddressError::NotLowercase);
        }
        let sep = s.rfind('1').ok_or(AddressError::NoSeparator)?;
        let (hrp, rest) = (&s[..sep], &s[sep + 1..]);
        let mainnet = match hrp {
            "tos" => true,
            "tst" => false,
            other => return Err(AddressError::UnknownPrefix(other.to_owned())),
        };
        let mut data = Vec::with_capacity(rest.len());
        for (i, c) in rest.char_indices() {
            let v = CHARSET.iter().position(|&x| x as char == c);
            data.push(v.ok_or(AddressError::InvalidChar(c, sep + 1 + i))? as u8);
        }
        if data.len() < CHECKSUM_LEN {
            return Err(AddressError::TooShort);
        }
        if polymod(hrp_expand(hrp).chain(data.iter().copied())) != 1 {
            return Err(AddressError::BadChecksum);
        }
        let bytes = convert_bits(&data[..data.len() - CHECKSUM_LEN], 5, 8, false)?;
        if bytes.len() < 33 {
            return Err(AddressError::TooShort);
        }
        let key: [u8; 32] = bytes[..32].try_into().expect("32 bytes");
        let kind = match bytes[32] {
            0 if bytes.len() == 33 => AddressKind::Normal,
            0 => return Err(AddressError::TrailingData(bytes.len() - 33)),
            1 if bytes.len() - 33 > MAX_INTEGRATED_DATA => {
                return Err(AddressError::DataTooLong(bytes.len() - 33));
            }
            1 => AddressKind::Integrated(bytes[33..].to_vec()),
            t => return Err(AddressError::UnknownType(t)),
        };
        Ok(Address { mainnet, key, kind })
    }

    /// Decodes and checks the network; only normal addresses (what a pool pays and mines to).
    pub fn parse_normal(s: &str, network: Network) -> Result<Self, AddressError> {
        let a = Self::decode(s)?;
        if a.mainnet != (network == Network::Mainnet) {
            return Err(AddressError::WrongNetwork { expected: network.hrp(), got: a.hrp().to_owned() });
        }
        if a.kind != AddressKind::Normal {
            return Err(AddressError::IntegratedNotAllowed);
        }
        Ok(a)
    }

    pub fn hrp(&self) -> &'static str {
        if self.mainnet { "tos" } else { "tst" }
    }

    pub fn is_normal(&self) -> bool {
        self.kind == AddressKind::Normal
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut payload = self.key.to_vec();
        match &self.kind {
            AddressKind::Normal => payload.push(0),
            AddressKind::Integrated(d) => {
                payload.push(1);
                payload.extend_from_slice(d);
            }
        }
        let data = convert_bits(&payload, 8, 5, true).expect("padding never fails");
        let hrp = self.hrp();
        f.write_str(hrp)?;
        f.write_str("1")?;
        for &v in data.iter().chain(checksum(hrp, &data).iter()) {
            write!(f, "{}", CHARSET[v as usize] as char)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::decode(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV: &str = "tos1qsl6sj2u0gp37tr6drrq964rd4d8gnaxnezgytmt0cfltnp2wsgqqak28je";

    #[test]
    fn protocol_examples() {
        // §5: the node's DEV_ADDRESS.
        let a = Address::decode(DEV).unwrap();
        assert_eq!(hex::encode(a.key), "043fa8495c7a031f2c7a68c602eaa36d5a744fa69e44822f6b7e13f5cc2a7410");
        assert!(a.mainnet && a.is_normal());
        assert_eq!(a.to_string(), DEV);
        assert_eq!(DEV.len(), 63);
        // §2.12: the worked template's miner key, both networks.
        let key = hex::decode("d67ad13934337b85c34985491c437386c95de0d97017131088724cfbedebdc55").unwrap();
        let main = Address::normal(true, key.clone().try_into().unwrap());
        let test = Address::normal(false, key.try_into().unwrap());
        assert_eq!(main.to_string(), "tos16eadzwf5xdacts6fs4y3csmnsmy4mcxewqt3xyygwfx0hm0tm32sqpe0xje");
        assert_eq!(test.to_string(), "tst16eadzwf5xdacts6fs4y3csmnsmy4mcxewqt3xyygwfx0hm0tm32sq6fx864");
        assert_eq!(Address::parse_normal(&test.to_string(), Network::Devnet).unwrap(), test);
    }

    #[test]
    fn integrated_round_trip() {
        let a = Address { mainnet: false, key: [9; 32], kind: AddressKind::Integrated(vec![1, 2, 3]) };
        let s = a.to_string();
        assert!(s.len() > 63);
        assert_eq!(Address::decode(&s).unwrap(), a);
        assert_eq!(Address::parse_normal(&s, Network::Testnet), Err(AddressError::IntegratedNotAllowed));
        let long = Address { kind: AddressKind::Integrated(vec![0; 129]), ..a };
        assert_eq!(Address::decode(&long.to_string()), Err(AddressError::DataTooLong(129)));
    }

    #[test]
    fn every_error_is_named() {
        assert_eq!(Address::decode(""), Err(AddressError::Empty));
        assert_eq!(Address::decode(&DEV.to_uppercase()), Err(AddressError::NotLowercase));
        assert_eq!(Address::decode("tosqsl6sj2u0"), Err(AddressError::NoSeparator));
        assert_eq!(
            Address::decode(&DEV.replacen("tos", "btc", 1)),
            Err(AddressError::UnknownPrefix("btc".into()))
        );
        assert_eq!(
            Address::parse_normal(DEV, Network::Testnet),
            Err(AddressError::WrongNetwork { expected: "tst", got: "tos".into() })
        );
        let mut typo = DEV.to_owned();
        typo.replace_range(10..11, if &DEV[10..11] == "q" { "p" } else { "q" });
        assert_eq!(Address::decode(&typo), Err(AddressError::BadChecksum));
        assert_eq!(Address::decode(&DEV.replacen('q', "b", 1)), Err(AddressError::InvalidChar('b', 4)));
        assert_eq!(Address::decode("tos1qqqq"), Err(AddressError::TooShort));
        // A valid checksum over an unknown type byte.
        let mut payload = [7u8; 32].to_vec();
        payload.push(5);
        let data = convert_bits(&payload, 8, 5, true).unwrap();
        let s: String = "tos1"
            .chars()
            .chain(data.iter().chain(checksum("tos", &data).iter()).map(|&v| CHARSET[v as usize] as char))
            .collect();
        assert_eq!(Address::decode(&s), Err(AddressError::UnknownType(5)));
        // A normal address with trailing bytes.
        let mut payload = [7u8; 32].to_vec();
        payload.extend_from_slice(&[0, 1]);
        let data = convert_bits(&payload, 8, 5, true).unwrap();
        let s: String = "tst1"
            .chars()
            .chain(data.iter().chain(checksum("tst", &data).iter()).map(|&v| CHARSET[v as usize] as char))
            .collect();
        assert_eq!(Address::decode(&s), Err(AddressError::TrailingData(1)));
    }

    #[test]
    fn non_zero_padding_is_refused() {
        // 33 bytes = 264 bits → 53 groups of 5 with 1 padding bit; set it.
        let mut payload = [0u8; 32].to_vec();
        payload.push(0);
        let mut data = convert_bits(&payload, 8, 5, true).unwrap();
        *data.last_mut().unwrap() |= 1;
        let s: String = "tos1"
            .chars()
            .chain(data.iter().chain(checksum("tos", &data).iter()).map(|&v| CHARSET[v as usize] as char))
            .collect();
        assert_eq!(Address::decode(&s), Err(AddressError::BadPadding));
    }
}
