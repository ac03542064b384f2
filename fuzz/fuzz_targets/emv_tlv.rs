//! The EMVCo MPM codec: a payload that decodes re-encodes byte for byte (the order of its objects is kept), and TLV
//! text that parses writes back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tilldesk::mpm::emv::{decode, encode, encode_tlv, parse_tlv};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(objects) = parse_tlv(text)
        && let Ok(written) = encode_tlv(&objects)
    {
        assert_eq!(written, text, "TLV objects {objects:?}");
    }
    if let Ok(payload) = decode(text) {
        let written = encode(&payload).unwrap_or_else(|e| panic!("{text:?} decoded but does not encode: {e}"));
        assert_eq!(written, text, "payload {payload:?}");
    }
});
