//! The WeChat Pay v2 XML codec: any text either fails to parse or parses into fields that write back and parse
//! again into the same fields (`from_xml(to_xml(p)) == p`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tilldesk::channel::wechatpay::wire::{from_xml, to_xml};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(params) = from_xml(text) else { return };
    let written = to_xml(&params);
    let again = from_xml(&written).unwrap_or_else(|e| panic!("{written:?} does not parse back: {e}"));
    assert_eq!(again, params, "written as {written:?}");
});
