//! The PROXY protocol (HAProxy) v1 and v2 header that load balancers put in front of a connection,
//! parsed without reading past it: the caller feeds bytes as [`next_read`] asks, so no Stratum
//! byte is consumed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
const V1_MAX: usize = 107;

/// What the header says about the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxySource {
    /// The original client address.
    Client(SocketAddr),
    /// `LOCAL` / `UNKNOWN`: a health check from the proxy itself; keep the socket's address.
    Local,
}

/// Why a header was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("not a PROXY protocol header")]
    NotProxy,
    #[error("malformed PROXY v1 header")]
    BadV1,
    #[error("malformed PROXY v2 header")]
    BadV2,
}

/// How many more bytes the parser needs given `have` (the bytes read so far), or `None` when
/// `have` holds a complete header.
pub fn next_read(have: &[u8]) -> Result<Option<usize>, ProxyError> {
    if have.len() < 5 {
        return Ok(Some(5 - have.len()));
    }
    if have.starts_with(b"PROXY") {
        if have.ends_with(b"\r\n") {
            return Ok(None);
        }
        return if have.len() >= V1_MAX { Err(ProxyError::BadV1) } else { Ok(Some(1)) };
    }
    if !V2_SIGNATURE.starts_with(&have[..5.min(have.len())]) {
        return Err(ProxyError::NotProxy);
    }
    if have.len() < 16 {
        return Ok(Some(16 - have.len()));
    }
    let total = 16 + u16::from_be_bytes([have[14], have[15]]) as usize;
    Ok(if have.len() < total { Some(total - have.len()) } else { None })
}

/// Parses a complete header (as delimited by [`next_read`]).
pub fn parse(header: &[u8]) -> Result<ProxySource, ProxyError> {
    if let Some(rest) = header.strip_prefix(b"PROXY ") {
        let line = std::str::from_utf8(rest.strip_suffix(b"\r\n").ok_or(ProxyError::BadV1)?)
            .map_err(|_| ProxyError::BadV1)?;
        let parts: Vec<&str> = line.split(' ').collect();
        return match parts.as_slice() {
            ["UNKNOWN", ..] => Ok(ProxySource::Local),
            [proto @ ("TCP4" | "TCP6"), src, _dst, sport, _dport] => {
                let ip: IpAddr = src.parse().map_err(|_| ProxyError::BadV1)?;
                if (*proto == "TCP4") != ip.is_ipv4() {
                    return Err(ProxyError::BadV1);
                }
                let port: u16 = sport.parse().map_err(|_| ProxyError::BadV1)?;
                Ok(ProxySource::Client(SocketAddr::new(ip, port)))
            }
            _ => Err(ProxyError::BadV1),
        };
    }
    if header.len() < 16 || header[..12] != V2_SIGNATURE || header[12] >> 4 != 2 {
        return Err(ProxyError::BadV2);
    }
    let body = &header[16..];
    match (header[12] & 0x0f, header[13]) {
        (0, _) => Ok(ProxySource::Local),
        (1, 0x11) if body.len() >= 12 => {
            let ip = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
            Ok(ProxySource::Client(SocketAddr::new(ip.into(), u16::from_be_bytes([body[8], body[9]]))))
        }
        (1, 0x21) if body.len() >= 36 => {
            let ip = Ipv6Addr::from(<[u8; 16]>::try_from(&body[..16]).expect("16 bytes"));
            Ok(ProxySource::Client(SocketAddr::new(ip.into(), u16::from_be_bytes([body[32], body[33]]))))
        }
        (1, _) => Ok(ProxySource::Local), // UNSPEC or unix sockets: nothing usable
        _ => Err(ProxyError::BadV2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `stream` the way the server does; returns the parse and how many bytes were consumed.
    fn feed(stream: &[u8]) -> (Result<ProxySource, ProxyError>, usize) {
        let mut have = Vec::new();
        loop {
            match next_read(&have) {
                Ok(Some(n)) => {
                    if have.len() + n > stream.len() {
                        return (Err(ProxyError::NotProxy), have.len());
                    }
                    have.extend_from_slice(&stream[have.len()..have.len() + n]);
                }
                Ok(None) => return (parse(&have), have.len()),
                Err(e) => return (Err(e), have.len()),
            }
        }
    }

    #[test]
    fn v1_tcp4_tcp6_unknown_and_no_overread() {
        let line = b"PROXY TCP4 203.0.113.7 10.0.0.1 51000 3333\r\n{\"id\":1}";
        let (r, used) = feed(line);
        assert_eq!(r, Ok(ProxySource::Client("203.0.113.7:51000".parse().unwrap())));
        assert_eq!(&line[used..], b"{\"id\":1}", "the Stratum bytes are left alone");
        assert_eq!(
            feed(b"PROXY TCP6 2001:db8::1 ::1 4000 3333\r\n").0,
            Ok(ProxySource::Client("[2001:db8::1]:4000".parse().unwrap()))
        );
        assert_eq!(feed(b"PROXY UNKNOWN\r\n").0, Ok(ProxySource::Local));
        assert_eq!(feed(b"PROXY TCP4 2001:db8::1 ::1 4000 3333\r\n").0, Err(ProxyError::BadV1));
        assert_eq!(feed(b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n").0, Err(ProxyError::BadV1));
        assert_eq!(feed(&[b'P', b'R', b'O', b'X', b'Y', b' '].repeat(30)).0, Err(ProxyError::BadV1));
        assert_eq!(feed(b"{\"id\":1,\"method\":\"mining.subscribe\"}").0, Err(ProxyError::NotProxy));
    }

    #[test]
    fn v2_ipv4_ipv6_local() {
        let mut h = V2_SIGNATURE.to_vec();
        h.extend_from_slice(&[0x21, 0x11, 0, 12, 198, 51, 100, 9, 10, 0, 0, 1, 0xc3, 0x50, 0x0d, 0x05]);
        h.extend_from_slice(b"rest");
        let (r, used) = feed(&h);
        assert_eq!(r, Ok(ProxySource::Client("198.51.100.9:50000".parse().unwrap())));
        assert_eq!(&h[used..], b"rest");
        let mut h6 = V2_SIGNATURE.to_vec();
        h6.extend_from_slice(&[0x21, 0x21, 0, 36]);
        let mut src = [0u8; 16];
        src[0] = 0x20;
        src[1] = 0x01;
        src[15] = 5;
        h6.extend_from_slice(&src);
        h6.extend_from_slice(&[0; 16]);
        h6.extend_from_slice(&[0x1f, 0x90, 0, 1]);
        assert_eq!(feed(&h6).0, Ok(ProxySource::Client("[2001::5]:8080".parse().unwrap())));
        let mut local = V2_SIGNATURE.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]);
        assert_eq!(feed(&local).0, Ok(ProxySource::Local));
        let mut bad = V2_SIGNATURE.to_vec();
        bad.extend_from_slice(&[0x31, 0x11, 0, 0]);
        assert_eq!(feed(&bad).0, Err(ProxyError::BadV2));
    }
}
