use super::*;
use crate::Difficulty;
use serde_json::json;

#[test]
fn worked_exchange_of_protocol_2_12_byte_for_byte() {
    // Miner → pool lines exactly as tosminer writes them.
    let sub = Request::parse(r#"{"id":1,"method":"mining.subscribe","params":["tosminer/1.0.0"]}"#).unwrap();
    assert_eq!(
        sub,
        Request {
            id: RequestId::number(1),
            method: Method::Subscribe { agent: Some("tosminer/1.0.0".into()) }
        }
    );
    assert_eq!(
        subscribe_reply(&sub.id, "1", "00000001"),
        "{\"id\":1,\"result\":[[[\"mining.notify\",\"1\"],[\"mining.set_difficulty\",\"1\"]],\"00000001\",4],\"error\":null}\n"
    );
    assert_eq!(
        set_difficulty(&Difficulty::from_u64(16).unwrap()),
        "{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[16]}\n"
    );
    let auth =
        Request::parse(r#"{"id":2,"method":"mining.authorize","params":["tos1addr.rig1","x"]}"#).unwrap();
    assert_eq!(
        auth.method,
        Method::Authorize { user: "tos1addr.rig1".into(), password: Some("x".into()), eth_proxy: false }
    );
    assert_eq!(result_reply(&auth.id, json!(true)), "{\"id\":2,\"result\":true,\"error\":null}\n");
    let header = "4b8bafa0959fab6d9bc47e1f00534478a7ee3a161751c3d82c492e391c0641ad0000018f1cbd697000000000000000000000000157e887b45989a727b6786e1bd250de65042d9381822fa73d01d2c4ffd67ad13934337b85c34985491c437386c95de0d97017131088724cfbedebdc55";
    let target = Difficulty::from_u64(16).unwrap().target().to_hex64();
    assert_eq!(
        notify("4b8bafa0959fab6d", header, &target, 45, true),
        format!(
            "{{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"4b8bafa0959fab6d\",\"{header}\",\"0fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\",45,true]}}\n"
        )
    );
    let submit = Request::parse(
        r#"{"id":3,"method":"mining.submit","params":["tos1addr.rig1","4b8bafa0959fab6d","12000000","0000000001000012"]}"#,
    )
    .unwrap();
    let Method::Submit { nonce, job_id, .. } = &submit.method else { panic!("a submit") };
    assert_eq!(job_id, "4b8bafa0959fab6d");
    assert_eq!(parse_nonce(nonce), Some([0, 0, 0, 0, 1, 0, 0, 0x12]));
    assert_eq!(result_reply(&submit.id, json!(true)), "{\"id\":3,\"result\":true,\"error\":null}\n");
    let ping = Request::parse(r#"{"id":4,"method":"mining.ping","params":[]}"#).unwrap();
    assert_eq!(ping.method, Method::Ping);
    assert_eq!(result_reply(&ping.id, json!("pong")), "{\"id\":4,\"result\":\"pong\",\"error\":null}\n");
}

#[test]
fn every_reject_code() {
    let codes = [
        (StratumError::InvalidParams, 20),
        (StratumError::JobNotFound, 21),
        (StratumError::Duplicate, 22),
        (StratumError::LowDifficulty, 23),
        (StratumError::Unauthorized, 24),
        (StratumError::NotSubscribed, 25),
        (StratumError::MethodNotFound, -32601),
        (StratumError::ParseError, -32700),
        (StratumError::TooLarge, -32600),
        (StratumError::InvalidAddress, -1),
    ];
    for (e, code) in codes {
        let v: Value = serde_json::from_str(&error_reply(&RequestId::number(7), e)).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["result"], Value::Null);
        assert_eq!(v["error"][0], code, "{e:?}");
        assert_eq!(v["error"][1], e.message());
        assert_eq!(v["error"][2], Value::Null);
    }
    assert_eq!(
        error_reply(&RequestId::number(3), StratumError::LowDifficulty),
        "{\"id\":3,\"result\":null,\"error\":[23,\"Low difficulty share\",null]}\n"
    );
}

#[test]
fn eth_proxy_login_is_authorize() {
    let r = Request::parse(r#"{"id":1,"method":"eth_submitLogin","params":["tos1abc.w"]}"#).unwrap();
    assert_eq!(r.method, Method::Authorize { user: "tos1abc.w".into(), password: None, eth_proxy: true });
}

#[test]
fn malformed_lines_get_the_right_error() {
    assert_eq!(Request::parse("not json"), Err(ParseError::Json));
    assert_eq!(Request::parse("[1,2]"), Err(ParseError::Json));
    assert_eq!(Request::parse(r#"{"id":5}"#), Err(ParseError::InvalidRequest { id: RequestId::number(5) }));
    assert_eq!(
        Request::parse(r#"{"id":5,"method":7}"#),
        Err(ParseError::InvalidRequest { id: RequestId::number(5) })
    );
    for bad in [
        r#"{"id":6,"method":"mining.submit","params":["a","b","c"]}"#,
        r#"{"id":6,"method":"mining.submit","params":["a","b","c",4]}"#,
        r#"{"id":6,"method":"mining.authorize","params":[]}"#,
        r#"{"id":6,"method":"mining.authorize","params":"x"}"#,
    ] {
        assert!(matches!(Request::parse(bad), Err(ParseError::InvalidParams { .. })), "{bad}");
    }
    assert_eq!(
        Request::parse(r#"{"id":8,"method":"mining.extranonce.subscribe","params":[]}"#).unwrap().method,
        Method::Unknown("mining.extranonce.subscribe".into())
    );
    assert_eq!(
        ParseError::Json.reply(),
        "{\"id\":null,\"result\":null,\"error\":[-32700,\"Parse error\",null]}\n"
    );
    // A trailing \r (tosminer strips it; other clients send it) is fine.
    assert!(Request::parse("{\"id\":1,\"method\":\"mining.ping\",\"params\":[]}\r").is_ok());
    // Binary and invalid UTF-8 are junk like any other: a parse error, not a closed socket.
    assert_eq!(Request::parse_bytes(b"\xff\xfe{\"id\":1}"), Err(ParseError::Json));
    assert_eq!(Request::parse_bytes(b"{\"id\":1,\"method\":\"mining.ping\xc3\x28\"}"), Err(ParseError::Json));
    assert_eq!(Request::parse_bytes(&[0u8; 40]), Err(ParseError::Json));
    // Keep-alives are blank, not malformed.
    for blank in [&b""[..], b" ", b"\t \r", b"\r"] {
        assert!(is_blank(blank), "{blank:?}");
    }
    assert!(!is_blank(b" x "));
}

#[test]
fn request_ids_are_echoed_exactly_as_sent() {
    for id in ["1", "1234567890123456789012345678901234567890", "\"abc\"", "-7", "1.5e3", "null"] {
        let r = Request::parse(&format!("{{\"id\":{id},\"method\":\"mining.ping\",\"params\":[]}}")).unwrap();
        assert_eq!(r.id.as_json(), id);
        let reply = result_reply(&r.id, json!("pong"));
        assert_eq!(reply, format!("{{\"id\":{id},\"result\":\"pong\",\"error\":null}}\n"));
        let v: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(v["result"], "pong", "valid JSON");
    }
    // Not a JSON-RPC id (found by the fuzzer: an object id carried a raw CR into the reply line).
    for id in ["[1,2]", "{\"a\":1}", "{\"\":123\t\r}", "true"] {
        let r = Request::parse(&format!("{{\"id\":{id},\"method\":\"mining.ping\",\"params\":[]}}")).unwrap();
        assert_eq!(r.id, RequestId::null(), "{id}");
        assert!(!result_reply(&r.id, json!("pong")).trim_end().contains(['\r', '\t']));
    }
    let missing = Request::parse(r#"{"method":"mining.ping"}"#).unwrap();
    assert_eq!(missing.id, RequestId::null());
    // A 40-digit id on an error reply too.
    let big = "9999999999999999999999999999999999999999";
    let e =
        Request::parse(&format!("{{\"id\":{big},\"method\":\"mining.submit\",\"params\":[]}}")).unwrap_err();
    assert!(e.reply().starts_with(&format!("{{\"id\":{big},")), "{}", e.reply());
    assert_eq!(
        error_reply_with(&RequestId::number(1), StratumError::InvalidAddress, "bad \"x\""),
        "{\"id\":1,\"result\":null,\"error\":[-1,\"bad \\\"x\\\"\",null]}\n"
    );
}

#[test]
fn nonce_must_be_exactly_16_hex() {
    assert_eq!(parse_nonce("00000000010000ff"), Some([0, 0, 0, 0, 1, 0, 0, 0xff]));
    for bad in ["", "1", "00000000010000f", "00000000010000ff0", "0x000000010000ff", "zz00000001000012"] {
        assert_eq!(parse_nonce(bad), None, "{bad}");
    }
}

#[test]
fn nothing_panics_on_hostile_input() {
    // A cheap structured fuzz: mutate valid lines byte by byte and truncate them; every outcome is a
    // request or an error with a reply line, never a panic.
    let seeds = [
        r#"{"id":1,"method":"mining.subscribe","params":["tosminer/1.0.0"]}"#,
        r#"{"id":3,"method":"mining.submit","params":["tos1.rig1","4b8b","12000000","0000000001000012"]}"#,
        r#"{"id":2,"method":"mining.authorize","params":["tos1addr.rig1","x"]}"#,
    ];
    let mut rng = crate::testutil::SplitMix64(11);
    for seed in seeds {
        for _ in 0..3000 {
            let mut b = seed.as_bytes().to_vec();
            let cut = (rng.next_u64() as usize) % (b.len() + 1);
            b.truncate(cut.max(1));
            for _ in 0..(rng.next_u64() % 4) {
                let at = (rng.next_u64() as usize) % b.len();
                b[at] = rng.next_u64() as u8;
            }
            let s = String::from_utf8_lossy(&b);
            match Request::parse(&s) {
                Ok(_) => {}
                Err(e) => assert!(e.reply().ends_with('\n')),
            }
        }
    }
}

#[test]
fn notify_fast_path_equals_the_json_encoding() {
    let header = "ab".repeat(112);
    let target = "0f".repeat(32);
    for (id, height, clean) in [
        ("4b8bafa0959fab6d", 45u64, true),
        ("18c0a1b2c3d4e00001a", u64::MAX, false),
        ("we\"ird\\id", 0, true),
    ] {
        let want = line(
            json!({ "id": null, "method": "mining.notify", "params": [id, header, target, height, clean] }),
        );
        assert_eq!(notify(id, &header, &target, height, clean), want, "{id}");
    }
}
