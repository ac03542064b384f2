//! The Alipay+ MPM code (`HTTPS://<domain>/MPM/3/<Base64>`): a code that decodes encodes again, and the encoded
//! text decodes into the same code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tilldesk::mpm::alipayplus::{decode, encode};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(code) = decode(text) else { return };
    let written = encode(&code).unwrap_or_else(|e| panic!("{text:?} decoded but does not encode: {e}"));
    let again = decode(&written).unwrap_or_else(|e| panic!("{written:?} does not decode: {e}"));
    assert_eq!(again, code, "written as {written:?}");
});
