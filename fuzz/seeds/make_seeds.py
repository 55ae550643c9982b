#!/usr/bin/env python3
"""Writes the committed seed corpora (fuzz/seeds/<target>/) from the spec's real examples.

Run from anywhere: python3 fuzz/seeds/make_seeds.py. The files are committed; this script only
says where each byte comes from (protocol.md §2.12 for the exchange and the template, the PROXY
protocol spec for the headers).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# protocol.md §2.12: the node's worked template (125 bytes, VRF flag 0).
TEMPLATE = bytes.fromhex(
    "00" "000000000000002d" "0000018f1cbd6970" "0000000000000000"
    "0eded85557e887b45989a727b6786e1bd250de65042d9381822fa73d01d2c4ff"
    "01" "d3a0154853dbb01dc28c9102e9d94bea355b8ee0d82c3e078ac80841445e8652"
    "0000" "d67ad13934337b85c34985491c437386c95de0d97017131088724cfbedebdc55" "00"
)
HEADER = ("4b8bafa0959fab6d9bc47e1f00534478a7ee3a161751c3d82c492e391c0641ad0000018f1cbd6970"
          "00000000000000000000000157e887b45989a727b6786e1bd250de65042d9381822fa73d01d2c4ff"
          "d67ad13934337b85c34985491c437386c95de0d97017131088724cfbedebdc55")
TARGET = "0f" + "f" * 62

# protocol.md §2.12: the exchange, miner → pool lines exactly as tosminer writes them.
SUBSCRIBE = b'{"id":1,"method":"mining.subscribe","params":["tosminer/1.0.0"]}'
AUTHORIZE = b'{"id":2,"method":"mining.authorize","params":["tos16eadzwf5xdacts6fs4y3csmnsmy4mcxewqt3xyygwfx0hm0tm32sqpe0xje.rig1","x"]}'
SUBMIT = b'{"id":3,"method":"mining.submit","params":["tos16eadzwf5xdacts6fs4y3csmnsmy4mcxewqt3xyygwfx0hm0tm32sqpe0xje.rig1","4b8bafa0959fab6d","12000000","0000000001000012"]}'
PING = b'{"id":4,"method":"mining.ping","params":[]}'

STRATUM = {
    "subscribe": SUBSCRIBE,
    "subscribe_ethereumstratum": b'{"id":1,"method":"mining.subscribe","params":["tosminer/1.0.0","EthereumStratum/1.0.0"]}',
    "authorize": AUTHORIZE,
    "eth_submit_login": b'{"id":1,"method":"eth_submitLogin","params":["tst16eadzwf5xdacts6fs4y3csmnsmy4mcxewqt3xyygwfx0hm0tm32sq6fx864.rig1"]}',
    "submit": SUBMIT,
    "ping": PING,
    "session": b"\n".join([SUBSCRIBE, AUTHORIZE, SUBMIT, PING]) + b"\n",
    "session_crlf": b"\r\n".join([SUBSCRIBE, AUTHORIZE, SUBMIT, PING]) + b"\r\n",
    # Pool → miner lines: other shapes of valid JSON (a method with a null id, nested params).
    "notify_line": ('{"id":null,"method":"mining.notify","params":["4b8bafa0959fab6d","%s","%s",45,true]}'
                    % (HEADER, TARGET)).encode(),
    "subscribe_reply": b'{"id":1,"result":[[["mining.notify","1"],["mining.set_difficulty","1"]],"00000001",4],"error":null}',
    # Junk a server sees: unknown method, string and huge ids, missing params, not an object, bad UTF-8.
    "unknown_method": b'{"id":"abc","method":"mining.extranonce.subscribe","params":[]}',
    "big_id": b'{"id":1234567890123456789012345678901234567890,"method":"mining.ping","params":[]}',
    "no_params": b'{"id":5,"method":"mining.submit"}',
    "not_object": b'[1,2,3]',
    "invalid_utf8": b'{"id":6,"method":"mining.authorize","params":["\xff\xfe","x"]}',
    "blank_lines": b"\n \n\t\r\n",
}

def v2(command, family, body, rest=b""):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    return sig + bytes([0x20 | command, family]) + len(body).to_bytes(2, "big") + body + rest

PROXY = {
    "v1_tcp4": b"PROXY TCP4 203.0.113.7 10.0.0.1 51000 3333\r\n" + SUBSCRIBE + b"\n",
    "v1_tcp6": b"PROXY TCP6 2001:db8::1 ::1 4000 3333\r\n" + SUBSCRIBE + b"\n",
    "v1_unknown": b"PROXY UNKNOWN\r\n" + SUBSCRIBE + b"\n",
    "v1_longest": b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
    # v2 PROXY over TCP/IPv4: 198.51.100.9:50000 → 10.0.0.1:3333.
    "v2_tcp4": v2(1, 0x11, bytes([198, 51, 100, 9, 10, 0, 0, 1]) + (50000).to_bytes(2, "big") + (3333).to_bytes(2, "big"), SUBSCRIBE + b"\n"),
    # v2 PROXY over TCP/IPv6: [2001::5]:8080 → [::1]:1.
    "v2_tcp6": v2(1, 0x21, bytes([0x20, 1] + [0] * 13 + [5]) + bytes(15) + b"\x01" + (8080).to_bytes(2, "big") + (1).to_bytes(2, "big"), SUBSCRIBE + b"\n"),
    # v2 PROXY over TCP/IPv4 with a TLV (PP2_TYPE_AUTHORITY "pool") after the addresses.
    "v2_tcp4_tlv": v2(1, 0x11, bytes([192, 0, 2, 1, 10, 0, 0, 1, 0x13, 0x88, 0x0d, 0x05]) + b"\x02\x00\x04pool"),
    "v2_local": v2(0, 0x00, b"", SUBSCRIBE + b"\n"),
    "v2_unix": v2(1, 0x31, bytes(216)),
    "stratum_without_header": SUBSCRIBE + b"\n",
}

def with_vrf(t):
    return t[:-1] + b"\x01" + bytes(range(192))

TEMPLATES = {
    "worked_example.bin": TEMPLATE,
    "worked_example.hex": TEMPLATE.hex().encode(),
    "worked_example_upper.hex": TEMPLATE.hex().upper().encode(),
    "v013_no_vrf_flag.bin": TEMPLATE[:-1],
    "vrf_flag_1.bin": with_vrf(TEMPLATE),
    "vrf_flag_1.hex": with_vrf(TEMPLATE).hex().encode(),
    # Three tips and two transactions (the hashes are made up; the layout is §1.1's).
    "three_tips_two_txs.bin": TEMPLATE[:57] + b"\x03" + bytes([1] * 32 + [2] * 32 + [3] * 32)
    + b"\x00\x02" + bytes([4] * 32 + [5] * 32) + TEMPLATE[-33:],
}

for target, seeds in (("stratum_request", STRATUM), ("proxy_header", PROXY), ("block_template", TEMPLATES)):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
