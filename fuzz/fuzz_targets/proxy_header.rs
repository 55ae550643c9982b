//! The PROXY v1/v2 header parser, driven exactly as the server's `read_proxy_header` drives it:
//! ask `next_read` how many bytes it wants, read exactly that many from the connection (the fuzz
//! input), repeat until it says the header is complete, then `parse` what was read. A peer that
//! closes early ends the connection. Checked: it never asks for 0 bytes (the server would spin),
//! never for more than a v2 header can hold, and never reads past the end of the header, so the
//! first Stratum byte stays in the socket.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pool_core::proxy::{self, ProxyError, ProxySource};
use tos_pool_fuzz as _; // the allocation guard

/// Longest v1 line (the spec's 107 bytes) and longest v2 header (16 + u16::MAX).
const V1_MAX: usize = 107;
const V2_MAX: usize = 16 + u16::MAX as usize;

fuzz_target!(|stream: &[u8]| {
    // Whatever a caller hands it, `parse` must not panic.
    let _ = proxy::parse(stream);

    let mut have: Vec<u8> = Vec::new();
    let result = loop {
        match proxy::next_read(&have) {
            Ok(Some(n)) => {
                assert!(n > 0, "next_read asked for 0 bytes after {have:?}");
                assert!(have.len() + n <= V2_MAX, "asked for {n} more after {} bytes", have.len());
                let Some(more) = stream.get(have.len()..have.len() + n) else {
                    return; // the peer closed before the header was complete
                };
                have.extend_from_slice(more);
            }
            Ok(None) => break proxy::parse(&have),
            Err(e) => {
                // Refused early: what was read is still a prefix of the stream, and no longer
                // than the longest header of the kind it started as.
                assert!(have.len() <= V2_MAX);
                if e == ProxyError::BadV1 {
                    assert!(have.starts_with(b"PROXY") && have.len() <= V1_MAX);
                }
                return;
            }
        }
    };

    // Complete: exactly one header was read, not a byte more.
    let used = have.len();
    assert_eq!(&stream[..used], &have[..]);
    if have.starts_with(b"PROXY") {
        assert!(used <= V1_MAX, "v1 header of {used} bytes");
        assert!(have.ends_with(b"\r\n"));
        assert!(!have[..used - 2].windows(2).any(|w| w == b"\r\n"), "read past the first CRLF");
    } else {
        assert!(used >= 16);
        assert_eq!(used, 16 + u16::from_be_bytes([have[14], have[15]]) as usize, "v2 length field");
    }

    // What a parsed header says agrees with its bytes.
    match result {
        Ok(ProxySource::Client(addr)) if !have.starts_with(b"PROXY") => {
            let body = &have[16..];
            match addr.ip() {
                std::net::IpAddr::V4(ip) => {
                    assert_eq!(have[13], 0x11);
                    assert_eq!(ip.octets(), body[..4]);
                    assert_eq!(addr.port().to_be_bytes(), body[8..10]);
                }
                std::net::IpAddr::V6(ip) => {
                    assert_eq!(have[13], 0x21);
                    assert_eq!(ip.octets(), body[..16]);
                    assert_eq!(addr.port().to_be_bytes(), body[32..34]);
                }
            }
        }
        Ok(ProxySource::Client(addr)) => {
            let line = std::str::from_utf8(&have[6..used - 2]).expect("a parsed v1 line is UTF-8");
            let src = line.split(' ').nth(1).expect("a source address");
            assert_eq!(src.parse::<std::net::IpAddr>().ok(), Some(addr.ip()));
        }
        Ok(ProxySource::Local) | Err(_) => {}
    }
});
